"""The walkthrough configs train `:tiny`, and no config's default names a path of our build
machines (a user's defaults are TFDS names, built-in mixtures or a file they are told to pass)."""

import importlib
import os
import re

import numpy as np
import pytest
from helpers import ROOT, assert_trained, gan_initial_state, tiny_config, write_npz

from experiments import cli
from gan_jax.tasks.gan import train_and_evaluate

WALKTHROUGH_CONFIGS = {  # name -> the image shape of its data
    "digits_mnist": (28, 28, 1),
    "digits_celeba": (32, 32, 3),  # its 64-pixel net at 32 pixels (4 times cheaper to compile)
    "ocaml_mnist_dcgan": (28, 28, 1),
    "keras_dcgan": (28, 28, 1),
    "mlp_tutorial": (28, 28, 1),
}


@pytest.mark.parametrize("name", sorted(WALKTHROUGH_CONFIGS))
def test_walkthrough_config_trains_tiny(name, tmp_path):
    source = write_npz(tmp_path / "data.npz", WALKTHROUGH_CONFIGS[name], num_classes=10, n=16)
    size = WALKTHROUGH_CONFIGS[name][0]
    config = tiny_config(name, **{"data.source": source, "data.image_size": size})
    metrics = train_and_evaluate(config, str(tmp_path / "run"))
    assert metrics["step"] == 2 and np.isfinite(metrics["d_loss"] + metrics["g_loss"])
    assert (tmp_path / "run" / "samples" / "step_000002.png").exists()
    assert_trained(tmp_path / "run", gan_initial_state(config))


def _strings(tree, prefix=""):
    for key, value in tree.items():
        if hasattr(value, "items"):
            yield from _strings(value, f"{prefix}{key}.")
        elif isinstance(value, str):
            yield f"{prefix}{key}", value


BUILD_MACHINE = re.compile(r"\.\./|/work/|shared/data")


@pytest.mark.parametrize("name", cli.config_names())
def test_no_config_default_names_a_build_machine_path(name):
    with open(os.path.join(ROOT, "experiments", "configs", f"{name}.py")) as f:
        assert not BUILD_MACHINE.search(f.read()), name
    config = importlib.import_module(f"experiments.configs.{name}").get_config()
    for field, value in _strings(config):
        assert not BUILD_MACHINE.search(value) and not os.path.isabs(value), (name, field, value)
    source = config.get("data", {}).get("source") or ""
    assert source.partition(":")[0] in ("tfds", "npz", "folder", "ring8", "grid25", ""), source
