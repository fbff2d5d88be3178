"""A deadline for a whole HTTP call, not for each read.

HTTP clients time out per socket read: a server (or a proxy) that trickles a byte a second
never trips a 3-second read timeout, and the call, the run and the scheduler's next ticks wait
for it. ``within_deadline`` runs a call on a helper thread and gives up on it when the deadline
passes, so the caller sees a timeout it can retry. A blocked socket read cannot be interrupted
from another thread, so the helper is left to finish on its own (it is a daemon thread, and
its connection is never reused for anything the caller waits on).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(TimeoutError):
    """The call did not complete within its deadline (an ``OSError``, like a socket timeout)."""


def within_deadline(call: Callable[[], T], seconds: float, what: str) -> T:
    """``call()``'s result, or ``DeadlineExceeded`` if it has none after ``seconds``."""
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=run, name="segsync-deadline", daemon=True).start()
    if not finished.wait(seconds):
        raise DeadlineExceeded(f"{what}: no complete answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
