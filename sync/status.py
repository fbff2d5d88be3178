"""The words a run is recorded in: its mode, its status and the kinds of batch it checkpoints.

They are ``StrEnum``: each member *is* its string, so the state store's columns, the JSON
record and printed text read exactly as bare strings would. This module imports nothing of
segsync's, so the executor and the state store can use these words as well as the pipeline
and the presenters.
"""

from __future__ import annotations

from enum import StrEnum


class RunMode(StrEnum):
    """How much of the CRM a run reads: everything, or the contacts changed since the last."""

    FULL = "full"
    INCREMENTAL = "incremental"


class RunStatus(StrEnum):
    """Where a run ended, as the run history records it."""

    RUNNING = "running"
    """Started and not finished: still going, or killed (the next run reads everything)."""
    PLANNED = "planned"
    """A dry run: planned, nothing written."""
    DONE = "done"
    DONE_WITH_FAILURES = "done_with_failures"
    """Done, but the CRM refused some records (they are remembered and retried)."""
    GUARDRAIL_ABORT = "guardrail_abort"
    """Stopped before writing: the plan looked like a mistake (``--force`` overrides)."""
    BUDGET_EXHAUSTED = "budget_exhausted"
    """The request budget ran out; the next run resumes the remaining work."""
    FAILED = "failed"


COMPLETED = frozenset({RunStatus.DONE, RunStatus.DONE_WITH_FAILURES})
"""The statuses of runs that executed their whole plan."""


class BatchKind(StrEnum):
    """What one checkpointed batch the CRM acknowledged did."""

    FIELD = "field"
    WRITE = "write"
    LIST_ADD = "list_add"
    LIST_REMOVE = "list_remove"
    LIST_CREATE = "list_create"
    LIST_CREATE_REFUSED = "list_create_refused"
    LIST_DELETE = "list_delete"
