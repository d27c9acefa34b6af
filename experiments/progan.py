"""Train a progressive-growing GAN (`config.task = 'progan'`, gan_jax.progan).

    python -m experiments.progan --config=progan_anime64 --workdir=runs/progan64 \
        --config.data.source=npz:PATH/anime_faces.npz

`--config` and `--config.FIELD=VALUE` work as in `experiments.run`; rerunning the same command
on the same workdir resumes from the latest checkpoint, inside a fade-in too.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from absl import flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from experiments.cli import fail, run_app  # noqa: E402
from gan_jax.errors import TrainingDiverged, UserError  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "Config name (e.g. progan_anime64) or path, optionally with :ARG.",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and samples.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}; overrides look like --config.data.source=...", 2)
    from gan_jax.progan.task import train_progan

    try:
        metrics = train_progan(_CONFIG.value, _WORKDIR.value)
    except UserError as e:
        fail(str(e), 2)
    except TrainingDiverged as e:
        fail(str(e), 1)
    logging.info("Final metrics: %s", metrics)


if __name__ == "__main__":
    run_app(main)
