"""Throughput of the input pipeline alone, and of the train step it has to keep busy.

`pipeline_throughput` times exactly what the train loop consumes — `device_batches` with the
config's prefetch, steps per dispatch and device placement (`Runner.place_batch`), waiting until
each batch is on the devices — twice from step 0: the first pass includes reading/decoding every
file once, the second shows the steady state (for folder sources: with decoded images cached
when they fit). `train_step_throughput` times the jitted train step on a fixed placed batch.
`python -m experiments.bench.data` prints both.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import ml_collections

from gan_jax.data.prefetch import device_batches


def _runner(config: ml_collections.ConfigDict, data_shape: tuple[int, ...]):
    from gan_jax.tasks.gan import build_spec
    from gan_jax.training.parallel import Runner, select_devices

    spec = build_spec(config, data_shape)
    k = config.train.steps_per_dispatch
    runner = Runner(spec, config.parallel, select_devices(config.num_devices), k)
    runner.check_batch_size(config.data.batch_size)
    return spec, runner


def _timed_pass(source, config: ml_collections.ConfigDict, runner, num_batches: int) -> float:
    """Seconds to deliver `num_batches` training batches from step 0 onto the devices."""
    k = config.train.steps_per_dispatch
    items = max(num_batches // k, 1)
    start = time.perf_counter()
    with device_batches(
        source,
        0,
        config.data.batch_size,
        config.seed,
        k,
        runner.place_batch,
        config.data.prefetch,
    ) as batches:
        for _ in range(items):
            jax.block_until_ready(next(batches))
    return time.perf_counter() - start


def pipeline_throughput(config: ml_collections.ConfigDict, num_batches: int = 50) -> dict[str, Any]:
    """Images/s of the input pipeline for `config` (first and second pass over its first
    `num_batches` batches), with the source's setup time."""
    from gan_jax.data import make_source

    start = time.perf_counter()
    source = make_source(config.data)
    setup_s = time.perf_counter() - start
    _, runner = _runner(config, source.data_shape)
    k = config.train.steps_per_dispatch
    images = max(num_batches // k, 1) * k * config.data.batch_size
    first = _timed_pass(source, config, runner, num_batches)
    second = _timed_pass(source, config, runner, num_batches)
    return {
        "source": source.name,
        "examples": len(source) if hasattr(source, "__len__") else None,
        "data_shape": list(source.data_shape),
        "batch_size": config.data.batch_size,
        "batches": images // config.data.batch_size,
        "setup_s": round(setup_s, 3),
        "first_pass_images_per_s": round(images / first, 1),
        "second_pass_images_per_s": round(images / second, 1),
        "decoded_cache": getattr(source, "cached", None),
        "prefetch": config.data.prefetch,
        "workers": config.data.workers,
    }


def train_step_throughput(
    config: ml_collections.ConfigDict, steps: int = 20, warmup: int = 3
) -> dict[str, Any]:
    """Images/s the train step consumes: `steps` timed steps after `warmup` (compile included
    in the warm-up), on one fixed batch already on the devices."""
    from gan_jax.data import make_source
    from gan_jax.data.prefetch import stacked
    from gan_jax.tasks.gan import create_state

    source = make_source(config.data)
    spec, runner = _runner(config, source.data_shape)
    k = config.train.steps_per_dispatch
    host = next(stacked(source.iterate(0, config.data.batch_size, config.seed), k))
    batch = runner.place_batch(host)
    state = runner.place_state(create_state(spec, source.data_shape, config.seed))
    rng = runner.place_rng(jax.random.PRNGKey(config.seed))
    for _ in range(warmup):
        state, metrics = runner.step(state, batch, rng)
    jax.block_until_ready(metrics)
    dispatches = max(steps // k, 1)
    start = time.perf_counter()
    for _ in range(dispatches):
        state, metrics = runner.step(state, batch, rng)
    jax.block_until_ready(metrics)
    seconds = time.perf_counter() - start
    return {
        "devices": runner.num_devices,
        "parallel": runner.mode,
        "steps": dispatches * k,
        "seconds_per_step": round(seconds / (dispatches * k), 4),
        "images_per_s": round(dispatches * k * config.data.batch_size / seconds, 1),
    }
