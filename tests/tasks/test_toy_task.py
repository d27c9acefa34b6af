"""A new model family and a new task, each defined in this file and registered from here, with
no edit anywhere else: the task trains through `experiments.run`'s entry (`gan_jax.tasks`),
resumes bit-exactly, and its generator samples through `gan_jax.load`."""

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from flax import struct

import gan_jax
from gan_jax import models, tasks
from gan_jax.config import base_config, optimizer_config
from gan_jax.core.optim import make_optimizer
from gan_jax.errors import ConfigError
from gan_jax.models import family
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.runs.export import GeneratorExport
from gan_jax.tasks.base import TaskBase

SHARED_DEFAULTS = {name: field.default for name, field in family.SHARED.items()}


# -- the family: a ~20-line network and its schema ---------------------------------------------
class ToyGenerator(nn.Module):
    """G(z) = W₂ tanh(W₁ z + b₁) + b₂: width·(latent + 1) + dim·(width + 1) parameters."""

    dim: int
    width: int

    @nn.compact
    def __call__(self, z, labels=None, train=True):
        return nn.Dense(self.dim)(jnp.tanh(nn.Dense(self.width)(z)))


class ToyDiscriminator(nn.Module):
    width: int

    @nn.compact
    def __call__(self, x, labels=None, train=True):
        return nn.Dense(1)(jnp.tanh(nn.Dense(self.width)(x)))[:, 0]


def build_toy(block, data_shape, dtype, opts):
    """The family's builder: (G, D) with `model.hidden` units."""
    return ToyGenerator(data_shape[0], block.hidden), ToyDiscriminator(block.hidden)


TOY = family.Family(
    "toy_mlp", {"hidden": family.Field(3, "hidden units of G and D")}, build_toy, "A toy."
)


# -- the task: its state, its step, its config --------------------------------------------------
class ToyState(struct.PyTreeNode):
    step: jax.Array
    params: dict  # named on purpose unlike the GAN's g_params: the export says where G is
    opt_state: optax.OptState


class ToyTask(TaskBase):
    """G learns the data's mean and spread by moment matching (no discriminator)."""

    title = "Toy"
    finite_metrics = ("loss",)

    def __init__(self, config, workdir):
        super().__init__(config, workdir)
        self.source = self.open_source()
        self.data_shape = tuple(self.source.data_shape)
        self.generator, _ = models.build(config.model, self.data_shape)
        self.tx = make_optimizer(config.optimizer, config.train.num_steps)
        self.runner = self.make_runner(lambda *_: self._step)

    def _step(self, state, batch, rng):
        z = jax.random.normal(jax.random.fold_in(rng, state.step), (batch["x"].shape[0], 2))

        def loss_fn(params):
            fake = self.generator.apply({"params": params}, z)
            mean = jnp.sum((fake.mean(0) - batch["x"].mean(0)) ** 2)
            return mean + jnp.sum((fake.std(0) - batch["x"].std(0)) ** 2)

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        updates, opt_state = self.tx.update(grads, state.opt_state, state.params)
        new = ToyState(state.step + 1, optax.apply_updates(state.params, updates), opt_state)
        return new, {"loss": loss}

    def init_state(self):
        params = self.generator.init(jax.random.PRNGKey(self.config.seed), jnp.zeros((1, 2)))
        params = params["params"]
        return ToyState(jnp.zeros((), jnp.int32), params, self.tx.init(params))

    def networks(self, state):
        return {"generator": state.params}

    def pictures(self, step, state, writer):
        return {}

    def generator_export(self):
        return GeneratorExport("params", None)


def toy_config():
    c = ml_collections.ConfigDict()
    c.task, c.seed, c.num_devices = "toy", 0, 1
    c.model = base_config().model
    c.model.update(name="toy_mlp", latent_dim=2, hidden=6)
    c.data = base_config().data
    c.data.batch_size = 16
    c.optimizer = optimizer_config(lr=0.05)
    c.train = ml_collections.ConfigDict(
        dict(
            num_steps=4,
            log_every=1,
            sample_every=2,
            checkpoint_every=2,
            keep_checkpoints=3,
            num_samples=8,
        )
    )
    return c


@pytest.fixture
def registered():
    family.register(TOY)
    tasks.register("toy", ToyTask)
    yield
    family.unregister(TOY.name)
    tasks.unregister("toy")


def _final_state(workdir, config):
    template = ToyTask(config, str(workdir)).init_state()
    checkpointer = Checkpointer(str(workdir), 3)
    try:
        return template, checkpointer.restore(template, 4)
    finally:
        checkpointer.close()


def test_a_family_and_a_task_from_one_file_train_resume_and_load(registered, tmp_path):
    config = toy_config()
    metrics = tasks.train(config, str(tmp_path / "straight"))
    assert metrics["step"] == 4 and np.isfinite(metrics["loss"])
    config.train.num_steps = 2
    tasks.train(config, str(tmp_path / "resumed"))
    config.train.num_steps = 4
    tasks.train(config, str(tmp_path / "resumed"))

    with open(tmp_path / "straight" / "config.json") as f:
        assert json.load(f)["model"] == {
            **SHARED_DEFAULTS,
            "name": "toy_mlp",
            "latent_dim": 2,
            "hidden": 6,
        }  # the family's fields, nothing else
    initial, straight = _final_state(tmp_path / "straight", config)
    _, resumed = _final_state(tmp_path / "resumed", config)
    assert int(straight.step) == 4
    for x, y in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed), strict=True):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(jax.tree.leaves(initial.params), jax.tree.leaves(straight.params), strict=True):
        assert not np.array_equal(x, y)  # it trained

    g = gan_jax.load(str(tmp_path / "straight"))
    assert g.step == 4 and g.data_shape == (2,)
    z = np.random.default_rng(1).standard_normal((5, 2)).astype(np.float32)
    expected = ToyGenerator(2, 6).apply({"params": straight.params}, jnp.asarray(z))
    np.testing.assert_allclose(g.sample(z=z), np.asarray(expected), rtol=1e-6)


def test_another_familys_field_is_refused_naming_its_owner(registered, tmp_path):
    config = toy_config()
    config.model.num_layers = 2
    with pytest.raises(
        ConfigError,
        match=r"model.num_layers=2 belongs to model.name='mlp', not "
        "'toy_mlp'",
    ):
        tasks.train(config, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
