"""Helpers shared by the test modules: tiny configs and generated datasets (CI has no MNIST,
CelebA or anime faces), and GAN checkpoints written without training."""

import importlib
import os
import subprocess
import sys

import jax
import numpy as np

from gan_jax.config import base_config
from gan_jax.core import terms
from gan_jax.core.state import init_state
from gan_jax.data import make_source
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.runs.restore import checkpoint_steps, read_subtrees
from gan_jax.runs.run_files import save_run_files
from gan_jax.tasks.gan import build_spec, create_state

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(module, *args, env=None, timeout=300):
    """`python -m module args` from the repository root on CPU with fast compiles; `env` adds
    or overrides environment variables. Returns the CompletedProcess (text output captured)."""
    environ = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "JAX_DISABLE_MOST_OPTIMIZATIONS": "1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


CONFIGS = [
    "ring8",
    "grid25",
    "mnist_mlp",
    "mnist_dcgan",
    "mnist_cgan",
    "celeba64",
    "anime64_ralsgan",
    "anime128_ralsgan",
]


def tiny_config(name: str, **overrides):
    config = importlib.import_module(f"experiments.configs.{name}").get_config("tiny")
    config.num_devices = 1
    for key, value in overrides.items():
        node = config
        *path, leaf = key.split(".")
        for part in path:
            node = node[part]
        node[leaf] = value
    return config


def write_npz(path, shape, num_classes=0, n=32, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"x_train": rng.integers(0, 256, (n, *shape), dtype=np.uint8)}
    if num_classes:
        arrays["y_train"] = np.arange(n) % num_classes
    np.savez(path, **arrays)
    return f"npz:{path}"


def image_source(name, tmp_path):
    """A generated npz that fits the config's data (CI has no MNIST/CelebA/anime faces)."""
    shapes = {
        "mnist_mlp": (28, 28, 1),
        "mnist_dcgan": (28, 28, 1),
        "mnist_cgan": (28, 28, 1),
        "celeba64": (80, 70, 3),
        "anime64_ralsgan": (64, 64, 3),
        "anime128_ralsgan": (64, 64, 3),
    }
    return write_npz(tmp_path / "data.npz", shapes[name], num_classes=10)


def write_checkpoint(name, workdir, data_dir, transform=None, **overrides):
    """A `name:tiny` run folder in `workdir` with the initial state saved as step 0: the files
    training writes, in seconds (no train step is compiled). `transform(state)`, if given,
    changes the state before it is saved. Returns (config, spec, saved state)."""
    if name not in ("ring8", "grid25") and "data.source" not in overrides:
        os.makedirs(data_dir, exist_ok=True)
        overrides["data.source"] = image_source(name, data_dir)
    config = tiny_config(name, **overrides)
    source = make_source(config.data)
    spec = build_spec(config, source.data_shape)
    state = create_state(spec, source.data_shape, config.seed)
    if transform is not None:
        state = transform(state)
    os.makedirs(workdir, exist_ok=True)
    save_run_files(config, str(workdir), source.data_shape, config.model.num_classes)
    checkpointer = Checkpointer(str(workdir), 1)
    checkpointer.save(0, state)
    checkpointer.close()
    return config, spec, state


def d_terms(name, scale, interval=1):
    """`GANSpec.d_terms` of D regularizer `name` ('r1' | 'gp') whose factor in D's loss on the
    steps it is due is `scale` (the config's weight times the interval, halved for R1)."""
    weight = 2.0 * scale / interval if name == "r1" else scale / interval
    return terms.make("d", name, weight, interval)


def data_config(source, **kw):
    """The default `data` block with `source` and the given fields set."""
    c = base_config().data
    c.source = source
    for k, v in kw.items():
        c[k] = v
    return c


def spec_state(spec, data_shape, num_classes=0, ema=False):
    """`init_state` for a GANSpec's networks and optimizers, from PRNGKey(0)."""
    return init_state(
        jax.random.PRNGKey(0),
        spec.generator,
        spec.discriminator,
        spec.g_tx,
        spec.d_tx,
        spec.latent_dim,
        data_shape,
        num_classes,
        ema=ema,
    )


class FakeNet:
    """A fixed random projection standing in for a feature network (features and 10 logits)."""

    def __init__(self, dim: int):
        self.w = np.random.default_rng(1).normal(size=(dim, 16)).astype(np.float32)

    def apply(self, images):
        feats = images.reshape(len(images), -1) @ self.w
        return {"features": feats, "logits": feats[:, :10]}


def gan_initial_state(config):
    """The state `train_and_evaluate(config, ...)` starts a new run from, as host arrays."""
    source = make_source(config.data)
    spec = build_spec(config, source.data_shape)
    return jax.device_get(create_state(spec, source.data_shape, config.seed))


def _arrays(tree) -> dict:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in flat}


def assert_trained(workdir, initial, nets=("g_params", "d_params")):
    """Every parameter array of the networks `nets` (state fields) in `workdir`'s latest
    checkpoint differs from `initial`, the state the run's task starts from: a train step that
    updates nothing, or leaves a network or one of its layers alone, fails."""
    step = checkpoint_steps(str(workdir))[-1]
    saved = read_subtrees(str(workdir), step, lambda _: list(nets))
    for net in nets:
        before, after = _arrays(getattr(initial, net)), _arrays(saved[net])
        assert before and before.keys() == after.keys(), net
        unchanged = [key for key in before if np.array_equal(before[key], after[key])]
        assert not unchanged, f"{net} at step {step} still as initialised: {unchanged}"
