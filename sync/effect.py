"""What one batch did in the CRM: the value the executor reports and the state store records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors.base import ListRef, WriteResult
from sync.status import BatchKind


@dataclass(frozen=True)
class BatchEffect:
    """One batch the CRM acknowledged, and what its answer confirmed: nothing more.

    The executor builds it from the CRM's answer alone: ``written`` holds the values of the
    records the answer confirmed, ``added`` and ``removed`` the list members it did not report
    missing, ``failures`` the records it refused. The checkpoint stores it in the same
    transaction as the batch itself, so a run killed at any moment remembers exactly what the
    CRM holds, never what segsync merely meant to write.

    ``kind`` is what the batch was (write, list add, list create...) and ``target``
    what it changed (the segment, for list batches); ``created`` is the list a ``list_create``
    batch made for segment ``target``; ``deleted`` says the segment has no list of segsync's any
    more (a ``list_delete`` batch deleted it, or a ``list_create_refused`` one made none).
    """

    kind: BatchKind
    target: str
    size: int
    written: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    failures: tuple[WriteResult, ...] = ()
    created: ListRef | None = None
    deleted: bool = False
