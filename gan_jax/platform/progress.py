"""A one-line terminal progress bar (steps/s, ETA, latest losses); silent when not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class ProgressBar:
    """Redraws `[label] [####----] step/total pct steps/s ETA metrics` on one terminal line.

    `label` names the work and `unit` what is counted (steps of training, images of a feature
    extraction), so long evaluations show the same kind of progress as training.
    """

    def __init__(
        self,
        total: int,
        start: int,
        stream: TextIO | None = None,
        width: int = 24,
        label: str = "",
        unit: str = "steps",
    ):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.total, self.start, self.width = total, start, width
        self.prefix = f"{label} " if label else ""
        self.unit = unit
        self.t0 = time.time()

    def update(self, step: int, metrics: dict[str, float] | None = None) -> None:
        if not self.enabled:
            return
        done = step / max(self.total, 1)
        rate = (step - self.start) / max(time.time() - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else 0.0
        bar = "#" * int(done * self.width)
        shown = " ".join(
            f"{k} {v:.3g}" for k, v in (metrics or {}).items() if k in ("d_loss", "g_loss")
        )
        self.stream.write(
            f"\r{self.prefix}[{bar:<{self.width}}] {step}/{self.total} {done:4.0%} "
            f"{rate:.1f} {self.unit}/s ETA {_duration(eta)} {shown}\033[K"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
