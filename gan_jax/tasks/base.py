"""`TaskBase`: the wiring every trainable task shares, so that a task writes only its networks,
its step and its config.

The training loop (`gan_jax.training.loop.train`) drives a `loop.Task`; `TaskBase` is that
protocol plus what each task used to write for itself:

* `open_source()`: the config's data source, restricted to `data.limit` examples for training;
* `make_runner(step)`: the compiled step on `config.num_devices` devices in a placement
  (`gan_jax.training.parallel`), with the batch size checked against them;
* `rng`: the step's base key, `fold_in(PRNGKey(seed), 1)`;
* `write_picture(...)`: a progress picture as `WORKDIR/samples/step_XXXXXX.png` and in
  TensorBoard;
* `describe(state)`: one log line from `networks(state)` (name -> parameters) and the devices;
* `check_health(state, metrics)`: TrainingDiverged when one of `finite_metrics` is not finite;
* `generator_export()`: where the sampler's weights are in this task's checkpoints — the
  written contract `gan_jax.load` reads (`gan_jax.runs.export`), stored in `model.json` by
  `write_run_files`.

A subclass sets `config`, `source`, `data_shape`, `runner` in its `__init__`, and defines
`init_state`, `networks`, `pictures` and `generator_export`. A task whose config lacks fields of
the shared schema because it does not read them declares them in `not_read` (`gan_jax.tasks.
reads`); a config that has one anyway is refused here.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable
from typing import Any

import jax
import ml_collections
import numpy as np

from gan_jax import data as data_lib
from gan_jax import pictures as pictures_lib
from gan_jax.core.state import param_count
from gan_jax.errors import TrainingDiverged
from gan_jax.runs.export import GeneratorExport
from gan_jax.runs.run_files import save_run_files
from gan_jax.tasks import reads
from gan_jax.training import loop
from gan_jax.training.parallel import Runner, placement, select_devices

SAMPLES_DIR = "samples"


class TaskBase(loop.Task):
    """See the module docstring. Class attributes a task may set: `title` (its name in the log
    line), `finite_metrics` and `divergence_hint` (what `check_health` checks and advises)."""

    title = "run"
    finite_metrics: tuple[str, ...] = ()
    divergence_hint = "lower the learning rates"
    data_shape: tuple[int, ...]

    @classmethod
    def not_read(cls, config: Any) -> reads.NotRead:
        """The fields of `gan_jax.config.base_config()` this task does not read, each with what
        to use instead; `config` (a ConfigDict or a stored config.json dict) may decide which.
        Its config builder leaves them out (`reads.drop`)."""
        return {}

    def __init__(self, config: ml_collections.ConfigDict, workdir: str) -> None:
        reads.check_absent(config, self.not_read(config))
        self.config = config
        self.workdir = os.path.abspath(os.path.expanduser(workdir))
        self.rng = jax.random.fold_in(jax.random.PRNGKey(config.seed), 1)

    # -- wiring --------------------------------------------------------------------------
    def open_source(self, data_config: ml_collections.ConfigDict | None = None) -> Any:
        """The data source the run trains on (`data.limit` examples of it when > 0)."""
        block = self.config.data if data_config is None else data_config
        return data_lib.limit(data_lib.make_source(block), block.get("limit", 0))

    def make_runner(
        self,
        make_step: Callable[..., Any],
        mode: str = "sharded",
        steps_per_dispatch: int = 1,
        constants: Any = None,
    ) -> Runner:
        """`make_step(axis_name, num_devices, latent_sharding)` compiled in placement `mode` on
        `config.num_devices` devices; the global batch must split evenly over them."""
        devices = select_devices(self.config.num_devices)
        runner = Runner(
            make_step,
            placement(mode, devices, steps_per_dispatch),
            None,
            steps_per_dispatch,
            constants,
        )
        runner.check_batch_size(self.config.data.batch_size)
        return runner

    def write_picture(
        self, step: int, picture: np.ndarray, writer: Any, tag: str = "samples"
    ) -> None:
        """`WORKDIR/samples/step_XXXXXX.png` and TensorBoard's `tag` image at `step`."""
        path = os.path.join(self.workdir, SAMPLES_DIR, f"step_{step:06d}.png")
        pictures_lib.write_picture(picture, path, writer, step, tag)

    def write_run_files(self, workdir: str) -> None:
        save_run_files(
            self.config,
            workdir,
            self.data_shape,
            self.num_classes(),
            generator=self.generator_export(),
        )

    def num_classes(self) -> int:
        """The classes the generator is conditioned on (0 = unconditional)."""
        return 0

    # -- what the log and the health check say -----------------------------------------------
    @abc.abstractmethod
    def networks(self, state: Any) -> dict[str, Any]:
        """{network name: its parameters} for the log line (in the order shown)."""

    def details(self) -> str:
        """Task-specific facts appended to the log line ('' = none)."""
        return ""

    def describe(self, state: Any) -> str:
        nets = "; ".join(
            f"{name}: {param_count(p):,} params" for name, p in self.networks(state).items()
        )
        runner, details = self.runner, self.details()
        extra = f"; {details}" if details else ""
        return (
            f"{self.title}: {nets}{extra}; {runner.num_devices} "
            f"{jax.devices()[0].platform} device(s), mode {runner.mode}"
        )

    def check_health(self, state: Any, metrics: dict[str, float]) -> None:
        bad = [k for k in self.finite_metrics if k in metrics and not np.isfinite(metrics[k])]
        if bad:
            step = int(np.asarray(jax.device_get(state.step)).reshape(-1)[0])
            raise TrainingDiverged(
                f"{', '.join(bad)} became non-finite by step {step}; {self.divergence_hint}"
            )

    # -- what gan_jax.load reads -------------------------------------------------------------
    @abc.abstractmethod
    def generator_export(self) -> GeneratorExport:
        """Where this task's checkpoints keep the sampler (see `gan_jax.runs.export`)."""
