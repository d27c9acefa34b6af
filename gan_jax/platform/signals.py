"""Graceful stops: SIGTERM (how SLURM, Kubernetes and TPU/GCE preemption stop a job) and SIGINT
(Ctrl-C) become a request the training loop honours at its next dispatch boundary, where it
saves a checkpoint and exits with 128 + the signal (143, 130).

Hand-written on Python's `signal` module because that is the only way to catch them: the
handler only records the signal (nothing else is safe inside a handler); a second signal of
either kind falls through to the handler that was there before (by default SIGTERM kills,
SIGINT raises KeyboardInterrupt), so a stuck run can still be stopped at once. Leaving the
block puts back exactly the handlers found on entering it.

A run started with SIGINT ignored (what a script's `command &` inherits) leaves it ignored:
the Ctrl-C typed at the terminal is meant for the foreground job, not for it. SIGTERM is caught
either way. A handler installed outside Python (`signal.getsignal` gives None) is left alone,
since Python could not put it back.

In a multi-process run the signal may reach some processes a dispatch later than others (or
only one of them), yet all must stop at the same step and save together: `requested()`
all-reduces the flag over the processes (one int per process, at each dispatch boundary, the
only collective added), so every process sees the same answer at the same step.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """`with StopRequest() as stop:` catches SIGTERM and SIGINT (unless SIGINT is ignored);
    `stop.requested()` asks (all processes agreeing); `stop.signum` is the signal received (the
    first, on any process)."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        for sig, handler in self._previous.items():  # a second signal is not caught
            signal.signal(sig, handler)

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is not threading.main_thread():  # handlers live there only
            return self
        for sig in STOP_SIGNALS:
            previous = signal.getsignal(sig)
            if previous is None or (sig == signal.SIGINT and previous == signal.SIG_IGN):
                continue
            signal.signal(sig, self._handle)
            self._previous[sig] = previous
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def requested(self) -> bool:
        """True when a stop signal reached this process, or any process of the run."""
        import jax

        if jax.process_count() == 1:
            return self.signum != 0
        import numpy as np
        from jax.experimental import multihost_utils

        signums = multihost_utils.process_allgather(np.int32(self.signum))
        self.signum = int(np.max(signums))
        return self.signum != 0
