"""Time FID feature extraction (TF-legacy resize to 299x299 + the FID InceptionV3) on this host.

    python -m experiments.bench.features [--num=10000] [--size=64] [--batch=50] [--json]

Uses the converted published weights when they exist (see experiments/convert_inception.py),
else random weights: the speed does not depend on the values. Images are random [-1, 1]
SIZE x SIZE x 3; one host batch is reused, so data loading is not part of the time, the
host-to-device copy and the batched loop (`metrics.features.extract_features`) are. Prints the
compile time (the first batch, compile included), the steady images/s and the total seconds;
`--json` prints one JSON object as the last line.
"""

from __future__ import annotations

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from experiments.cli import fail, run_app  # noqa: E402
from gan_jax.errors import UserError  # noqa: E402

_NUM = flags.DEFINE_integer("num", 10000, "Images to extract features for (after the first).")
_SIZE = flags.DEFINE_integer("size", 64, "Image height and width before the resize to 299.")
_BATCH = flags.DEFINE_integer("batch", 50, "Images per compiled batch.")
_WEIGHTS = flags.DEFINE_string("weights", "", "Converted .npz (default: the cache's, else random).")
_JSON = flags.DEFINE_bool("json", False, "Also print one JSON object as the last line.")


def bench(num: int, size: int, batch: int, weights: str) -> dict:
    import jax
    import numpy as np

    from gan_jax.feature_nets import inception
    from gan_jax.feature_nets.features import extract_features

    path = weights or inception.default_weights_path()
    if weights or os.path.exists(path):
        net = inception.load_fid_inception(path)
    else:
        net = inception.random_fid_inception()
    images = np.random.default_rng(0).uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
    lowered = jax.jit(net._apply).lower(net.variables, images)
    flops = (lowered.cost_analysis() or {}).get("flops", 0.0) / batch
    start = time.perf_counter()
    jax.block_until_ready(net.features(images))
    compile_s = time.perf_counter() - start

    def batches():
        for i in range(0, num, batch):
            yield images[: min(batch, num - i)]

    start = time.perf_counter()
    extract_features(net.features, batches(), num, batch, desc="FID features")
    total_s = time.perf_counter() - start
    return {
        "num": num,
        "size": size,
        "batch": batch,
        "weights": net.source,
        "device": str(jax.devices()[0].device_kind),
        "compile_and_first_batch_s": round(compile_s, 2),
        "total_s": round(total_s, 2),
        "images_per_s": round(num / total_s, 2),
        "gflop_per_image": round(flops / 1e9, 2),
        "gflop_per_s": round(flops * num / total_s / 1e9, 1),
        "load_average_1m": os.getloadavg()[0],
    }


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}", 2)
    for name, value, low in (("num", _NUM.value, 1), ("size", _SIZE.value, 1)):
        if value < low:
            fail(f"--{name}={value} must be >= {low}", 2)
    if _BATCH.value < 1:
        fail(f"--batch={_BATCH.value} must be >= 1", 2)
    try:
        r = bench(_NUM.value, _SIZE.value, min(_BATCH.value, _NUM.value), _WEIGHTS.value)
    except UserError as e:
        fail(str(e), 2)
    print(
        f"FID features for {r['num']} images of {r['size']}x{r['size']} (batch {r['batch']}, "
        f"{r['device']}, weights: {r['weights']})"
    )
    print(f"compile + first batch: {r['compile_and_first_batch_s']:.2f} s")
    print(
        f"{r['images_per_s']:,.1f} images/s, {r['total_s']:.1f} s in all "
        f"({r['gflop_per_image']} GFLOP/image, {r['gflop_per_s']} GFLOP/s); "
        f"load average {r['load_average_1m']:.2f}"
    )
    if _JSON.value:
        print(json.dumps(r), flush=True)


def run() -> None:
    run_app(main)


if __name__ == "__main__":
    run()
