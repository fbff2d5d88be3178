"""Waiting for a stop signal (Ctrl-C, SIGTERM) in a process whose threads run servers or syncs.

Why not a plain handler: the kernel may hand a process's signal to any thread that does not block
it, and Python runs its handlers only in the main thread, when that thread runs Python code. A
main thread blocked in a sleep or a read therefore never noticed a signal one of the server's
threads took, and `segsync sandbox serve` went on after Ctrl-C. So the wait is on Python's
wakeup fd, which the signal's C-level handler writes to whichever thread took it.

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
    previous = {sig: signal.signal(sig, _noted) for sig in signals}
    previous_fd = signal.set_wakeup_fd(wake_write.fileno())
    previous_mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)

    def wait() -> signal.Signals:
        while True:
            received = wake_read.recv(1)[0]
            if received in signals:
                return signal.Signals(received)

    try:
        yield wait
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        wake_read.close()
        wake_write.close()


def _noted(_signum: int, _frame: FrameType | None) -> None:
    """Nothing to do: the wakeup fd already holds the signal."""
