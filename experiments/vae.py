"""Train a VAE or VAE/GAN (the Torch faces post), or compare trained ones side by side.

    python -m experiments.vae --config=mnist_vae --workdir=runs/mnist_vae
    python -m experiments.vae --config=mnist_vaegan --workdir=runs/mnist_vaegan
    python -m experiments.vae --compare=runs/mnist_vae,runs/mnist_vaegan \
        --images=tfds:mnist:test --out=vae_vs_vaegan.png

Training takes the configs with `task = 'vae'` (`mnist_vae`, `mnist_vaegan`, `faces_vae`,
`faces_vaegan`) and resumes like `experiments.run`; the run folders are read by `gan_jax.load`
and `python -m experiments.evaluate --workdir=W` like GAN runs. `--compare` writes one PNG
(inputs, reconstructions and samples of every run, from the same images and z) and prints each
run's reconstruction MSE over `--num_images` images of `--images` (a data source; default: the
first run's training source).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from absl import flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from experiments.cli import fail, run_app  # noqa: E402
from gan_jax.config import VAE_TASK  # noqa: E402
from gan_jax.errors import TrainingDiverged, UserError  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "A VAE config name (e.g. mnist_vae) or path, optionally with :ARG.",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and samples.")
_COMPARE = flags.DEFINE_list("compare", None, "Run folders to compare (instead of training).")
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
    try:
        if _COMPARE.value:
            _compare()
            return
        config = _CONFIG.value
        if config is None or _WORKDIR.value is None:
            fail("pass --config=NAME and --workdir=DIR to train, or --compare=RUN1,RUN2", 2)
        if config.get("task") != VAE_TASK:
            fail(
                f"--config is not a VAE config (task {config.get('task')!r}); use "
                "mnist_vae, mnist_vaegan, faces_vae or faces_vaegan, or experiments.run for GANs",
                2,
            )
        from gan_jax.vae.task import train_vae

        metrics = train_vae(config, _WORKDIR.value)
    except UserError as e:
        fail(str(e), 2)
    except TrainingDiverged as e:
        fail(str(e), 1)
    logging.info("Final metrics: %s", metrics)


def run() -> None:
    run_app(main)


if __name__ == "__main__":
    run()
