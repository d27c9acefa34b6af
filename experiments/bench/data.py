"""Benchmark a config's input pipeline alone (images/s), and optionally its train step.

    python -m experiments.bench.data --config=mnist_dcgan \
        --config.data.source=npz:PATH/mnist.npz --train_steps=20
    python -m experiments.bench.data --config=celeba64 \
        --config.data.source=folder:/data/celeba/img_align_celeba --batches=100 --json

The pipeline is timed as the train loop uses it (prefetch, steps per dispatch, placement on the
devices), twice from step 0: the first pass decodes every file, the second is the steady state.
`--train_steps=N` also times N train steps on one device layout of the config and prints the
ratio the issue asks for (pipeline images/s over step images/s).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from experiments.cli import fail, run_app  # noqa: E402
from gan_jax.errors import UserError  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Config name (e.g. celeba64) or path, optionally with :ARG.", lock_config=True
)
_BATCHES = flags.DEFINE_integer("batches", 50, "Training batches per timed pass.")
_TRAIN_STEPS = flags.DEFINE_integer("train_steps", 0, "Also time this many train steps (0 = no).")
_JSON = flags.DEFINE_bool("json", False, "Print one JSON object instead of text.")
flags.mark_flags_as_required(["config"])


def report(result: dict) -> str:
    p = result["pipeline"]
    lines = [
        f"{p['source']}: {p['examples']} examples of {'×'.join(map(str, p['data_shape']))}, "
        f"batch {p['batch_size']}, prefetch {p['prefetch']}, decoded cache {p['decoded_cache']}",
        f"input pipeline: setup {p['setup_s']:.2f} s; first pass "
        f"{p['first_pass_images_per_s']:,.0f} images/s, second pass "
        f"{p['second_pass_images_per_s']:,.0f} images/s ({p['batches']} batches each)",
    ]
    if "train_step" in result:
        t = result["train_step"]
        lines.append(
            f"train step ({t['devices']} device(s), {t['parallel']}): "
            f"{t['seconds_per_step']} s/step = {t['images_per_s']:,.1f} images/s; "
            "pipeline/step: first pass "
            f"{result['ratio_first_pass']:.1f}×, second pass {result['ratio_second_pass']:.1f}×"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}; overrides look like --config.data.prefetch=4", 2)
    if _BATCHES.value < 1 or _TRAIN_STEPS.value < 0:
        fail(f"--batches={_BATCHES.value} must be >= 1 and --train_steps >= 0", 2)
    from gan_jax.tasks.gan import validate
    from gan_jax.tools.bench_data import pipeline_throughput, train_step_throughput

    config = _CONFIG.value
    try:
        validate(config)
        result = {"pipeline": pipeline_throughput(config, _BATCHES.value)}
        if _TRAIN_STEPS.value:
            step = train_step_throughput(config, _TRAIN_STEPS.value)
            result["train_step"] = step
            for name in ("first_pass", "second_pass"):
                rate = result["pipeline"][f"{name}_images_per_s"]
                result[f"ratio_{name}"] = round(rate / step["images_per_s"], 2)
    except UserError as e:
        fail(str(e), 2)
    print(json.dumps(result) if _JSON.value else report(result), flush=True)


def run() -> None:
    run_app(main)


if __name__ == "__main__":
    run()
