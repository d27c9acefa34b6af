"""Time a config's train step (one D+G step): compile, cold start, step time, images/s, GFLOP/s.

    python -m experiments.bench --config=celeba64 \
        --config.data.source=npz:PATH/faces64.npz        # any 64x64 images (x: N,64,64,3 uint8)
    python -m experiments.bench --config=mnist_dcgan \
        --config.data.source=npz:PATH/mnist.npz --steps=50 --json
    python -m experiments.bench --config=mnist_mlp \
        --config.data.source=npz:PATH/mnist.npz --steps=2000

The median is over `--steps` steps after `--warmup` dispatches, each dispatch synchronised;
with `train.steps_per_dispatch=k` times are per step. `--pipeline_batches=N` also times the
input pipeline alone. `--json` prints one JSON object as the last line. Set `XLA_FLAGS` in the
environment to try XLA options (gan_jax's XLA:CPU flags are added unless it names them, or
`GAN_JAX_XLA_DEFAULTS=1` keeps XLA's defaults). See `gan_jax.tools.bench_step`.
"""

from __future__ import annotations

import os
import time

_T0 = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402

from absl import flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from experiments.cli import fail, run_app  # noqa: E402
from gan_jax.errors import UserError  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Config name (e.g. celeba64) or path, optionally with :ARG.", lock_config=True
)
_BATCH = flags.DEFINE_integer("batch", 0, "Global batch size (0 = the config's).")
_STEPS = flags.DEFINE_integer("steps", 20, "Timed train steps (after the warm-up).")
_WARMUP = flags.DEFINE_integer("warmup", 3, "Untimed dispatches after the first step.")
_PIPELINE = flags.DEFINE_integer(
    "pipeline_batches", 0, "Also time the input pipeline alone over this many batches (0 = no)."
)
_CACHE = flags.DEFINE_string(
    "compilation_cache", "", "Persistent XLA compilation cache directory ('' = off: cold compile)."
)
_JSON = flags.DEFINE_bool("json", False, "Print the result as one JSON object (last line).")
flags.mark_flags_as_required(["config"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}; overrides look like --config.model.dtype=X", 2)
    if _BATCH.value < 0 or _STEPS.value < 1 or _WARMUP.value < 0 or _PIPELINE.value < 0:
        fail("--batch, --warmup and --pipeline_batches must be >= 0 and --steps >= 1", 2)
    import jax

    from gan_jax.tasks.gan import validate
    from gan_jax.tools.bench_step import benchmark, format_report

    if _CACHE.value:
        jax.config.update("jax_compilation_cache_dir", _CACHE.value)
    config = _CONFIG.value
    if _BATCH.value:
        with config.unlocked():
            config.data.batch_size = _BATCH.value
    try:
        validate(config)
        result = benchmark(config, _STEPS.value, _WARMUP.value, _PIPELINE.value, _T0)
    except UserError as e:
        fail(str(e), 2)
    name = os.path.basename(config_flags.get_config_filename(flags.FLAGS["config"]))[:-3]
    print(json.dumps(result) if _JSON.value else format_report(name, result), flush=True)


def run() -> None:
    run_app(main)


if __name__ == "__main__":
    run()
