"""`train_and_evaluate(config, workdir)`: the training loop behind `experiments.run`.

Builds data, models, loss and optimizers from the config; resumes from the latest checkpoint
in `WORKDIR/checkpoints` when there is one; runs the jitted (or pmapped) step; logs metrics
to TensorBoard and the console with steps/s and ETA; writes progress pictures from a fixed
noise batch, `loss_curves.png` and `progress.gif` (gan_jax.training.history); runs the periodic
evaluations of `config.evals` (gan_jax.training.evals); saves checkpoints periodically and at the
end; writes `WORKDIR/metrics.json`.
"""

from __future__ import annotations

import functools
import json
import os
import time
from typing import Any

import jax
import ml_collections
from absl import logging

from gan_jax import config as config_lib
from gan_jax import losses, models
from gan_jax.core import regularizers, stabilizers
from gan_jax.core.optim import make_optimizer
from gan_jax.core.state import NET_NAMES, GANState, init_state, param_count
from gan_jax.core.step import GANSpec
from gan_jax.data import make_source
from gan_jax.data.prefetch import device_batches
from gan_jax.errors import DataError, TrainingDiverged
from gan_jax.platform.distributed import is_primary
from gan_jax.platform.files import write_json_atomic
from gan_jax.platform.progress import ProgressBar
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.runs.run_files import METRICS_FILE, save_run_files
from gan_jax.training.evals import EvalHook
from gan_jax.training.history import History, progress_gif
from gan_jax.training.monitor import Monitor
from gan_jax.training.parallel import Runner, select_devices


def build_spec(config: ml_collections.ConfigDict, data_shape: tuple[int, ...]) -> GANSpec:
    """Networks, loss and optimizers for `config` on data of shape `data_shape`."""
    generator, discriminator = models.build(config.model, data_shape)
    options = {k: v for k, v in config.loss_options.to_dict().items() if v is not None}
    loss = losses.get(config.loss, **options)
    stabilizers.validate(config, loss.logistic)
    reg = config.regularizer
    regularizers.validate(reg.name, reg.weight, reg.interval)
    num_steps, n_critic = config.train.num_steps, config.train.n_critic
    return GANSpec(
        generator=generator,
        discriminator=discriminator,
        loss=loss,
        g_tx=make_optimizer(config.g_optimizer, num_steps),
        d_tx=make_optimizer(config.d_optimizer, num_steps * n_critic),
        latent_dim=config.model.latent_dim,
        num_classes=config.model.num_classes,
        n_critic=n_critic,
        ema_decay=config.ema_decay,
        skip_margin=config.balance.skip_margin,
        adaptive_l2=config.balance if config.balance.adaptive_l2 else None,
        regularizer=reg.name,
        reg_scale=regularizers.penalty_scale(reg.name, reg.weight, reg.interval),
        reg_interval=reg.interval,
    )


def create_state(spec: GANSpec, data_shape: tuple[int, ...], seed: int) -> GANState:
    """Initialise the state in one jitted call (cheaper than eager init on CPU)."""
    init = functools.partial(
        init_state,
        generator=spec.generator,
        discriminator=spec.discriminator,
        g_tx=spec.g_tx,
        d_tx=spec.d_tx,
        latent_dim=spec.latent_dim,
        data_shape=data_shape,
        num_classes=spec.num_classes,
        ema=spec.ema_decay > 0,
    )
    return jax.jit(init)(jax.random.fold_in(jax.random.PRNGKey(seed), 0))


def _check_labels(config: ml_collections.ConfigDict, source) -> None:
    wanted = config.model.num_classes
    if wanted and not source.num_classes:
        raise DataError(
            f"config.model.num_classes={wanted} but {source.name} has no labels; "
            "use a labelled source or set --config.model.num_classes=0"
        )
    if wanted and source.num_classes > wanted:
        raise DataError(
            f"{source.name} has {source.num_classes} classes but config.model.num_classes="
            f"{wanted}; set --config.model.num_classes={source.num_classes}"
        )


def _check_finite(state: GANState, metrics: dict[str, float]) -> None:
    bad_step = int(jax.device_get(state.diverged_step).reshape(-1)[0])
    if bad_step >= 0:
        net = NET_NAMES[int(jax.device_get(state.diverged_net).reshape(-1)[0])]
        raise TrainingDiverged(
            f"the {net} loss became non-finite at step {bad_step} "
            f"(latest d_loss={metrics.get('d_loss')}, g_loss={metrics.get('g_loss')}); "
            "lower the learning rates or try another loss"
        )


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


def _read_metrics(workdir: str) -> dict[str, float]:
    with open(os.path.join(workdir, METRICS_FILE)) as f:
        return json.load(f)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Train (or resume) the GAN described by `config` in `workdir`; return the final metrics."""
    config_lib.validate(config)
    workdir = os.path.abspath(workdir)
    tc, seed = config.train, config.seed
    source = make_source(config.data)
    _check_labels(config, source)
    spec = build_spec(config, source.data_shape)
    runner = Runner(
        spec, config.parallel, select_devices(config.num_devices), tc.steps_per_dispatch
    )
    runner.check_batch_size(config.data.batch_size)

    # Before anything is written: a missing feature network stops the run here.
    evals = (
        EvalHook(config, source, spec.generator, spec.num_classes, workdir)
        if config.evals.every
        else None
    )
    os.makedirs(workdir, exist_ok=True)
    save_run_files(config, workdir, source.data_shape, config.model.num_classes)
    state = create_state(spec, source.data_shape, seed)
    logging.info(
        "Generator: %s params; discriminator: %s params; %d %s device(s), mode %s",
        f"{param_count(state.g_params):,}",
        f"{param_count(state.d_params):,}",
        runner.num_devices,
        jax.devices()[0].platform,
        runner.mode,
    )
    checkpointer = Checkpointer(workdir, tc.keep_checkpoints)
    start = checkpointer.latest_step() or 0
    if start:
        state = checkpointer.restore(state)
        logging.info("Resumed from step %d (%s)", start, checkpointer.directory)
    if start >= tc.num_steps and os.path.exists(os.path.join(workdir, METRICS_FILE)):
        checkpointer.close()
        logging.info("Already trained for %d steps; nothing to do", start)
        return _read_metrics(workdir)

    monitor = Monitor(
        spec.generator, source, spec.latent_dim, spec.num_classes, tc.num_samples, seed, workdir
    )
    history = History(workdir, start)
    writer = report = None
    bar = ProgressBar(tc.num_steps, start)

    rng = runner.place_rng(jax.random.fold_in(jax.random.PRNGKey(seed), 1))
    state = runner.place_state(state)
    k = tc.steps_per_dispatch
    batches = device_batches(
        source, start, config.data.batch_size, seed, k, runner.place_batch, config.data.prefetch
    )
    step, metrics, last = start, {}, {}
    t0 = time.time()
    try:
        while step < tc.num_steps:
            batch = next(batches)
            state, metrics = runner.step(state, batch, rng)
            if writer is None:  # clu imports TensorFlow (seconds): do it while the step runs
                writer, report = _open_writer(config, workdir, start)
            step += k
            final = step >= tc.num_steps
            for s in range(step - k + 1, step + 1):  # PeriodicAction wants every step
                report(s)
            if step % tc.log_every == 0 or final:
                last = runner.host_metrics(metrics)
                _check_finite(state, last)
                writer.write_scalars(step, last)
                bar.update(step, last)
                history.append(step, last)
            if step % tc.sample_every == 0 or final:
                sample_metrics = monitor.write(step, runner.host_state(state), writer)
                if sample_metrics:
                    writer.write_scalars(step, sample_metrics)
                    last.update(sample_metrics)
                    history.append(step, sample_metrics)
            if evals is not None and evals.due(step, final):
                eval_metrics = evals(step, runner.host_state(state), writer)
                writer.write_scalars(step, eval_metrics)
                last.update(eval_metrics)
                history.append(step, eval_metrics)
            if (step % tc.sample_every == 0 or final) and is_primary():
                history.plot()
            if step % tc.checkpoint_every == 0 or final:
                checkpointer.save(step, runner.host_state(state))
                if is_primary():
                    progress_gif(workdir)
    finally:
        if evals is not None:
            evals.close()
        batches.close()
        bar.close()
        if writer is not None:
            writer.flush()
        checkpointer.close()

    logging.info("Trained steps %d..%d in %.1fs", start, step, time.time() - t0)
    if writer is None:
        writer, _ = _open_writer(config, workdir, start)
    if start >= tc.num_steps:  # finished earlier but killed before metrics.json was written
        last = monitor.write(step, runner.host_state(state), writer)
    final_metrics = {"step": step, **last}
    write_json_atomic(final_metrics, os.path.join(workdir, METRICS_FILE))
    writer.close()
    return final_metrics
