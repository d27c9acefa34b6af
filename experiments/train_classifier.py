"""Train (once) the domain classifier that scores GANs on a labelled dataset, and cache it.

    python -m experiments.train_classifier --config=mnist_dcgan \
        --config.data.source=npz:PATH/mnist.npz
    python -m experiments.train_classifier --config=mnist_cgan --steps=500 --force

The classifier depends only on the config's `data` section (source, image size, crop, channels,
labels) and the flags below. A second call finds it in the cache (`gan_jax.platform.cache`)
and returns at once; `--force` retrains. Prints the held-out accuracy and the cache folder.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from experiments.cli import fail, run_app  # noqa: E402
from gan_jax.errors import UserError  # noqa: E402
from gan_jax.feature_nets.classifier_model import ClassifierSettings  # noqa: E402

_DEFAULTS = ClassifierSettings()
_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "Config name (e.g. mnist_dcgan) or path, optionally with :ARG.",
    lock_config=True,
)
_STEPS = flags.DEFINE_integer("steps", _DEFAULTS.steps, "Training steps.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", _DEFAULTS.batch_size, "Training batch size.")
_FORCE = flags.DEFINE_bool("force", False, "Retrain even when the cache has this classifier.")
_CACHE = flags.DEFINE_string("cache", "", "Folder of classifier entries ('' = the default).")
flags.mark_flags_as_required(["config"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}; overrides look like --config.data.source=...", 2)
    import dataclasses

    from gan_jax.data import validate as validate_data
    from gan_jax.feature_nets.classifier import get_classifier

    config = _CONFIG.value
    settings = dataclasses.replace(_DEFAULTS, steps=_STEPS.value, batch_size=_BATCH_SIZE.value)
    try:
        validate_data(config.data)
        clf = get_classifier(
            config.data, cache=_CACHE.value or None, settings=settings, force=_FORCE.value
        )
    except UserError as e:
        fail(str(e), 2)
    info = clf.info
    if clf.from_cache:
        print(f"cache hit: {clf.path} (trained {info['created']})")
    else:
        print(
            f"trained {info['steps']} steps (batch {info['batch_size']}) on "
            f"{info['train_examples']} examples in {info['train_seconds']:.1f} s"
        )
    print(
        f"held-out accuracy {clf.accuracy:.2%} on {info['held_out_examples']} examples "
        f"({info['held_out']}); {clf.num_classes} classes, images "
        f"{'x'.join(map(str, clf.data_shape))}"
    )
    print(f"classifier: {clf.path}", flush=True)


def run() -> None:
    run_app(main)


if __name__ == "__main__":
    run()
