"""Speed of a config's train step: compile time, cold start, step time, images/s, GFLOP/s.

`benchmark(config, steps, warmup)` builds exactly what the training loop runs (the config's data
source, networks, optimizers, device layout and `train.steps_per_dispatch`), then:

* times the start: data source, state initialisation, XLA compilation (`lower().compile()`, so
  the compile is timed apart from the first run), and the first step;
* times `steps` train steps after `warmup` dispatches, each dispatch on its own
  (`block_until_ready`): the median and spread are per D+G step (dispatch time / k);
* times the same dispatches back to back with one sync at the end (what the train loop does);
* counts the FLOPs of one D+G step with XLA's cost analysis of the compiled single step (for
  k > 1 a single step is compiled for this: XLA counts a while-loop body once, whatever the
  trip count), giving the achieved GFLOP/s;
* optionally times the input pipeline alone (`gan_jax.tools.bench_data.pipeline_throughput`).

The batch is one real batch from the source, placed once: the step's speed does not depend on
the pixel values. `python -m experiments.bench` prints the result.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import jax
import ml_collections
import numpy as np

from gan_jax.core.step import make_train_step
from gan_jax.data import make_source
from gan_jax.data.prefetch import stacked
from gan_jax.tasks.gan import build_spec, create_state
from gan_jax.training.parallel import Runner, select_devices


def _flops(compiled: Any) -> float:
    """FLOPs of a compiled program from XLA's cost analysis (0 when it does not report them)."""
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):  # older jax returns one dict per computation
        cost = cost[0] if cost else {}
    return float((cost or {}).get("flops", 0.0))


def _single_step_flops(spec, state, host_batch: dict[str, np.ndarray], rng: jax.Array) -> float:
    """FLOPs of one D+G step, compiled on its own (one device, one batch)."""
    batch = {key: value[0] for key, value in host_batch.items()}
    return _flops(jax.jit(make_train_step(spec)).lower(state, batch, rng).compile())


def _timed(fn, *args) -> tuple[float, Any]:
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return time.perf_counter() - start, out


def benchmark(
    config: ml_collections.ConfigDict,
    steps: int = 20,
    warmup: int = 3,
    pipeline_batches: int = 0,
    origin: float | None = None,
) -> dict[str, Any]:
    """Measure `config`'s train step (see the module docstring). Times are in seconds unless
    the key says ms; `steps` is rounded up to whole dispatches of `train.steps_per_dispatch`.
    `origin` (a `time.perf_counter()` value, e.g. taken at process start before the imports)
    adds `start_to_first_step_s`, the time from it to the end of the first step."""
    t_start = time.perf_counter()
    k = config.train.steps_per_dispatch
    batch_size = config.data.batch_size
    source = make_source(config.data)
    spec = build_spec(config, source.data_shape)
    runner = Runner(spec, config.parallel, select_devices(config.num_devices), k)
    runner.check_batch_size(batch_size)
    host = next(stacked(source.iterate(0, batch_size, config.seed), k))
    batch = jax.block_until_ready(runner.place_batch(host))
    t_data = time.perf_counter()

    init_s, state = _timed(create_state, spec, source.data_shape, config.seed)
    state = runner.place_state(state)
    rng = runner.place_rng(jax.random.PRNGKey(config.seed))

    t0 = time.perf_counter()
    compiled = runner.compile(state, batch, rng)
    compile_s = time.perf_counter() - t0
    first_s, (state, _) = _timed(compiled, state, batch, rng)
    t_first = time.perf_counter()

    flops = _flops(compiled) if k == 1 else 0.0
    if k > 1 or runner.mode == "pmap":
        flops = _single_step_flops(spec, runner.host_state(state), host, jax.random.PRNGKey(0))

    for _ in range(warmup):
        _, (state, _) = _timed(compiled, state, batch, rng)
    dispatches = max(-(-steps // k), 1)
    times = []
    for _ in range(dispatches):
        seconds, (state, _) = _timed(compiled, state, batch, rng)
        times.append(seconds / k)
    start = time.perf_counter()
    for _ in range(dispatches):
        state, metrics = compiled(state, batch, rng)
    jax.block_until_ready((state, metrics))
    pipelined = (time.perf_counter() - start) / (dispatches * k)

    median = statistics.median(times)
    q1, _, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else (median,) * 3
    result: dict[str, Any] = {
        "data_shape": list(source.data_shape),
        "batch_size": batch_size,
        "steps_per_dispatch": k,
        "devices": runner.num_devices,
        "parallel": runner.mode,
        "steps_timed": dispatches * k,
        "data_setup_s": round(t_data - t_start, 3),
        "init_s": round(init_s, 3),
        "compile_s": round(compile_s, 3),
        "first_step_s": round(first_s, 3),
        "cold_start_s": round(t_first - t_start, 3),
        "step_ms_median": round(1000 * median, 4),
        "step_ms_iqr": [round(1000 * q1, 4), round(1000 * q3, 4)],
        "step_ms_pipelined": round(1000 * pipelined, 4),
        "imgs_per_s": round(batch_size / median, 1),
        "gflop_per_step": round(flops / 1e9, 4),
        "gflops_per_s": round(flops / median / 1e9, 2),
    }
    if origin is not None:
        result["start_to_first_step_s"] = round(t_first - origin, 3)
    if pipeline_batches:
        from gan_jax.tools.bench_data import pipeline_throughput

        result["pipeline"] = pipeline_throughput(config, pipeline_batches)
    return result


def format_report(name: str, r: dict[str, Any]) -> str:
    """Human-readable lines for a `benchmark` result."""
    lines = [
        f"{name}: batch {r['batch_size']} of {'x'.join(map(str, r['data_shape']))}, "
        f"{r['devices']} device(s) ({r['parallel']}), {r['steps_per_dispatch']} step(s)/dispatch",
        f"start: data {r['data_setup_s']:.2f} s, init {r['init_s']:.2f} s, compile "
        f"{r['compile_s']:.2f} s, first step {r['first_step_s']:.2f} s; "
        f"cold start to first step {r['cold_start_s']:.2f} s",
        f"train step (D+G, median of {r['steps_timed']}): {r['step_ms_median']:.3f} ms "
        f"(IQR {r['step_ms_iqr'][0]:.3f}-{r['step_ms_iqr'][1]:.3f}; back to back "
        f"{r['step_ms_pipelined']:.3f} ms) = {r['imgs_per_s']:,.0f} images/s; "
        f"{r['gflop_per_step']:.3f} GFLOP/step = {r['gflops_per_s']:.1f} GFLOP/s",
    ]
    if "pipeline" in r:
        p = r["pipeline"]
        lines.append(
            f"input pipeline alone ({p['source']}): first pass "
            f"{p['first_pass_images_per_s']:,.0f} images/s, second pass "
            f"{p['second_pass_images_per_s']:,.0f} images/s"
        )
    return "\n".join(lines)
