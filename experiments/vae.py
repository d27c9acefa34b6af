"""Compare trained VAE / VAE/GAN runs (the Torch faces post) side by side.

    python -m experiments.vae --compare=runs/mnist_vae,runs/mnist_vaegan \
        --images=tfds:mnist:test --out=vae_vs_vaegan.png

Writes one PNG (inputs, reconstructions and samples of every run, from the same images and z)
and prints each run's reconstruction MSE over `--num_images` images of `--images` (a data
source; default: the first run's training source). The runs themselves are trained by
`python -m experiments.run --config=mnist_vae` (any config with `task = 'vae'`); their folders
are read by `gan_jax.load` and `python -m experiments.evaluate --workdir=W` like GAN runs.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from absl import flags  # noqa: E402

from experiments.cli import fail, run_app  # noqa: E402
from gan_jax.errors import UserError  # noqa: E402

_COMPARE = flags.DEFINE_list("compare", None, "Run folders to compare (VAE or VAE/GAN runs).")
_IMAGES = flags.DEFINE_string("images", None, "Data source of the compared images.")
_NUM = flags.DEFINE_integer("num_images", 1000, "Images for the reconstruction MSE.")
_OUT = flags.DEFINE_string("out", "vae_comparison.png", "The comparison PNG.")


def _compare() -> None:
    from gan_jax.vae.compare import heldout_images, load_vae, side_by_side

    if _NUM.value < 8:
        fail(f"--num_images={_NUM.value} must be >= 8", 2)
    first = load_vae(_COMPARE.value[0])
    source = _IMAGES.value or first.config.data.source
    images = heldout_images(first.config.data, source, _NUM.value)
    scores = side_by_side(_COMPARE.value, images, _OUT.value)
    for name, mse in scores.items():
        print(f"{name}: reconstruction MSE {mse:.6f} on {len(images)} images of {source}")
    print(json.dumps({"images": source, "num_images": len(images), "recon_mse": scores}))
    print(f"wrote {_OUT.value}")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}; see --help", 2)
    if not _COMPARE.value:
        fail("pass --compare=RUN1,RUN2 (train VAE runs with experiments.run --config=mnist_vae)", 2)
    try:
        _compare()
    except UserError as e:
        fail(str(e), 2)


def run() -> None:
    run_app(main)


if __name__ == "__main__":
    run()
