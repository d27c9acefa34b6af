"""The one training loop: `train(task, workdir)` for every trainable task (GAN, encoder, ...).

A task (`Task`) gives the loop what differs between tasks: its run files, its initial state, a
`Runner` (the compiled step placed on the devices), its data source, its pictures and its
health check. Everything else exists once, here:

* resume from the latest checkpoint in `WORKDIR/checkpoints`, or return at once, writing
  nothing, when the run is finished (a run killed after its last checkpoint but before
  `metrics.json` gets its final pictures and metrics.json);
* input batches read ahead and placed on the devices (`gan_jax.data.prefetch`);
* the schedule: metrics every `train.log_every` steps (TensorBoard, console, `history.jsonl`),
  pictures every `train.sample_every`, periodic evaluations (`task.evals`), checkpoints every
  `train.checkpoint_every`, and all of them at the last step;
* the console: clu's `ReportProgress` (steps/s, ETA; measured from the end of the first dispatch,
  which includes compilation) and the metric writer's per-interval line;
* `loss_curves.png`, `progress.gif` and the final `WORKDIR/metrics.json`;
* a dead-run warning when the run still runs but no longer learns (`training.health`).

Reliability (docs/runs.md, "What happens when..."):

* the caller validates the config and builds the task before anything is written; a resume
  checks the config against the checkpoint, falls back past damaged checkpoints and holds the
  workdir lock (`training.resume`); run files are written only after a successful restore, and
  `config.json` stays the run's first config (changes go to `config_history.jsonl`,
  `runs.run_files`);
* SIGTERM/SIGINT (`platform.signals`): the current dispatch finishes, every process agrees on
  the step, the checkpoint of that step is saved and `Interrupted` is raised (exit 143/130), so
  rerunning the command continues exactly where it stopped;
* an OSError (disk full, read-only folder) becomes a one-line `RunFault`, after deleting the
  half-written checkpoint.
"""

from __future__ import annotations

import abc
import contextlib
import os
import time
from collections.abc import Sequence
from typing import Any

import jax
import ml_collections
from absl import logging

from gan_jax.data.prefetch import device_batches
from gan_jax.errors import ConfigError, Interrupted, TrainingDiverged, UserError
from gan_jax.evaluation.registry import Panel
from gan_jax.platform.distributed import is_primary
from gan_jax.platform.files import as_os_error, run_fault, write_json_atomic
from gan_jax.platform.signals import StopRequest
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.runs.restore import checkpoint_steps
from gan_jax.runs.run_files import METRICS_FILE
from gan_jax.training.health import DeadRunWatch
from gan_jax.training.history import History, progress_gif
from gan_jax.training.parallel import Runner
from gan_jax.training.resume import finished_metrics, restore_intact, workdir_lock

OUR_ERRORS = (UserError, TrainingDiverged, Interrupted)  # they already say what happened


class Task(abc.ABC):
    """What a trainable task gives the loop (see the module docstring).

    Attributes set by subclasses: `config` (its `train`, `data.batch_size`, `data.prefetch` and
    `seed` fields are read here), `source` (a data source with `iterate`), `runner`, `rng` (the
    step's base key, on the host), `evals` (a periodic evaluation hook or None) and
    `chart_panels` (the training panels of `loss_curves.png`).
    """

    config: ml_collections.ConfigDict
    source: Any
    runner: Runner
    rng: jax.Array
    evals: Any = None
    chart_panels: Sequence[Panel] = ()

    @abc.abstractmethod
    def write_run_files(self, workdir: str) -> None:
        """Write what rebuilds the run from its folder (config.json, model.json, ...)."""

    @abc.abstractmethod
    def init_state(self) -> Any:
        """The initial state (a template for restoring a checkpoint)."""

    def fresh_state(self, state: Any) -> Any:
        """The state a new (not resumed) run starts from; by default `state` itself."""
        return state

    @abc.abstractmethod
    def describe(self, state: Any) -> str:
        """One log line about the networks and the devices."""

    @abc.abstractmethod
    def check_health(self, state: Any, metrics: dict[str, float]) -> None:
        """Raise TrainingDiverged when the run has become non-finite."""

    @abc.abstractmethod
    def pictures(self, step: int, state: Any, writer: Any) -> dict[str, float]:
        """Write this step's pictures (PNG + TensorBoard); return metrics computed on samples."""


def _open_writer(config: ml_collections.ConfigDict, workdir: str, start: int) -> tuple[Any, Any]:
    """The TensorBoard/console writer (process 0 writes, others only log) and the steps/s
    reporter; a fresh run also records the config's top-level scalars as hyperparameters."""
    from clu import metric_writers, periodic_actions

    writer = metric_writers.create_default_writer(
        workdir, just_logging=jax.process_index() > 0, asynchronous=True
    )
    if start == 0:
        writer.write_hparams({k: v for k, v in config.to_dict().items() if not isinstance(v, dict)})
    report = periodic_actions.ReportProgress(
        num_train_steps=config.train.num_steps, writer=writer, every_steps=config.train.log_every
    )
    return writer, report


def _report(report: Any, first: int, last: int, t_prev: float, t_now: float) -> None:
    """Feed steps first..last (one dispatch) to `report` with times spread evenly over the
    dispatch, so steps/s is right however many steps one dispatch runs."""
    k = last - first + 1
    for i, s in enumerate(range(first, last + 1), 1):
        report(s, t_prev + (t_now - t_prev) * i / k)


def train(task: Task, workdir: str) -> dict[str, float]:
    """Train (or resume) `task` in `workdir`; return the final metrics (see module docstring).

    Raises `Interrupted` after saving a checkpoint when SIGTERM/SIGINT arrives, `RunFault`
    (one line) when the file system fails the run, `WorkdirLocked` when another process trains
    in `workdir`.
    """
    workdir = os.path.abspath(os.path.expanduser(workdir))
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise ConfigError(f"--workdir={workdir} is a file; pass a folder (new or a run's)")
    start = max(checkpoint_steps(workdir), default=0)
    done = finished_metrics(task.config, workdir, start)
    if done is not None:
        return done
    try:
        with StopRequest() as stop, workdir_lock(workdir):
            return _train(task, workdir, stop)
    except OSError as e:
        raise run_fault(e, where=workdir) from None


def _train(task: Task, workdir: str, stop: StopRequest) -> dict[str, float]:
    state = task.init_state()
    logging.info("%s", task.describe(state))
    checkpointer = Checkpointer(workdir, task.config.train.keep_checkpoints)
    start = 0
    try:
        if checkpoint_steps(workdir):
            state, start = restore_intact(task.config, workdir, checkpointer, state)
            logging.info("Resumed from step %d (%s)", start, checkpointer.directory)
        else:
            state = task.fresh_state(state)
        task.write_run_files(workdir)  # after the restore: a failed resume leaves them as they were
        return _loop(task, workdir, checkpointer, state, start, stop)
    except Exception as e:
        fault = None if isinstance(e, OUR_ERRORS) else as_os_error(e)
        if fault is None:
            raise
        with contextlib.suppress(Exception):
            checkpointer.close()
        checkpointer.discard_partial()  # e.g. a full disk: no half-written checkpoint left
        raise fault from None
    finally:
        checkpointer.close()


def _loop(
    task: Task,
    workdir: str,
    checkpointer: Checkpointer,
    state: Any,
    start: int,
    stop: StopRequest,
) -> dict[str, float]:
    config = task.config
    tc, runner = config.train, task.runner
    history = History(workdir, start, task.chart_panels)
    watch = DeadRunWatch()
    writer = report = None
    rng = runner.place_rng(task.rng)
    state = runner.place_state(state)
    k = runner.steps_per_dispatch
    batches = device_batches(
        task.source,
        start,
        config.data.batch_size,
        config.seed,
        k,
        runner.place_batch,
        config.data.get("prefetch", 2),
    )
    step, metrics, last, interrupted = start, {}, {}, 0
    t0 = t_prev = time.monotonic()
    try:
        while step < tc.num_steps:
            batch = next(batches)
            state, metrics = runner.step(state, batch, rng)
            if writer is None:  # clu imports TensorFlow (seconds): do it while the step runs
                writer, report = _open_writer(config, workdir, start)
            step += k
            final = step >= tc.num_steps
            t_now = time.monotonic()
            if step - start > k:  # the first dispatch includes compilation: not a rate
                _report(report, step - k + 1, step, t_prev, t_now)
            t_prev = t_now
            if step % tc.log_every == 0 or final:
                last = runner.host_metrics(metrics)
                task.check_health(state, last)
                watch.update(step, last)
                # A copy: the writer is asynchronous, and `last` gains the picture and evaluation
                # metrics below while its thread may still be reading it.
                writer.write_scalars(step, dict(last))
                history.append(step, last)
            if step % tc.sample_every == 0 or final:
                sample_metrics = task.pictures(step, runner.host_state(state), writer)
                if sample_metrics:
                    writer.write_scalars(step, sample_metrics)
                    last.update(sample_metrics)
                    history.append(step, sample_metrics)
            if task.evals is not None and task.evals.due(step, final):
                eval_metrics = task.evals(step, runner.host_state(state), writer)
                writer.write_scalars(step, eval_metrics)
                last.update(eval_metrics)
                history.append(step, eval_metrics)
            if (step % tc.sample_every == 0 or final) and is_primary():
                history.plot()
            stopping = not final and stop.requested()  # every process agrees on the step
            if step % tc.checkpoint_every == 0 or final or stopping:
                checkpointer.save(step, runner.host_state(state))
                if is_primary():
                    progress_gif(workdir)
            if stopping:
                interrupted = stop.signum
                break
    finally:
        if task.evals is not None:
            task.evals.close()
        batches.close()
        if writer is not None:
            writer.flush()
        checkpointer.close()

    if interrupted:
        if writer is not None:
            writer.close()
        raise Interrupted(step, interrupted)
    logging.info("Trained steps %d..%d in %.1fs", start, step, time.monotonic() - t0)
    if writer is None:
        writer, _ = _open_writer(config, workdir, start)
    if start >= tc.num_steps:  # finished earlier but killed before metrics.json was written
        last = task.pictures(step, runner.host_state(state), writer)
    final_metrics = {"step": step, **last}
    write_json_atomic(final_metrics, os.path.join(workdir, METRICS_FILE))
    writer.close()
    return final_metrics
