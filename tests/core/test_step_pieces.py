"""The train step's pieces on their own, on a linear D and a constant G whose gradients are
written out by hand: the device adapter, D's and G's updates, skipping, EMA, L2, divergence,
and the whole step's outcome computed by hand from them in order."""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from helpers import d_terms, spec_state

from gan_jax import losses
from gan_jax.core.device_axis import DeviceAxis
from gan_jax.core.ema import update_g_ema
from gan_jax.core.spec import GANSpec
from gan_jax.core.state import DISCRIMINATOR, GENERATOR
from gan_jax.core.step import critic_updates, make_train_step
from gan_jax.core.updates import (
    d_update,
    g_loss,
    g_update,
    record_divergence,
    skip_flags,
    update_d_l2_weight,
)

LR = 0.1
AXIS = DeviceAxis()


class ConstantG(nn.Module):
    """G(z) = g for every z: the generated batch is known without knowing the noise."""

    @nn.compact
    def __call__(self, z, labels=None, train=False):
        g = self.param("g", nn.initializers.zeros, (2,))
        return jnp.broadcast_to(g, (z.shape[0], 2))


class LinearD(nn.Module):
    """D(x) = x·w + b, so ∇ₓD = w and every gradient is a short formula."""

    @nn.compact
    def __call__(self, x, labels=None, train=False):
        w = self.param("kernel", nn.initializers.zeros, (2, 1))
        b = self.param("bias", nn.initializers.zeros, (1,))
        return x @ w + b


def _spec(loss="bce", tx=None, **kw):
    tx = tx or optax.sgd(LR)
    return GANSpec(ConstantG(), LinearD(), losses.get(loss), tx, tx, latent_dim=3, **kw)


def _state(spec, w=(0.5, -0.3), b=0.2, g=(0.4, 0.7), ema=False):
    state = spec_state(spec, (2,), ema=ema)
    d = {"kernel": jnp.asarray(w, jnp.float32).reshape(2, 1), "bias": jnp.asarray([b], jnp.float32)}
    return state.replace(
        d_params=d,
        d_opt_state=spec.d_tx.init(d),
        g_params={"g": jnp.asarray(g, jnp.float32)},
    )


def _real(n=4):
    return jnp.asarray(np.random.default_rng(0).standard_normal((n, 2)), jnp.float32)


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _softplus(v):
    return np.log1p(np.exp(v))


def _same(a, b):
    return all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def _d_update(spec, state, x, key=None):
    key = jax.random.PRNGKey(3) if key is None else key
    return jax.jit(lambda s, x, k: d_update(spec, AXIS, s, s.g_batch_stats, x, None, k))(
        state, x, key
    )


def _g_update(spec, state, x, skip_g=False):
    fn = jax.jit(lambda s, x, k, skip: g_update(spec, AXIS, s, s.g_batch_stats, x, None, k, skip))
    return fn(state, x, jax.random.PRNGKey(4), jnp.asarray(skip_g))


# --- DeviceAxis -------------------------------------------------------------------------------


def test_device_axis_without_a_name_is_the_identity():
    key = jax.random.PRNGKey(1)
    x = jnp.arange(6.0)
    tree = {"a": x}
    assert AXIS.gather(x) is x and AXIS.pmean(tree) is tree and AXIS.device_key(key) is key
    np.testing.assert_array_equal(
        AXIS.per_example(jax.random.normal, key, 4, 3), jax.random.normal(key, (4, 3))
    )


@pytest.mark.skipif(jax.device_count() < 2, reason="needs 2 (fake) CPU devices")
def test_device_axis_under_pmap_slices_gathers_and_averages():
    axis = DeviceAxis("i", 2)
    key = jax.random.PRNGKey(5)

    def f(key, x):
        noise = axis.per_example(jax.random.normal, key, 3, 4)
        return noise, axis.gather(x), axis.pmean(x), axis.device_key(key)

    xs = jnp.arange(6.0).reshape(2, 3)
    noise, gathered, mean, keys = jax.pmap(f, axis_name="i")(jnp.stack([key, key]), xs)
    # Each device's noise is its slice of one draw for the global batch of 6.
    np.testing.assert_array_equal(np.concatenate(noise), jax.random.normal(key, (6, 4)))
    for d in range(2):
        np.testing.assert_array_equal(gathered[d], np.arange(6.0))
        np.testing.assert_array_equal(mean[d], [1.5, 2.5, 3.5])
        np.testing.assert_array_equal(keys[d], jax.random.fold_in(key, d))


# --- D's update ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "l2_weight, r1_scale", [(0.0, 0.0), (0.5, 0.0), (0.0, 3.0)], ids=["plain", "l2", "r1"]
)
def test_d_update_applies_the_hand_computed_gradient(l2_weight, r1_scale):
    band = ml_collections.ConfigDict(dict(l2_band_low=0.9, l2_band_high=1.3, l2_step=0.1, l2_max=1))
    kw = {}
    if l2_weight:
        kw["adaptive_l2"] = band
    if r1_scale:
        kw.update(d_terms=d_terms("r1", r1_scale))
    spec = _spec(**kw)
    state = _state(spec).replace(d_l2_weight=jnp.float32(l2_weight))
    x = _real()
    new, g_stats, metrics, skip_g = _d_update(spec, state, x)

    w, b, g = np.array([[0.5], [-0.3]]), 0.2, np.array([0.4, 0.7])
    xn = np.asarray(x, np.float64)
    l_r, l_f = (xn @ w)[:, 0] + b, float(g @ w[:, 0] + b)
    # BCE: d/dl softplus(-l) = -σ(-l) on real rows, d/dl softplus(l) = σ(l) on the fake rows
    # (all equal to g). ½λ‖W‖² adds λW; R1 = ‖∇ₓD‖² = ‖w‖², times s, adds 2sw.
    grad_w = np.mean(-_sigmoid(-l_r)[:, None] * xn, axis=0)[:, None] + _sigmoid(l_f) * g[:, None]
    grad_w += l2_weight * w + 2 * r1_scale * w
    grad_b = np.mean(-_sigmoid(-l_r)) + _sigmoid(l_f)
    np.testing.assert_allclose(new.d_params["kernel"], w - LR * grad_w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(new.d_params["bias"], [b - LR * grad_b], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        metrics["d_loss"], np.mean(_softplus(-l_r)) + _softplus(l_f), rtol=1e-5
    )
    np.testing.assert_allclose(metrics["d_real"], np.mean(_sigmoid(l_r)), rtol=1e-5)
    np.testing.assert_allclose(metrics["d_fake"], _sigmoid(l_f), rtol=1e-5)
    # Accuracy over the real and fake halves: real rows right when l > 0, fake ones when l < 0.
    n = len(l_r)
    acc = (np.sum(l_r > 0) + n * (l_f < 0)) / (2 * n)
    np.testing.assert_allclose(metrics["d_accuracy"], acc, rtol=1e-6)
    norm = np.sqrt(np.sum(grad_w**2) + grad_b**2)
    np.testing.assert_allclose(metrics["d_grad_norm"], norm, rtol=1e-5)
    if r1_scale:
        np.testing.assert_allclose(metrics["d_penalty"], np.sum(w**2), rtol=1e-5)
    else:
        assert "d_penalty" not in metrics
    # D's update leaves G alone and counts no skips.
    assert _same(new.g_params, state.g_params) and _same(new.g_opt_state, state.g_opt_state)
    assert (int(new.d_skips), bool(skip_g)) == (0, False)
    assert int(new.step) == int(state.step)


def test_skipped_d_update_keeps_d_bit_identical_and_counts_it():
    # Real x = (3, 0) -> logit 15, fake g = (-3, 0) -> logit -15: both errors ~3e-7, below 0.3.
    # Adam, so a skipped update would show in the optimizer state too.
    x = jnp.tile(jnp.array([[3.0, 0.0]]), (4, 1))
    skip = _spec(tx=optax.adam(0.1), skip_margin=0.3)
    state = _state(skip, w=(5.0, 0.0), b=0.0, g=(-3.0, 0.0))
    new, _, _, skip_g = _d_update(skip, state, x)
    assert _same(new.d_params, state.d_params) and _same(new.d_opt_state, state.d_opt_state)
    assert (int(new.d_skips), bool(skip_g)) == (1, False)
    # Without the margin the same update moves D.
    moved, _, _, _ = _d_update(dataclasses.replace(skip, skip_margin=0.0), state, x)
    assert not _same(moved.d_params, state.d_params)
    assert not _same(moved.d_opt_state, state.d_opt_state)
    assert int(moved.d_skips) == 0


def test_skip_flags_follow_the_margin_rule():
    spec = _spec(skip_margin=0.3)
    confident, unsure = jnp.full((4,), 15.0), jnp.full((4,), -15.0)
    assert [bool(v) for v in skip_flags(spec, confident, unsure)] == [True, False]  # D too good
    assert [bool(v) for v in skip_flags(spec, unsure, confident)] == [False, True]  # D too bad
    off = dataclasses.replace(spec, skip_margin=0.0)
    assert [bool(v) for v in skip_flags(off, confident, unsure)] == [False, False]


def test_critic_updates_are_n_d_updates_in_sequence():
    spec = _spec(n_critic=3)
    state, x, key = _state(spec), _real(), jax.random.PRNGKey(9)
    run = jax.jit(lambda s, k: critic_updates(spec, AXIS, s, x, None, k))
    new, _, metrics, d_losses, _ = run(state, key)
    expected, losses_by_hand = state, []
    for k in jax.random.split(key, 3):
        expected, _, m, _ = _d_update(spec, expected, x, k)
        losses_by_hand.append(float(m["d_loss"]))
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(d_losses, losses_by_hand, rtol=1e-6)
    np.testing.assert_allclose(metrics["d_loss"], losses_by_hand[-1], rtol=1e-6)


# --- G's update ---------------------------------------------------------------------------------


def test_g_update_moves_g_by_the_hand_computed_gradient_and_leaves_d_untouched():
    spec = _spec()
    state = _state(spec)
    new, metrics = _g_update(spec, state, _real())
    w, b, g = np.array([0.5, -0.3]), 0.2, np.array([0.4, 0.7])
    l_f = g @ w + b
    # Non-saturating G loss softplus(-l_f); d/dg = -σ(-l_f)·w.
    grad_g = -_sigmoid(-l_f) * w
    np.testing.assert_allclose(new.g_params["g"], g - LR * grad_g, rtol=1e-5)
    np.testing.assert_allclose(metrics["g_loss"], _softplus(-l_f), rtol=1e-5)
    np.testing.assert_allclose(metrics["g_grad_norm"], np.linalg.norm(grad_g), rtol=1e-5)
    for field in ("d_params", "d_opt_state", "d_batch_stats", "d_l2_weight", "d_skips"):
        assert _same(getattr(new, field), getattr(state, field)), field
    assert int(new.g_skips) == 0


def test_g_loss_gives_relativistic_losses_the_real_logits():
    spec = _spec(loss="rahinge")
    state, x = _state(spec), _real()
    key = jax.random.PRNGKey(0)
    value, _ = g_loss(spec, AXIS, state.g_params, state, {}, jnp.zeros((4, 3)), x, None, key)
    w, b, g = np.array([0.5, -0.3]), 0.2, np.array([0.4, 0.7])
    l_r, l_f = np.asarray(x, np.float64) @ w + b, np.full(4, g @ w + b)
    r, f = l_r - l_f.mean(), l_f - l_r.mean()
    expected = np.mean(np.maximum(0, 1 - f)) + np.mean(np.maximum(0, 1 + r))
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_skipped_g_update_keeps_g_bit_identical_and_counts_it():
    spec = _spec(tx=optax.adam(0.1), skip_margin=0.3)
    state = _state(spec)
    kept, _ = _g_update(spec, state, _real(), skip_g=True)
    assert _same(kept.g_params, state.g_params) and _same(kept.g_opt_state, state.g_opt_state)
    assert int(kept.g_skips) == 1
    moved, _ = _g_update(spec, state, _real(), skip_g=False)
    assert not _same(moved.g_params, state.g_params) and int(moved.g_skips) == 0


# --- stabilizer state and bookkeeping -----------------------------------------------------------


def test_update_g_ema_equals_the_numpy_average():
    spec = _spec(ema_decay=0.9)
    state = _state(spec, ema=True).replace(g_ema_params={"g": jnp.array([1.0, -2.0])})
    new = update_g_ema(state, spec.ema_decay)
    expected = 0.9 * np.array([1.0, -2.0]) + 0.1 * np.array([0.4, 0.7])
    np.testing.assert_allclose(new.g_ema_params["g"], expected, rtol=1e-6)
    assert _same(new.g_params, state.g_params)
    off = _spec()
    assert update_g_ema(_state(off), off.ema_decay).g_ema_params == {}


def test_update_d_l2_weight_follows_g_loss():
    band = ml_collections.ConfigDict(
        dict(l2_band_low=0.9, l2_band_high=1.3, l2_step=0.1, l2_max=0.25)
    )
    spec = _spec(adaptive_l2=band)
    state = _state(spec)
    up = update_d_l2_weight(spec, state, jnp.float32(2.0))  # G losing: D is winning
    np.testing.assert_allclose(up.d_l2_weight, 0.1, rtol=1e-6)
    down = update_d_l2_weight(spec, up, jnp.float32(0.5))
    np.testing.assert_allclose(down.d_l2_weight, 0.0, atol=1e-7)
    off = _spec()
    assert update_d_l2_weight(off, up, jnp.float32(2.0)) is up


def test_record_divergence_keeps_the_first_bad_step_and_its_network():
    state = _state(_spec()).replace(step=jnp.int32(5))
    fine = record_divergence(state, jnp.array([1.0, 2.0]), jnp.float32(1.0))
    assert (int(fine.diverged_step), int(fine.diverged_net)) == (-1, 0)
    bad_d = record_divergence(state, jnp.array([1.0, jnp.nan]), jnp.float32(1.0))
    assert (int(bad_d.diverged_step), int(bad_d.diverged_net)) == (5, DISCRIMINATOR)
    bad_g = record_divergence(state, jnp.float32(1.0), jnp.float32(jnp.inf))
    assert (int(bad_g.diverged_step), int(bad_g.diverged_net)) == (5, GENERATOR)
    later = record_divergence(bad_g.replace(step=jnp.int32(6)), jnp.float32(jnp.nan), 1.0)
    assert (int(later.diverged_step), int(later.diverged_net)) == (5, GENERATOR)


# --- the composition -----------------------------------------------------------------------------


def _d_step_by_hand(w, b, g, x, l2_weight):
    """One SGD update of the linear D against the constant G (BCE, ½λ‖W‖² on the kernel), in
    float64: (new w, new b, D's loss before the update)."""
    l_r, l_f = x @ w + b, g @ w + b
    grad_w = np.mean(-_sigmoid(-l_r)[:, None] * x, axis=0) + _sigmoid(l_f) * g + l2_weight * w
    grad_b = np.mean(-_sigmoid(-l_r)) + _sigmoid(l_f)
    return w - LR * grad_w, b - LR * grad_b, np.mean(_softplus(-l_r)) + _softplus(l_f)


def _g_step_by_hand(w, b, g):
    """One SGD update of the constant G against the linear D (non-saturating loss softplus(-l),
    d/dg = -σ(-l)·w): (new g, G's loss before the update)."""
    l_f = g @ w + b
    return g + LR * _sigmoid(-l_f) * w, _softplus(-l_f)


def test_train_step_updates_d_n_critic_times_then_g_n_gen_times_against_the_new_d():
    """One step with n_critic = n_gen = 2, EMA and adaptive L2, against its outcome computed
    by hand: D's two updates (each from the previous, G fixed, with D's L2 weight), then G's two
    updates against the updated D, then the EMA of the final G and the L2 weight moved by G's
    last loss. The band is set between G's two losses, so the weight moves only if the step
    reads the last one."""
    x = np.asarray(_real(), np.float64)
    w0, b0, g0, ema0, l2 = (
        np.array([0.5, -0.3]),
        0.2,
        np.array([0.4, 0.7]),
        np.array([1.0, -2.0]),
        0.5,
    )
    w, b, d_losses = w0, b0, []
    for _ in range(2):
        w, b, value = _d_step_by_hand(w, b, g0, x, l2)
        d_losses.append(value)
    g, g_losses = g0, []
    for _ in range(2):
        g, value = _g_step_by_hand(w, b, g)
        g_losses.append(value)
    assert g_losses[1] < g_losses[0] - 1e-3  # G's updates moved it: the band can sit between
    band = ml_collections.ConfigDict(
        dict(l2_band_low=float(np.mean(g_losses)), l2_band_high=10.0, l2_step=0.01, l2_max=1.0)
    )
    spec = _spec(n_critic=2, n_gen=2, ema_decay=0.5, adaptive_l2=band)
    state = _state(spec, w=w0, b=b0, g=g0, ema=True).replace(
        g_ema_params={"g": jnp.asarray(ema0, jnp.float32)}, d_l2_weight=jnp.float32(l2)
    )
    stepped, metrics = jax.jit(make_train_step(spec))(state, {"x": _real()}, jax.random.PRNGKey(2))

    tol = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stepped.d_params["kernel"][:, 0], w, **tol)
    np.testing.assert_allclose(stepped.d_params["bias"], [b], **tol)
    np.testing.assert_allclose(stepped.g_params["g"], g, **tol)
    np.testing.assert_allclose(stepped.g_ema_params["g"], 0.5 * ema0 + 0.5 * g, **tol)
    np.testing.assert_allclose(stepped.d_l2_weight, l2 - 0.01, **tol)  # G's last loss < low
    np.testing.assert_allclose(metrics["d_l2_weight"], l2 - 0.01, **tol)
    np.testing.assert_allclose(metrics["d_loss"], d_losses[1], **tol)  # the last updates'
    np.testing.assert_allclose(metrics["g_loss"], g_losses[1], **tol)
    assert int(stepped.step) == 1 and int(stepped.diverged_step) == -1
    # G against D as it was before the step would have been measurably different.
    g_old_d = _g_step_by_hand(w0, b0, _g_step_by_hand(w0, b0, g0)[0])[0]
    assert np.abs(g_old_d - g).max() > 1e-3
