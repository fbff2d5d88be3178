"""Reading the members of the lists a sync owns while the pull runs.

Why: over the internet a run that reads every list (full, or after a killed run) spent a minute
reading members page after page once the pull was over, while the pull itself had left the
CRM's 10-second window idle (HubSpot's full pulls search, and searches have their own bucket).
So such a run starts reading its owned lists' members on background threads as it starts,
every page paced and retried by the run's one gateway, and the lists step takes what was read.

Safety is unchanged: the members are only read ahead, never used before the list found by name
now is checked (``claim_list``) and has the very id that was read; a list replaced or deleted
by hand meanwhile, or a read that failed, is handled as if nothing had been read ahead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Self

from connectors.base import Connector, IdPage, ListRef
from segment_core.segmenter import Segmenter
from sync.pull import iter_pages, read_members_of
from sync.retry import Retrier
from sync.state.lists import PENDING_LIST_ID, OwnedList

log = logging.getLogger(__name__)


class PrefetchStopped(Exception):
    """The run no longer needs the members read ahead: the read stops at its next page."""


def lists_to_prefetch(owned: Mapping[str, OwnedList], segmenter: Segmenter) -> list[OwnedList]:
    """The owned lists a run is about to read: those of the configured segments, so that the
    list of a segment no longer configured (kept, or emptied later by its own read) costs no
    reads; all of them when cluster segments are configured (their names are known only once
    fitted). Never a list whose creation was under way: it has no id yet."""
    names = None if segmenter.cluster_sets else {segment.name for segment in segmenter.segments}
    return [
        lst
        for segment, lst in sorted(owned.items())
        if lst.list_id != PENDING_LIST_ID and (names is None or segment in names)
    ]


class MemberPrefetch:
    """The members of ``lists``, read on up to ``limits.max_concurrency`` background threads
    from construction on; ``close`` (or the ``with`` block's end) stops and waits for them."""

    def __init__(
        self, connector: Connector, retrier: Retrier, lists: Collection[OwnedList]
    ) -> None:
        self.connector = connector
        self.retrier = retrier
        self._stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._reads: dict[str, Future[set[str]]] = {}
        if lists:
            workers = max(1, min(connector.limits.max_concurrency, len(lists)))
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="segsync-prefetch")
            for owned in lists:
                ref = ListRef(id=owned.list_id, name=owned.list_name)
                self._reads[owned.list_id] = self._pool.submit(self._read, ref)

    def _read(self, list_ref: ListRef) -> set[str]:
        def fetch(cursor: str | None) -> IdPage:
            if self._stop.is_set():
                raise PrefetchStopped(list_ref.id)
            return self.connector.read_list_members_page(list_ref, cursor)

        return {member for page in iter_pages(fetch, self.retrier) for member in page.ids}

    def members_of(self, lists: Mapping[str, ListRef]) -> dict[str, set[str]]:
        """Every member id of each list, by the same keys: read ahead where a list of the same
        id was, read now (several at once) otherwise."""
        ahead = {key: self._take(found) for key, found in lists.items()}
        again = {key: lists[key] for key, ids in ahead.items() if ids is None}
        read = read_members_of(self.connector, list(again.values()), self.retrier)
        fresh = dict(zip(again, read, strict=True))
        return {key: fresh[key] if ids is None else ids for key, ids in ahead.items()}

    def _take(self, found: ListRef) -> set[str] | None:
        """The members read ahead of the list with ``found``'s id (each used once); None when
        none were, or their read failed: the caller reads the list as if none had been."""
        future = self._reads.pop(found.id, None)
        if future is None:
            return None
        try:
            return future.result()
        except Exception as exc:  # read again by the caller, which raises if it fails again
            log.info("reading list %s ahead failed (%s): reading it again", found.id, exc)
            return None

    def close(self) -> None:
        """Stop the reads still under way (at their next page) and wait for every thread."""
        self._stop.set()
        for future in self._reads.values():
            future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
