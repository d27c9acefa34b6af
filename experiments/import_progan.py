"""Import a published progressive-GAN generator into a gan_jax run folder.

    python -m experiments.import_progan --src=100_celeb_hq_network-snapshot-010403.pth \
        --workdir=runs/progan_celebahq        # the PyTorch port's state dict
    python -m experiments.import_progan --src=prog-gan.ot --workdir=runs/progan_celebahq

The folder holds config.json, model.json and checkpoints/0 with G's weights
(`gan_jax.progan.importer`); see docs/progan.md for sampling it. Bad input is a one-line error
(exit code 2) and writes nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags, logging  # noqa: E402

from experiments.cli import fail, run_app  # noqa: E402
from gan_jax.errors import UserError  # noqa: E402

_SRC = flags.DEFINE_string("src", None, "The generator's weights: a PyTorch .pth or an .ot file.")
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "The run folder to write (must hold no checkpoints)."
)
flags.mark_flags_as_required(["src", "workdir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}", 2)
    from gan_jax.progan.importer import write_run

    try:
        summary = write_run(_SRC.value, _WORKDIR.value)
    except UserError as e:
        fail(str(e), 2)
    logging.info(
        "Imported %s: %dx%d px from %d-d z, %s parameters -> %s",
        _SRC.value,
        summary["resolution"],
        summary["resolution"],
        summary["latent_dim"],
        f"{summary['params']:,}",
        _WORKDIR.value,
    )


if __name__ == "__main__":
    run_app(main)
