"""Waiting for a stop signal (Ctrl-C, SIGTERM) in a process whose threads run servers or syncs.

Why not a plain handler: the kernel may hand a process's signal to any thread that does not block
it, and Python runs its handlers only in the main thread, when that thread runs Python code. A
main thread blocked in a sleep or a read would not notice a signal one of the server's threads
took, and the process would go on after Ctrl-C. So the wait is on Python's wakeup fd, which the
signal's C-level handler writes to whichever thread took it.

The signals are also handled, and unblocked in the main thread, for the wait, whatever the
process inherited: a shell that starts a command in the background ignores SIGINT for it, and a
parent may hand down a mask that blocks them.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""How service managers (SIGTERM) and people (Ctrl-C) stop a process."""


@contextmanager
def caught_stop_signals(
    signals: Sequence[signal.Signals] = STOP_SIGNALS,
) -> Iterator[Callable[[], signal.Signals]]:
    """Within the block, ``signals`` only wake the function it yields, which blocks until one
    arrives and says which. Afterwards they have their previous handlers and mask again, so a
    second Ctrl-C has its usual effect. Use it from the main thread."""
    wake_read, wake_write = socket.socketpair()
    wake_write.setblocking(False)
    # The fd first: a signal that comes while the handlers are being set must still wake us.
    previous_fd = signal.set_wakeup_fd(wake_write.fileno())
    previous: dict[signal.Signals, Any] = {}
    previous_mask: set[int | signal.Signals] | None = None

    def wait() -> signal.Signals:
        while True:
            received = wake_read.recv(1)[0]
            if received in signals:
                return signal.Signals(received)

    try:
        for sig in signals:
            previous[sig] = signal.signal(sig, _noted)
        previous_mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
        yield wait
    finally:
        if previous_mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        signal.set_wakeup_fd(previous_fd)
        wake_read.close()
        wake_write.close()


def _noted(_signum: int, _frame: FrameType | None) -> None:
    """Nothing to do: the wakeup fd already holds the signal."""
