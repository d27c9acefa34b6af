"""Test setup: two fake CPU devices (for pmap/sharded checks), gan_jax's XLA:CPU flags and fast
compiles.

Must run before jax initialises its backends, which is why it lives in conftest. `import gan_jax`
no longer sets the XLA:CPU flags, so they are applied here, as the `experiments` commands do: the
suite's speed depends on them (Eigen convolutions), and subprocesses inherit them.
"""

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
).strip()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from gan_jax.platform import configure_cpu  # noqa: E402

configure_cpu()

import jax  # noqa: E402

jax.config.update("jax_disable_most_optimizations", True)
jax.config.update("jax_platforms", "cpu")

import hashlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def tree_digest(directory) -> str:
    """A hash of every file (path and bytes) under `directory`."""
    digest = hashlib.sha256()
    for base, _, files in sorted(os.walk(directory)):
        for name in sorted(files):
            path = os.path.join(base, name)
            digest.update(os.path.relpath(path, directory).encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory):
    """48 generated 28x28 'digits' with labels 0..9 and a 2-column attribute matrix."""
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    rng = np.random.default_rng(0)
    n = 48
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8),
        y_train=np.arange(n) % 10,
        attributes=np.stack([np.arange(n) % 2, np.arange(n) // 24], axis=1),
        attribute_names=np.array(["Odd", "Second_Half"]),
    )
    return path


@pytest.fixture(scope="session")
def cgan_run(tmp_path_factory, digits_npz):
    """A tiny conditional DCGAN run (mnist_cgan:tiny, 2 steps) trained sharded over the two fake
    devices, so its checkpoint records a 2-device layout."""
    from helpers import tiny_config

    from gan_jax.tasks.gan import train_and_evaluate

    workdir = tmp_path_factory.mktemp("cgan_run")
    config = tiny_config("mnist_cgan", num_devices=2, **{"data.source": f"npz:{digits_npz}"})
    train_and_evaluate(config, str(workdir))
    return workdir


@pytest.fixture(scope="session")
def cgan_encoder(tmp_path_factory, cgan_run):
    """An encoder run for `cgan_run`, trained by the real command line (2 steps). Returns
    (encoder workdir, digest of the GAN run's checkpoints before the encoder trained)."""
    workdir = tmp_path_factory.mktemp("cgan_encoder")
    before = tree_digest(cgan_run / "checkpoints")
    from helpers import run_module

    result = run_module(
        "experiments.run",
        "--config=mnist_cgan_encoder:tiny",
        f"--config.generator_workdir={cgan_run}",
        f"--workdir={workdir}",
        "--compilation_cache=",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, before
