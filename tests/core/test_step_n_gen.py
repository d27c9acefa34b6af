"""train.n_gen: G updates n_gen times per step (after D), equal to the updates done by hand, and
the same on 2 devices (pmap, sharded) as on 1; the latent prior reaches the step's noise."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from helpers import spec_state

from gan_jax import losses, models
from gan_jax.config import optimizer_config
from gan_jax.core import updates
from gan_jax.core.optim import make_optimizer
from gan_jax.core.spec import GANSpec
from gan_jax.core.step import make_train_step
from gan_jax.errors import ConfigError
from gan_jax.training.parallel import Runner

LR = 0.1


def _spec(n_gen=1, prior="normal", n_critic=1):
    model = ml_collections.ConfigDict(
        dict(name="mlp", latent_dim=4, g_width=8, d_width=8, num_layers=1, output="linear")
    )
    model.latent_prior = prior
    g, d = models.build(model, (2,))
    opt = optimizer_config(lr=LR)
    opt.name = "sgd"
    tx = make_optimizer(opt, 10)
    return GANSpec(g, d, losses.get("bce"), tx, tx, 4, n_critic=n_critic, n_gen=n_gen)


def _x(seed=0):
    return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, (8, 2)), jnp.float32)


def test_n_gen_equals_generator_updates_done_by_hand():
    """One D update, then two SGD updates of G against that D, each from the previous G, with
    z ~ U[-1, 1] from the step's documented keys. G's kernels start at zero, so D's update
    does not depend on its noise."""
    spec = _spec(n_gen=2, prior="uniform")
    s0 = spec_state(spec, (2,))
    g = jax.tree.map(jnp.zeros_like, s0.g_params)
    g["hidden0"]["bias"] = jnp.full_like(g["hidden0"]["bias"], 0.5)
    g["to_data"]["bias"] = jnp.array([0.3, -0.2])
    s0 = s0.replace(g_params=g)
    x, loss, D, G = _x(), spec.loss, spec.discriminator, spec.generator

    step_key = jax.random.fold_in(jax.random.PRNGKey(0), 0)  # the run key folded with the step
    g_keys = jax.random.split(jax.random.fold_in(step_key, 1), 2)
    zs = [
        jax.random.uniform(jax.random.split(k)[0], (8, 4), minval=-1.0, maxval=1.0) for k in g_keys
    ]

    def fakes(g_params, z=None):
        return G.apply({"params": g_params}, jnp.zeros((8, 4)) if z is None else z, None)

    def d_loss(d_params):
        return loss.discriminator_loss(
            D.apply({"params": d_params}, x), D.apply({"params": d_params}, fakes(g))
        )

    def g_loss(g_params, d_params, z):
        return loss.generator_loss(None, D.apply({"params": d_params}, fakes(g_params, z)))

    d_params = jax.tree.map(lambda p, gr: p - LR * gr, s0.d_params, jax.grad(d_loss)(s0.d_params))
    g_params, values = g, []
    for z in zs:
        value, grads = jax.value_and_grad(g_loss)(g_params, d_params, z)
        values.append(float(value))
        g_params = jax.tree.map(lambda p, gr: p - LR * gr, g_params, grads)

    state, metrics = jax.jit(make_train_step(spec))(s0, {"x": x}, jax.random.PRNGKey(0))
    for a, b in zip(jax.tree.leaves(state.g_params), jax.tree.leaves(g_params), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    for a, b in zip(jax.tree.leaves(state.d_params), jax.tree.leaves(d_params), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(float(metrics["g_loss"]), values[-1], rtol=1e-6)  # the last
    assert values[0] != values[1]  # the second update started from the first one's result


def _run(spec, mode, devices):
    runner = Runner(spec, mode, devices)
    state = runner.place_state(spec_state(spec, (2,)))
    rng = runner.place_rng(jax.random.PRNGKey(7))
    for i in range(3):
        state, metrics = runner.step(state, runner.place_batch({"x": np.asarray(_x(i))}), rng)
    return jax.device_get(runner.host_state(state)), runner.host_metrics(metrics)


@pytest.mark.skipif(jax.device_count() < 2, reason="needs 2 (fake) CPU devices")
@pytest.mark.parametrize("mode", ["pmap", "sharded"])
def test_n_gen_on_two_devices_matches_one(mode):
    spec = _spec(n_gen=3, prior="uniform", n_critic=2)
    one, m1 = _run(spec, "sharded", jax.devices()[:1])
    two, m2 = _run(spec, mode, jax.devices()[:2])
    for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    for k in m1:
        np.testing.assert_allclose(m1[k], m2[k], rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("n_gen", [0, 1.5])
def test_bad_n_gen_is_a_config_error(n_gen):
    with pytest.raises(ConfigError, match="train.n_gen"):
        _spec(n_gen=n_gen)


def test_the_step_draws_z_from_the_generators_prior(monkeypatch):
    """Every z the step gives G (D's update and both of G's), seen through a debug callback."""
    seen = []
    real_generate = updates.generate

    def spy(generator, params, stats, z, labels):
        jax.debug.callback(lambda v: seen.append(np.asarray(v)), z)
        return real_generate(generator, params, stats, z, labels)

    monkeypatch.setattr(updates, "generate", spy)
    spec = _spec(n_gen=2, prior="uniform")
    out = jax.jit(make_train_step(spec))(spec_state(spec, (2,)), {"x": _x()}, jax.random.PRNGKey(0))
    jax.block_until_ready(out)
    z = np.concatenate([v.reshape(-1) for v in seen])
    assert len(seen) >= 3 and z.size >= 3 * 32  # D's update and both of G's
    assert z.min() >= -1 and z.max() <= 1 and abs(z.std() - 1 / np.sqrt(3)) < 0.1  # U[-1, 1]
