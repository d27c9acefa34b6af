"""Best-checkpoint tracking: keep the checkpoint with the best value of one evaluation metric.

With `config.evals.best_metric` set (e.g. `fid`), every periodic evaluation compares the metric
with the best so far (lower is better for distances, higher for scores: the direction its entry
in `gan_jax.evaluation.registry` gives) and, on an improvement, saves the full training state to
`WORKDIR/best/checkpoints/STEP` (only the latest best is kept) next to copies of the run's
`config.json` and `model.json`, and records `{metric, value, step, mode}` in
`WORKDIR/best/best.json`. `WORKDIR/best` is therefore a run folder of its own:
`gan_jax.load("WORKDIR/best")` and `experiments.evaluate --workdir=WORKDIR/best` work on it. A
resumed run reads `best.json` back, so the best survives restarts.
"""

from __future__ import annotations

import json
import math
import os
import shutil

from gan_jax.core.state import GANState
from gan_jax.errors import ConfigError
from gan_jax.evaluation.registry import better
from gan_jax.platform.files import write_json_atomic
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.runs.run_files import CONFIG_FILE, MODEL_FILE

BEST_DIR = "best"
BEST_FILE = "best.json"


class BestTracker:
    """Saves the state whenever `metric` improves (see the module docstring)."""

    def __init__(self, workdir: str, metric: str, available: tuple[str, ...]) -> None:
        if metric not in available:
            raise ConfigError(
                f"config.evals.best_metric={metric!r} is not computed by this run's evaluations; "
                f"choose one of: {', '.join(available)}"
            )
        self.workdir = workdir
        self.metric, self.mode = metric, better(metric)
        self.directory = os.path.join(workdir, BEST_DIR)
        self.record: dict | None = None
        path = os.path.join(self.directory, BEST_FILE)
        if os.path.exists(path):
            with open(path) as f:
                record = json.load(f)
            if record.get("metric") == metric:
                self.record = record
        self._checkpointer: Checkpointer | None = None

    def improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.record is None:
            return True
        best = self.record["value"]
        return value < best if self.mode == "min" else value > best

    def update(self, step: int, metrics: dict[str, float], state: GANState) -> bool:
        """Save `state` as the new best if `metrics[metric]` improved; returns whether it did."""
        value = float(metrics[self.metric])
        if not self.improved(value):
            return False
        os.makedirs(self.directory, exist_ok=True)
        for name in (CONFIG_FILE, MODEL_FILE):
            shutil.copyfile(os.path.join(self.workdir, name), os.path.join(self.directory, name))
        if self._checkpointer is None:
            self._checkpointer = Checkpointer(self.directory, keep=1)
        self._checkpointer.save(step, state)
        self._checkpointer.wait()
        self.record = {"metric": self.metric, "value": value, "step": int(step), "mode": self.mode}
        write_json_atomic(self.record, os.path.join(self.directory, BEST_FILE))
        return True

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
