"""Train a GAN.

    python -m experiments.run --config=ring8 --workdir=runs/ring8
    python -m experiments.run --config=celeba64 --workdir=runs/c64 --config.loss=ralsgan
    python -m experiments.run --config=experiments/configs/mnist_dcgan.py:tiny --workdir=/tmp/t

`--config` takes a config name from experiments/configs (`ring8`), or a path to a config file;
either may end in `:ARG` (a variant such as `tiny`). `--config.FIELD=VALUE` overrides any field.
Rerunning the same command on the same workdir resumes from the latest checkpoint; SIGTERM or
Ctrl-C saves a checkpoint first (exit status 143/130; docs/runs.md lists them all). A config's
`task` picks what is trained (`gan_jax.tasks`): a GAN (no task), an encoder for the
generator of `--config.generator_workdir=W` (`mnist_cgan_encoder`, `celeba64_encoder`), a VAE or
VAE/GAN (`mnist_vae`, `mnist_vaegan`, `faces_vae`, `faces_vaegan`) or a progressive-growing GAN
(`progan_anime64`).

Multi-host (one process per host or GPU, same command on each; see launch/ and
`gan_jax.platform.distributed`): under SLURM or Open MPI the processes join on their own;
elsewhere pass `--coordinator=HOST0:PORT --num_processes=N --process_id=I` (or
`--distributed=on` on a TPU pod).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF (data loading, TensorBoard) C++ chatter
# TF only writes TensorBoard events and reads TFDS here; its oneDNN banner is noise.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from absl import flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from experiments.cli import exit_on_errors, fail, run_app  # noqa: E402
from gan_jax.errors import UserError  # noqa: E402
from gan_jax.platform import distributed  # noqa: E402
from gan_jax.platform.cache import cache_dir  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "Config name (e.g. ring8) or path to a config .py, optionally with :ARG.",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and samples.")
_CACHE = flags.DEFINE_string(
    "compilation_cache",
    cache_dir("xla"),
    "Persistent XLA compilation cache directory ('' disables it).",
)
_DISTRIBUTED = flags.DEFINE_enum(
    "distributed",
    "auto",
    list(distributed.MODES),
    "Join a multi-process run: auto (when the flags below, SLURM or Open MPI say so), on (JAX "
    "detects the cluster, e.g. a TPU pod), off.",
)
_COORDINATOR = flags.DEFINE_string(
    "coordinator", None, "HOST:PORT of process 0 for a multi-process run (same on every process)."
)
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Processes in a multi-process run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index, 0..N-1.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}; overrides look like --config.loss=ralsgan", 2)
    try:  # before anything touches a JAX backend
        joined = distributed.initialize(
            _DISTRIBUTED.value, _COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value
        )
    except UserError as e:
        fail(str(e), 2)
    if joined:
        logging.info("Multi-process run: %s", distributed.describe())
        if not distributed.is_primary():  # one copy of the run's log; warnings from all
            logging.set_verbosity(logging.WARNING)
    import jax

    if _CACHE.value:
        jax.config.update("jax_compilation_cache_dir", _CACHE.value)
    from gan_jax import tasks
    from gan_jax.models import family

    config = _CONFIG.value
    overrides = config_flags.get_override_values(flags.FLAGS["config"])
    if "model.name" in overrides and "model" in config:  # a family switch on the command line
        with exit_on_errors():
            dropped = family.switched(config.model, {k[6:] for k in overrides if k[:6] == "model."})
        if dropped:
            logging.info("model.name=%s: unset the config file's %s", config.model.name, dropped)
    with exit_on_errors():  # an unknown config.task too
        train = tasks.trainer(config.get("task"))
    with exit_on_errors():  # exit statuses: experiments/cli.py, docs/runs.md
        metrics = train(config, os.path.expanduser(_WORKDIR.value))
    logging.info("Final metrics: %s", metrics)


def run() -> None:
    run_app(main)


if __name__ == "__main__":
    run()
