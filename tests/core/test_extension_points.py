"""The GAN step's extension points: regularizer terms on either side (with lazy schedules and
state), the augmentation hook with state, and state that is checkpointed and resumed exactly."""

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from helpers import spec_state, tiny_config

from gan_jax import losses, models
from gan_jax.config import base_config, optimizer_config
from gan_jax.core import terms
from gan_jax.core.optim import make_optimizer
from gan_jax.core.spec import GANSpec, extensions_init
from gan_jax.core.step import make_train_step
from gan_jax.errors import ConfigError
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.tasks.gan import GANTask, train_and_evaluate

LR = 0.05


def _spec(loss="bce", **kw):
    model = ml_collections.ConfigDict(
        dict(
            name="mlp",
            latent_dim=2,
            g_width=8,
            d_width=8,
            num_layers=1,
            activation="leaky_relu",
            output="linear",
            num_classes=0,
            dtype="float32",
        )
    )
    stabilizers = base_config().stabilizers
    stabilizers.d_batchnorm = False  # D sees what the hook gives it, not a normalised copy
    g, d = models.build(model, (2,), stabilizers)
    opt = optimizer_config(lr=LR)
    opt.name = "sgd"
    tx = make_optimizer(opt, 10)
    return GANSpec(g, d, losses.get(loss), tx, tx, latent_dim=2, **kw)


def _batch(n=8):
    return {"x": (0.5 + 0.1 * np.random.default_rng(0).standard_normal((n, 2))).astype(np.float32)}


def _state(spec):
    return spec_state(spec, (2,)).replace(extensions=extensions_init(spec))


def test_orthogonality_is_bigans_penalty_and_its_gradient_the_reference_codes():
    rng = np.random.default_rng(0)
    params = {
        "dense": {"kernel": rng.normal(size=(5, 3)), "bias": rng.normal(size=3)},
        "conv": {"kernel": rng.normal(size=(2, 2, 4, 6))},
    }
    params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
    expected, grads = 0.0, {}
    for name in ("dense", "conv"):
        k = np.asarray(params[name]["kernel"], np.float64)
        w = k.reshape(-1, k.shape[-1]).T  # torch layout: one row per output unit
        off = sum(float(w[i] @ w[j]) ** 2 for i in range(len(w)) for j in range(len(w)) if i != j)
        expected += 0.5 * off
        gram = w @ w.T
        ref = 2.0 * (gram * (1.0 - np.eye(len(w)))) @ w  # BigGAN's utils.ortho gradient
        grads[name] = ref.T.reshape(k.shape)
    np.testing.assert_allclose(float(terms.orthogonality(params)), expected, rtol=1e-5)
    got = jax.grad(terms.orthogonality)(params)
    for name in ("dense", "conv"):
        np.testing.assert_allclose(got[name]["kernel"], grads[name], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got["dense"]["bias"], 0.0)  # biases are not penalised


def test_a_g_term_adds_its_weighted_gradient_to_gs_update_on_its_schedule():
    weight = 0.3
    plain, ortho = _spec(), _spec(g_terms=terms.make("g", "orthogonal", weight, 2))
    state = _state(plain)
    step_plain = jax.jit(make_train_step(plain))
    step_ortho = jax.jit(make_train_step(ortho))
    rng = jax.random.PRNGKey(1)
    a, _ = step_plain(state, _batch(), rng)
    b, metrics = step_ortho(state, _batch(), rng)
    # SGD: the difference is −lr · (weight · interval) · ∇ orthogonality(G's params at step 0).
    grad = jax.grad(terms.orthogonality)(state.g_params)
    for x, y, g in zip(*(jax.tree.leaves(t) for t in (a.g_params, b.g_params, grad)), strict=True):
        np.testing.assert_allclose(y - x, -LR * weight * 2 * g, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(metrics["g_penalty"], terms.orthogonality(state.g_params), 1e-5)
    c, skipped = step_ortho(b, _batch(), rng)  # step 1: not due
    assert float(skipped["g_penalty"]) == 0.0
    d, _ = step_plain(b, _batch(), rng)
    for x, y in zip(jax.tree.leaves(c.g_params), jax.tree.leaves(d.g_params), strict=True):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(jax.tree.leaves(a.d_params), jax.tree.leaves(b.d_params), strict=True):
        np.testing.assert_array_equal(x, y)  # D's update (before G's) is not touched


def _counting_term(weight, interval):
    """A D term with state: how many times it was computed, and the sum of its values."""

    def value(inputs, state):
        v = jnp.mean(jnp.square(inputs.real))
        return v, {"count": state["count"] + 1, "total": state["total"] + v}

    def init():
        return {"count": jnp.zeros((), jnp.int32), "total": jnp.zeros((), jnp.float32)}

    return terms.Term("counting", "d", weight, value, interval, init)


@dataclasses.dataclass(frozen=True)
class RealSum:
    """An augmentation with state, ADA-like: it scales D's inputs by `1 + p` and accumulates
    D's outputs on the real batch after each D update (what ADA's r_t is computed from)."""

    p: float = 0.0

    def init_state(self):
        return {"sum": jnp.zeros((), jnp.float32), "updates": jnp.zeros((), jnp.int32)}

    def apply(self, x, key, stream, uniform, state):
        return x * (1.0 + self.p)

    def update(self, state, real_logits, step):
        return {"sum": state["sum"] + jnp.sum(real_logits), "updates": state["updates"] + 1}

    def metrics(self, state):
        return {"aug_sum": state["sum"]}


def test_the_augmentation_hook_sees_ds_real_outputs_and_keeps_its_state():
    spec = _spec(loss="wgan", augment=RealSum())
    state = _state(spec)
    assert set(state.extensions) == {"augment"}
    step = jax.jit(make_train_step(spec))
    new, metrics = step(state, _batch(), jax.random.PRNGKey(0))
    # wgan: d_real is the mean raw output of D on the real batch, the hook got their sum.
    assert int(new.extensions["augment"]["updates"]) == 1
    np.testing.assert_allclose(metrics["aug_sum"], float(metrics["d_real"]) * 8, rtol=1e-5)
    twice, _ = jax.jit(make_train_step(dataclasses.replace(spec, n_critic=2)))(
        state, _batch(), jax.random.PRNGKey(0)
    )
    assert int(twice.extensions["augment"]["updates"]) == 2  # once per D update
    # The hook's apply is what D sees: p changes D's update.
    other, _ = jax.jit(make_train_step(dataclasses.replace(spec, augment=RealSum(p=1.0))))(
        state, _batch(), jax.random.PRNGKey(0)
    )
    kernel = lambda st: st.d_params["hidden0"]["kernel"]  # noqa: E731
    assert not np.allclose(kernel(other), kernel(new))


def test_a_stateful_term_is_lazy_checkpointed_and_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.setitem(terms._REGISTRY["d"], "counting", _counting_term)
    config = tiny_config("ring8")
    config.train.num_steps, config.train.checkpoint_every = 4, 2
    config.stabilizers.regularizer = "counting"
    config.stabilizers.regularizer_weight = 0.5
    config.stabilizers.regularizer_interval = 2
    for net in ("g_optimizer", "d_optimizer"):  # so that a 2-step run is the 4-step run's start
        config[net].schedule = "constant"
    train_and_evaluate(config, str(tmp_path / "full"))
    config.train.num_steps = 2
    train_and_evaluate(config, str(tmp_path / "resumed"))
    config.train.num_steps = 4
    train_and_evaluate(config, str(tmp_path / "resumed"))
    template = GANTask(config, str(tmp_path / "x")).init_state()
    states = []
    for run in ("full", "resumed"):
        checkpointer = Checkpointer(str(tmp_path / run), 3)
        states.append(checkpointer.restore(template, 4))
        checkpointer.close()
    counting = states[0].extensions["terms"]["counting"]
    assert int(counting["count"]) == 2 and float(counting["total"]) > 0  # steps 0 and 2
    for x, y in zip(jax.tree.leaves(states[0]), jax.tree.leaves(states[1]), strict=True):
        np.testing.assert_array_equal(x, y)


def test_unknown_terms_and_bad_weights_are_one_line_errors():
    with pytest.raises(ConfigError, match=r"g_regularizer='r1' is not valid; choose one of: none"):
        terms.make("g", "r1", 1.0, 1)
    with pytest.raises(ConfigError, match="regularizer_interval=0 must be >= 1"):
        terms.make("d", "r1", 1.0, 0)
    assert terms.make("d", "none", 1.0, 1) == ()
    with pytest.raises(ValueError, match="other side"):
        _spec(d_terms=terms.make("g", "orthogonal", 1.0, 1))
