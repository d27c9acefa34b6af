"""The train step: multi-device paths reproduce 1 device; divergence is caught; n_critic and
steps_per_dispatch equal their hand-composed single steps; it is a pure function of its inputs."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from helpers import spec_state

from gan_jax import losses, models
from gan_jax.config import optimizer_config
from gan_jax.core.optim import make_optimizer
from gan_jax.core.spec import GANSpec
from gan_jax.core.state import DISCRIMINATOR
from gan_jax.core.step import make_multi_step, make_train_step
from gan_jax.training.parallel import Runner

pytestmark = pytest.mark.skipif(jax.device_count() < 2, reason="needs 2 (fake) CPU devices")


def _spec(name="mlp", loss="bce", data_shape=(2,), num_classes=0, n_critic=1, lr=0.1, **kw):
    fields = dict(name=name, latent_dim=4, g_width=8, d_width=8, num_classes=num_classes)
    if name == "mlp":
        fields.update(num_layers=2, output="linear" if len(data_shape) == 1 else "tanh")
    model = ml_collections.ConfigDict(fields)
    g, d = models.build(model, data_shape)
    # SGD, not Adam: Adam's first steps are ~sign(grad), which amplifies float round-off of tiny
    # gradients and hides gradient-scale bugs; SGD exposes both.
    opt = optimizer_config(lr=lr)
    opt.name = "sgd"
    return GANSpec(
        g,
        d,
        losses.get(loss),
        make_optimizer(opt, 10),
        make_optimizer(opt, 10),
        latent_dim=4,
        num_classes=num_classes,
        n_critic=n_critic,
        **kw,
    )


def _state(spec, data_shape):
    return spec_state(spec, data_shape, spec.num_classes, ema=spec.ema_decay > 0)


def _batches(data_shape, n=3, batch=8, num_classes=0):
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        b = {"x": rng.uniform(-1, 1, (batch, *data_shape)).astype(np.float32)}
        if num_classes:
            b["y"] = rng.integers(0, num_classes, batch).astype(np.int32)
        out.append(b)
    return out


def _run(spec, data_shape, mode, devices, batches):
    runner = Runner(spec, mode, devices)
    state = runner.place_state(_state(spec, data_shape))
    rng = runner.place_rng(jax.random.PRNGKey(7))
    for b in batches:
        state, metrics = runner.step(state, runner.place_batch(b), rng)
    return jax.device_get(runner.host_state(state)), runner.host_metrics(metrics)


def _assert_close(a, b, atol):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=atol)


@pytest.mark.parametrize("loss", ["bce", "ralsgan", "rahinge"])
@pytest.mark.parametrize("mode", ["pmap", "sharded"])
def test_two_devices_match_one_device_without_batchnorm(mode, loss):
    # Relativistic losses use batch means, so they only match if logits are gathered globally.
    spec, shape = _spec(loss=loss), (2,)
    batches = _batches(shape)
    one, m1 = _run(spec, shape, "sharded", jax.devices()[:1], batches)
    two, m2 = _run(spec, shape, mode, jax.devices()[:2], batches)
    _assert_close(one.g_params, two.g_params, 1e-5)
    _assert_close(one.d_params, two.d_params, 1e-5)
    for k in m1:
        np.testing.assert_allclose(m1[k], m2[k], rtol=1e-5, atol=1e-6)
    assert int(two.step) == len(batches)


def test_conditional_two_devices_match_one_device():
    spec, shape = _spec(num_classes=3), (2,)
    batches = _batches(shape, num_classes=3)
    one, _ = _run(spec, shape, "sharded", jax.devices()[:1], batches)
    two, _ = _run(spec, shape, "pmap", jax.devices()[:2], batches)
    _assert_close(one.g_params, two.g_params, 1e-5)


def test_sharded_matches_one_device_with_batchnorm():
    # jit over a sharded batch computes BatchNorm statistics over the global batch.
    shape = (28, 28, 1)
    spec = _spec(name="dcgan", data_shape=shape, lr=1e-3)
    batches = _batches(shape, n=2)
    one, _ = _run(spec, shape, "sharded", jax.devices()[:1], batches)
    two, _ = _run(spec, shape, "sharded", jax.devices()[:2], batches)
    _assert_close(one.g_params, two.g_params, 1e-4)
    _assert_close(one.d_batch_stats, two.d_batch_stats, 1e-4)


def test_pmap_batchnorm_is_per_device():
    # Documented difference: under pmap each device normalizes its own shard.
    shape = (28, 28, 1)
    spec = _spec(name="dcgan", data_shape=shape, lr=1e-3)
    batches = _batches(shape, n=1)
    one, _ = _run(spec, shape, "sharded", jax.devices()[:1], batches)
    two, _ = _run(spec, shape, "pmap", jax.devices()[:2], batches)
    diff = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(jax.tree.leaves(one.d_params), jax.tree.leaves(two.d_params), strict=True)
    )
    assert diff > 1e-6


def test_multi_step_equals_repeated_single_steps():
    # Every stabilizer that keeps state (EMA, skip counts, adaptive L2 weight), so that every
    # leaf of the state and every metric is compared.
    band = ml_collections.ConfigDict(
        dict(l2_band_low=0.1, l2_band_high=0.2, l2_step=0.01, l2_max=1.0)
    )
    # skip_rule 'both': G's update is skipped in some steps but not all (the machinery is the
    # same for either rule; the rules themselves are tested in test_stabilizers).
    spec = _spec(ema_decay=0.5, skip_margin=0.33, skip_rule="both", adaptive_l2=band)
    shape = (2,)
    batches = _batches(shape, n=4)
    step = jax.jit(make_train_step(spec))
    rng = jax.random.PRNGKey(3)
    state = _state(spec, shape)
    singles = []
    for b in batches:
        state, m = step(state, b, rng)
        singles.append(m)
    stacked = {"x": np.stack([b["x"] for b in batches])}
    multi_state, metrics = jax.jit(make_multi_step(make_train_step(spec)))(
        _state(spec, shape), stacked, rng
    )
    assert jax.tree.structure(multi_state) == jax.tree.structure(state)
    _assert_close(state, multi_state, 1e-6)
    assert int(multi_state.step) == 4
    assert set(metrics) == set(singles[0])
    for k in singles[0]:
        mean = np.mean([float(m[k]) for m in singles])
        np.testing.assert_allclose(float(metrics[k]), mean, rtol=1e-6, atol=1e-7, err_msg=k)
    # The per-step values differ, so the mean is not the first or last step's value, and G's
    # update was skipped in some steps but not all (D too bad at first).
    assert len({float(m["d_loss"]) for m in singles}) == 4
    assert 0 < int(multi_state.g_skips) < 4


def test_step_changes_both_networks_and_uses_fresh_noise_each_step():
    spec, shape = _spec(), (2,)
    step = jax.jit(make_train_step(spec))
    state0 = _state(spec, shape)
    b = _batches(shape, n=1)[0]
    rng = jax.random.PRNGKey(0)
    s1, m1 = step(state0, b, rng)
    s2, m2 = step(s1, b, rng)
    for a, c in [(state0.g_params, s1.g_params), (state0.d_params, s1.d_params)]:
        assert any(
            not np.allclose(x, y)
            for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(c), strict=True)
        )
    assert float(m1["d_fake"]) != float(m2["d_fake"])  # new z (folded step) and new params
    assert {"d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"} <= set(m1)
    assert 0.0 <= float(m1["d_real"]) <= 1.0  # bce is logistic: reported as a probability


def _count(opt_state):
    """The optimizer's update counter (the learning-rate schedule's `count`)."""
    leaves = jax.tree_util.tree_flatten_with_path(opt_state)[0]
    (count,) = {int(v) for path, v in leaves if "count" in jax.tree_util.keystr(path)}
    return count


@pytest.mark.parametrize("n_critic", [1, 3])
def test_n_critic_equals_hand_composed_updates(n_critic):
    """n_critic SGD updates of D, each from the previous one, then one G update against the
    last D, composed by hand with jax.grad of the loss.

    G's kernels are zero, so every fake is G's output bias whatever z is: the step's noise does
    not matter and the whole step can be written without it."""
    lr = 0.1
    spec, shape = _spec(n_critic=n_critic, lr=lr), (2,)
    s0 = _state(spec, shape)
    g = jax.tree.map(jnp.zeros_like, s0.g_params)
    g["hidden0"]["bias"] = jnp.full_like(g["hidden0"]["bias"], 0.5)
    g["hidden1"]["bias"] = jnp.linspace(-1.0, 1.0, g["hidden1"]["bias"].shape[0])
    g["to_data"]["bias"] = jnp.array([0.3, -0.2])
    s0 = s0.replace(g_params=g)
    x = jnp.asarray(_batches(shape, 1)[0]["x"])
    loss, D, G = spec.loss, spec.discriminator, spec.generator

    def fakes(g_params):
        return G.apply({"params": g_params}, jnp.zeros((x.shape[0], 4)), None, train=True)

    def d_loss(d_params):
        def d(v):
            return D.apply({"params": d_params}, v, None, train=True)

        return loss.discriminator_loss(d(x), d(fakes(g)))

    def g_loss(g_params, d_params):
        return loss.generator_loss(None, D.apply({"params": d_params}, fakes(g_params), None))

    d_params, d_losses = s0.d_params, []
    for _ in range(n_critic):
        value, grads = jax.value_and_grad(d_loss)(d_params)
        d_losses.append(float(value))
        d_params = jax.tree.map(lambda p, gr: p - lr * gr, d_params, grads)
    value, grads = jax.value_and_grad(g_loss)(g, d_params)
    g_params = jax.tree.map(lambda p, gr: p - lr * gr, g, grads)

    state, metrics = jax.jit(make_train_step(spec))(s0, {"x": x}, jax.random.PRNGKey(0))
    _assert_close(state.d_params, d_params, 1e-6)
    _assert_close(state.g_params, g_params, 1e-6)
    assert (_count(state.d_opt_state), _count(state.g_opt_state)) == (n_critic, 1)
    np.testing.assert_allclose(float(metrics["d_loss"]), d_losses[-1], rtol=1e-6)  # the last
    np.testing.assert_allclose(float(metrics["g_loss"]), float(value), rtol=1e-6)
    assert len(set(d_losses)) == n_critic  # each critic update started from the previous one


@pytest.mark.parametrize("mode", ["pmap", "sharded"])
def test_two_devices_match_one_device_with_n_critic_and_skip_margin(mode):
    # Margin 0.35, rule 'both': D starts "too bad" (errors ~log 2 > 0.65), so G's updates are
    # skipped until D has learnt; both device layouts must make the same skip decisions on the
    # global batch.
    spec, shape = _spec(n_critic=3, skip_margin=0.35, skip_rule="both", lr=0.5), (2,)
    batches = _batches(shape, n=4)
    one, m1 = _run(spec, shape, "sharded", jax.devices()[:1], batches)
    two, m2 = _run(spec, shape, mode, jax.devices()[:2], batches)
    _assert_close(one, two, 1e-5)
    for k in m1:
        np.testing.assert_allclose(m1[k], m2[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert int(two.step) == 4 and 0 < int(two.g_skips) < 4


def test_non_finite_loss_is_recorded_with_step_and_network():
    spec, shape = _spec(), (2,)
    step = jax.jit(make_train_step(spec))
    state = _state(spec, shape)
    rng = jax.random.PRNGKey(0)
    good = _batches(shape, 1)[0]
    state, _ = step(state, good, rng)
    assert int(state.diverged_step) == -1
    bad = {"x": np.full_like(good["x"], np.nan)}
    state, _ = step(state, bad, rng)
    state, _ = step(state, bad, rng)
    assert int(state.diverged_step) == 1  # the first bad step, not the latest
    assert int(state.diverged_net) == DISCRIMINATOR


def test_step_is_a_pure_function_of_state_batch_and_rng():
    """The same (state, batch, rng) gives the same result, whatever ran in between; the inputs
    are left as they were (not updated in place, not donated); and the noise comes from the
    inputs: another rng, or the same rng at another step, changes the result."""
    spec, shape = _spec(), (2,)
    step = jax.jit(make_train_step(spec))
    s0 = _state(spec, shape)
    b0, b1 = _batches(shape, 2)
    s0_copy, b0_copy = jax.tree.map(np.array, s0), jax.tree.map(np.array, b0)
    rng = jax.random.PRNGKey(1)

    first, m_first = step(s0, b0, rng)
    step(first, b1, jax.random.PRNGKey(5))  # other work in between
    again, m_again = step(s0, b0, rng)
    _assert_close(first, again, 0)
    _assert_close(m_first, m_again, 0)
    _assert_close(s0, s0_copy, 0)  # still readable and unchanged
    _assert_close(b0, b0_copy, 0)
    assert int(first.step) == 1

    other_rng, _ = step(s0, b0, jax.random.PRNGKey(2))
    later, _ = step(s0.replace(step=s0.step + 5), b0, rng)
    for moved in (other_rng, later):
        for net in ("g_params", "d_params"):
            diffs = jax.tree.map(
                lambda x, y: np.abs(x - y).max(), getattr(first, net), getattr(moved, net)
            )
            assert max(jax.tree.leaves(diffs)) > 1e-6, net
