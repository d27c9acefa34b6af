"""A run's metric history and the pictures drawn from it: loss curves and the progress GIF.

Every logged row (`step` plus losses, D outputs, evaluation metrics) is appended to
`WORKDIR/history.jsonl`. A resumed run first drops the rows past the checkpoint it resumes
from (they belong to steps that will be trained again), so the history always describes the
parameters the checkpoints hold. Non-finite values are written as `null` (standard JSON, as
in metrics.json) and read back as NaN. From it:

* `WORKDIR/loss_curves.png`: the task's panels (a GAN: D and G losses, mean D(x) and D(G(z)),
  the torch-faces monitor; an encoder: its losses), then the panels of the evaluation metrics
  (`gan_jax.evaluation.registry`: the DIGITS pixel-histogram χ² among them), over the step;
* `WORKDIR/progress.gif`: the fixed-noise sample pictures `samples/step_*.png` as an
  animation (the seeds' training animations), at most `MAX_FRAMES` frames spread evenly.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from gan_jax import pictures
from gan_jax.evaluation import registry
from gan_jax.platform.distributed import is_primary
from gan_jax.platform.files import finite_or_none, write_bytes_atomic

HISTORY_FILE = "history.jsonl"
LOSS_CURVES = "loss_curves.png"
PROGRESS_GIF = "progress.gif"
MAX_FRAMES = 100


def _nan_for_null(row: dict[str, Any]) -> dict[str, Any]:
    return {k: float("nan") if v is None else v for k, v in row.items()}


class History:
    """Appends metric rows to `WORKDIR/history.jsonl` and plots them."""

    def __init__(
        self, workdir: str, start_step: int, panels: Sequence[registry.Panel] = ()
    ) -> None:
        self.path = os.path.join(workdir, HISTORY_FILE)
        self.panels = (*panels, *registry.chart_panels())  # the task's, then the metrics'
        self.workdir = workdir
        self.rows: list[dict[str, Any]] = []
        if os.path.exists(self.path):
            with open(self.path) as f:
                rows = [_nan_for_null(json.loads(line)) for line in f if line.strip()]
            self.rows = [r for r in rows if r.get("step", 0) <= start_step]
            if len(self.rows) != len(rows):
                self._rewrite()

    def _rewrite(self) -> None:
        text = "".join(json.dumps(finite_or_none(r)) + "\n" for r in self.rows)
        write_bytes_atomic(text.encode(), self.path)  # process 0 only, like every run file

    def append(self, step: int, metrics: dict[str, float]) -> None:
        row = {"step": int(step), **{k: float(v) for k, v in metrics.items()}}
        self.rows.append(row)
        if not is_primary():
            return
        with open(self.path, "a") as f:  # non-finite values as null, like metrics.json
            f.write(json.dumps(finite_or_none(row)) + "\n")

    def series(self, key: str) -> tuple[list[float], list[float]]:
        """(steps, values) of `key`, the latest row winning when a step was logged twice."""
        by_step = {r["step"]: r[key] for r in self.rows if key in r}
        steps = sorted(by_step)
        return steps, [by_step[s] for s in steps]

    def plot(self) -> np.ndarray | None:
        """Writes `loss_curves.png` (the panels that have data) and returns it; None if empty."""
        panels = []
        for title, keys, *options in self.panels:
            series = {k: self.series(k) for k in keys}
            series = {k: v for k, v in series.items() if v[0]}
            if series:
                panels.append((title, series, *options))
        if not panels:
            return None
        picture = pictures.line_chart(panels)
        pictures.save_png(picture, os.path.join(self.workdir, LOSS_CURVES))
        return picture


def sample_frames(workdir: str) -> list[str]:
    """The progress pictures `samples/step_*.png` in step order."""
    return sorted(glob.glob(os.path.join(workdir, "samples", "step_*.png")))


def progress_gif(workdir: str, fps: float = 4.0) -> str | None:
    """Writes `progress.gif` from the run's progress pictures; returns its path (None if none)."""
    frames = sample_frames(workdir)
    if not frames:
        return None
    if len(frames) > MAX_FRAMES:
        keep = np.unique(np.linspace(0, len(frames) - 1, MAX_FRAMES).round().astype(int))
        frames = [frames[i] for i in keep]
    frames_rgb = []
    for path in frames:
        with Image.open(path) as im:
            frames_rgb.append(np.asarray(im.convert("RGB")))
    if len({p.shape for p in frames_rgb}) > 1:  # e.g. an earlier run with another sample count
        frames_rgb = [p for p in frames_rgb if p.shape == frames_rgb[-1].shape]
    path = os.path.join(workdir, PROGRESS_GIF)
    pictures.gif(frames_rgb, path, fps=fps)
    return path
