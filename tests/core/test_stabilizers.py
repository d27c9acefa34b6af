"""Stabilizers: each changes what it should, checked against hand-computed values."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from helpers import d_terms, spec_state, tiny_config

from gan_jax import losses, models
from gan_jax.config import base_config, migrate, optimizer_config
from gan_jax.core import regularizers, stabilizers
from gan_jax.core.optim import make_optimizer
from gan_jax.core.spec import GANSpec
from gan_jax.core.step import make_train_step
from gan_jax.errors import ConfigError
from gan_jax.tasks.gan import build_spec
from gan_jax.training.parallel import Runner


def _model(**kw):
    base = dict(
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
    return ml_collections.ConfigDict({**base, **kw})


def _spec(loss="bce", model=None, **kw):
    g, d = models.build(model or _model(), (2,))
    opt = optimizer_config(lr=0.05)
    opt.name = "sgd"
    return GANSpec(
        g, d, losses.get(loss), make_optimizer(opt, 10), make_optimizer(opt, 10), latent_dim=2, **kw
    )


def _state(spec, ema=False):
    return spec_state(spec, (2,), ema=ema)


def _batch(value=0.5, n=8):
    rng = np.random.default_rng(0)
    return {"x": (value + 0.1 * rng.standard_normal((n, 2))).astype(np.float32)}


def _same(a, b):
    return all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def _faces_post_rule(err_r: float, err_f: float, margin: float) -> tuple[bool, bool]:
    """The torch-faces post's Lua, line by line: returns (skip_d, skip_g)."""
    optimize_d = optimize_g = True
    if err_f < margin or err_r < margin:
        optimize_d = False
    if err_f > (1.0 - margin) or err_r > (1.0 - margin):
        optimize_g = False
    if not optimize_g and not optimize_d:
        optimize_g = optimize_d = True
    return not optimize_d, not optimize_g


@pytest.mark.parametrize("margin", [0.3, 0.45, 0.5])
def test_skip_decisions_default_is_the_faces_post_truth_table(margin):
    f = stabilizers.skip_decisions
    errors = [0.05, 0.2, 0.29, 0.31, 0.49, 0.51, 0.69, 0.71, 0.9, 1.4]
    for e_r in errors:
        for e_f in errors:
            got = tuple(bool(v) for v in f(jnp.float32(e_r), jnp.float32(e_f), margin))
            assert got == _faces_post_rule(e_r, e_f, margin), (e_r, e_f, margin)
    # One error past the margin is enough under the post's rule (not under 'both').
    assert [bool(v) for v in f(jnp.array(0.1), jnp.array(0.5), 0.3)] == [True, False]
    assert [bool(v) for v in f(jnp.array(0.5), jnp.array(0.8), 0.3)] == [False, True]
    assert [bool(v) for v in f(jnp.array(0.1), jnp.array(0.8), 0.3)] == [False, False]


def test_skip_decisions_both_rule():
    f = functools.partial(stabilizers.skip_decisions, rule="both")
    assert [bool(v) for v in f(jnp.array(0.1), jnp.array(0.2), 0.3)] == [True, False]
    assert [bool(v) for v in f(jnp.array(0.1), jnp.array(0.5), 0.3)] == [False, False]
    assert [bool(v) for v in f(jnp.array(0.8), jnp.array(0.9), 0.3)] == [False, True]
    assert [bool(v) for v in f(jnp.array(0.5), jnp.array(0.9), 0.3)] == [False, False]
    # A margin of 0.5 makes a 0.5/0.5 D both "too good" and "too bad": update both.
    assert [bool(v) for v in f(jnp.array(0.49), jnp.array(0.51), 0.5)] == [False, False]


def test_skip_rule_is_validated_and_old_runs_keep_theirs():
    config = tiny_config("ring8")
    config.stabilizers.skip_margin, config.stabilizers.skip_rule = 0.3, "any"
    with pytest.raises(ConfigError, match=r"skip_rule='any' is not valid; choose one of: either"):
        stabilizers.validate(config.stabilizers, "bce", True)
    assert migrate({"stabilizers": {"skip_margin": 0.3}})["stabilizers"]["skip_rule"] == "both"
    assert migrate({"balance": {"skip_margin": 0.3}})["stabilizers"]["skip_rule"] == "both"
    kept = migrate({"stabilizers": {"skip_rule": "either"}})
    assert kept["stabilizers"]["skip_rule"] == "either"


@pytest.mark.parametrize(
    "field, value, switch",
    [
        ("regularizer_weight", 5.0, "regularizer"),
        ("regularizer_interval", 4, "regularizer"),
        ("g_regularizer_weight", 1e-3, "g_regularizer"),
        ("l2_max", 0.1, "adaptive_l2"),
        ("skip_rule", "both", "skip_margin"),
    ],
)
def test_a_field_set_while_its_switch_is_off_is_refused(field, value, switch):
    st = tiny_config("ring8").stabilizers
    st[field] = value
    with pytest.raises(ConfigError, match=rf"stabilizers\.{field}=.* stabilizers\.{switch} is on"):
        stabilizers.validate(st, "bce", True)


def test_generator_update_skipped_when_discriminator_is_too_bad():
    # At init D's errors are ~log 2 = 0.69 > 1 - 0.45: D is "too bad", so G must not move.
    spec = _spec(skip_margin=0.45)
    s0 = _state(spec)
    s1, m = jax.jit(make_train_step(spec))(s0, _batch(), jax.random.PRNGKey(0))
    assert _same(s0.g_params, s1.g_params) and _same(s0.g_opt_state, s1.g_opt_state)
    assert not _same(s0.d_params, s1.d_params)
    assert (int(s1.d_skips), int(s1.g_skips)) == (0, 1)
    assert float(m["g_skips"]) == 1.0


def test_discriminator_update_skipped_when_it_is_too_good():
    spec = _spec(skip_margin=0.3)
    s0 = _state(spec)
    # D(x) = 5 * leaky_relu(x0): real x0 = 3 -> logit 15, fake x0 = -3 -> logit -3: errors
    # 3e-7 and softplus(-3) = 0.049, both below the margin.
    d = jax.tree.map(jnp.zeros_like, s0.d_params)
    d["hidden0"]["kernel"] = d["hidden0"]["kernel"].at[0, 0].set(1.0)
    d["logit"]["kernel"] = d["logit"]["kernel"].at[0, 0].set(5.0)
    g = jax.tree.map(jnp.zeros_like, s0.g_params)
    g["to_data"]["bias"] = jnp.array([-3.0, 0.0])
    s0 = s0.replace(d_params=d, g_params=g)
    real = {"x": np.tile(np.array([[3.0, 0.0]], np.float32), (8, 1))}
    s1, _ = jax.jit(make_train_step(spec))(s0, real, jax.random.PRNGKey(0))
    assert _same(s0.d_params, s1.d_params)
    assert int(s1.d_skips) == 1 and int(s1.g_skips) == 0


def test_ema_equals_hand_computed_average():
    spec = _spec(ema_decay=0.9)
    step = jax.jit(make_train_step(spec))
    s0 = _state(spec, ema=True)
    s1, _ = step(s0, _batch(), jax.random.PRNGKey(0))
    s2, _ = step(s1, _batch(), jax.random.PRNGKey(0))
    expected = jax.tree.map(
        lambda p0, p1, p2: 0.9 * (0.9 * p0 + 0.1 * p1) + 0.1 * p2,
        s0.g_params,
        s1.g_params,
        s2.g_params,
    )
    for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(s2.g_ema_params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not _same(s2.g_ema_params, s2.g_params)


def test_r1_and_gp_equal_hand_computed_gradient_norms():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((5, 3)).astype(np.float32)
    fake = rng.standard_normal((5, 3)).astype(np.float32)
    eps = rng.uniform(size=5).astype(np.float32)

    def d_fn(x):  # D(x) = Σ x² per example: ∇ₓD = 2x
        return jnp.sum(x**2, axis=1)

    r1 = regularizers.r1_penalty(d_fn, jnp.asarray(real))
    np.testing.assert_allclose(r1, np.mean(np.sum((2 * real) ** 2, axis=1)), rtol=1e-5)
    gp = regularizers.gradient_penalty(d_fn, jnp.asarray(real), jnp.asarray(fake), jnp.asarray(eps))
    mixed = eps[:, None] * real + (1 - eps[:, None]) * fake
    expected = np.mean((np.linalg.norm(2 * mixed, axis=1) - 1) ** 2)
    np.testing.assert_allclose(gp, expected, rtol=1e-5)
    assert regularizers.penalty_scale("r1", 10.0, 4) == 20.0
    assert regularizers.penalty_scale("gp", 10.0, 1) == 10.0


@pytest.mark.parametrize("name", ["r1", "gp"])
def test_penalty_in_the_step_and_lazy_interval(name):
    spec = _spec(loss="wgan" if name == "gp" else "bce", d_terms=d_terms(name, 20.0, 2))
    step = jax.jit(make_train_step(spec))
    s0 = _state(spec)
    s1, m0 = step(s0, _batch(), jax.random.PRNGKey(0))
    s2, m1 = step(s1, _batch(), jax.random.PRNGKey(0))
    assert float(m0["d_penalty"]) > 0 and float(m1["d_penalty"]) == 0.0
    plain, _ = jax.jit(make_train_step(dataclasses.replace(spec, d_terms=())))(
        s0, _batch(), jax.random.PRNGKey(0)
    )
    assert not _same(plain.d_params, s1.d_params)  # the penalty changed D's update


def test_adaptive_l2_weight_rule_and_penalty():
    band = ml_collections.ConfigDict(
        dict(l2_band_low=0.9, l2_band_high=1.3, l2_step=0.1, l2_max=0.25)
    )
    w = jnp.array(0.0)
    assert float(stabilizers.adapt_l2_weight(w, jnp.array(2.0), band)) == pytest.approx(0.1)
    assert float(stabilizers.adapt_l2_weight(w, jnp.array(0.5), band)) == 0.0  # clipped at 0
    assert float(stabilizers.adapt_l2_weight(w, jnp.array(1.0), band)) == 0.0  # inside band
    assert float(stabilizers.adapt_l2_weight(jnp.array(0.2), jnp.array(2.0), band)) == 0.25
    assert float(stabilizers.adapt_l2_weight(jnp.array(0.2), jnp.array(0.5), band)) == (
        pytest.approx(0.1)
    )
    params = {"dense": {"kernel": jnp.ones((2, 3)), "bias": jnp.ones(3)}}
    assert float(stabilizers.l2_of_weights(params)) == 3.0  # ½·6, biases excluded


def _l2_band(low, high, step=0.04, maximum=0.1):
    return ml_collections.ConfigDict(
        dict(l2_band_low=low, l2_band_high=high, l2_step=step, l2_max=maximum)
    )


def _weight_trajectory(spec, state, steps):
    """Run `steps` train steps; returns the state and the logged (g_loss, d_l2_weight) pairs."""
    step = jax.jit(make_train_step(spec))
    logged = []
    for _ in range(steps):
        state, m = step(state, _batch(), jax.random.PRNGKey(0))
        logged.append((float(m["g_loss"]), float(m["d_l2_weight"])))
        assert float(m["d_l2_weight"]) == float(state.d_l2_weight)
    return state, logged


def _rule(w, g_losses, band):
    """The documented rule in plain Python: +step above the band, -step below, clip [0, max]."""
    out = []
    for g in g_losses:
        delta = band.l2_step * ((g > band.l2_band_high) - (g < band.l2_band_low))
        w = min(max(w + delta, 0.0), band.l2_max)
        out.append(w)
    return out


def test_adaptive_l2_weight_follows_g_loss_in_the_step():
    # The bce G loss starts near log 2 = 0.69: a band below it makes the weight rise (to the
    # clip at l2_max), a band above it makes it fall back (to the clip at 0).
    rising = _l2_band(0.1, 0.2)
    spec = _spec(adaptive_l2=rising)
    state, logged = _weight_trajectory(spec, _state(spec), 4)
    g_losses, weights = zip(*logged, strict=True)
    assert min(g_losses) > 0.2
    np.testing.assert_allclose(weights, _rule(0.0, g_losses, rising), rtol=1e-6)
    assert weights[-1] == pytest.approx(0.1)  # 0.04, 0.08, 0.1 (clipped), 0.1

    falling = _l2_band(5.0, 6.0)
    _, logged = _weight_trajectory(_spec(adaptive_l2=falling), state, 4)
    g_losses, weights = zip(*logged, strict=True)
    assert max(g_losses) < 5.0
    np.testing.assert_allclose(weights, _rule(0.1, g_losses, falling), rtol=1e-6, atol=1e-7)
    assert weights[-1] == 0.0


def test_adaptive_l2_penalty_enters_the_discriminator_gradient():
    # From one state, one step with the L2 weight w > 0 and one with w = 0. SGD (lr 0.05): D's
    # update differs by exactly -lr·∇(w·½Σ‖W‖²) = -lr·w·W on kernels, and not at all on biases.
    lr, w = 0.05, 0.3
    spec = _spec(adaptive_l2=_l2_band(0.1, 0.2))
    s0 = _state(spec)
    # Non-zero biases (init makes them 0), so that a penalty on biases would show.
    s0 = s0.replace(d_params=jax.tree.map(lambda p: p if p.ndim >= 2 else p + 0.5, s0.d_params))
    step = jax.jit(make_train_step(spec))
    with_l2, m_with = step(s0.replace(d_l2_weight=jnp.float32(w)), _batch(), jax.random.PRNGKey(0))
    without, m_without = step(s0, _batch(), jax.random.PRNGKey(0))
    old = jax.tree_util.tree_flatten_with_path(s0.d_params)[0]
    new_with, new_without = jax.tree.leaves(with_l2.d_params), jax.tree.leaves(without.d_params)
    grads_without = []
    for (path, p), a, b in zip(old, new_with, new_without, strict=True):
        expected = -lr * w * np.asarray(p) if p.ndim >= 2 else np.zeros(p.shape)
        np.testing.assert_allclose(
            np.asarray(a) - np.asarray(b), expected, atol=1e-6, err_msg=jax.tree_util.keystr(path)
        )
        grads_without.append((np.asarray(p) - np.asarray(b)) / lr)
    assert any(p.ndim >= 2 and np.abs(p).max() > 0.1 for _, p in old)  # a visible difference
    # The logged D loss is the adversarial loss alone; the gradient norm includes the penalty.
    assert float(m_with["d_loss"]) == pytest.approx(float(m_without["d_loss"]), rel=1e-6)
    grads_with = [
        g + (w * np.asarray(p) if p.ndim >= 2 else 0.0)
        for g, (_, p) in zip(grads_without, old, strict=True)
    ]
    norm = np.sqrt(sum(np.sum(g**2) for g in grads_with))
    assert float(m_with["d_grad_norm"]) == pytest.approx(norm, rel=1e-4)


def test_dropout_and_spectral_norm_in_the_discriminator():
    st = ml_collections.ConfigDict(dict(d_dropout=0.5, d_spectral_norm=True))
    g, d = models.build(_model(), (2,), st)
    x = jnp.ones((4, 2))
    v = d.init(jax.random.PRNGKey(0), x, train=False)
    a, _ = d.apply(
        v, x, train=True, rngs={"dropout": jax.random.PRNGKey(1)}, mutable=["batch_stats"]
    )
    b, _ = d.apply(
        v, x, train=True, rngs={"dropout": jax.random.PRNGKey(2)}, mutable=["batch_stats"]
    )
    assert not np.allclose(a, b)  # dropout is active in training
    np.testing.assert_array_equal(d.apply(v, x, train=False), d.apply(v, x, train=False))
    # Power iteration converges to the kernel's largest singular value.
    for _ in range(30):
        _, upd = d.apply(
            v, x, train=True, rngs={"dropout": jax.random.PRNGKey(1)}, mutable=["batch_stats"]
        )
        v = {"params": v["params"], **upd}
    kernel = np.asarray(v["params"]["hidden0"]["kernel"])
    sigma = float(v["batch_stats"]["hidden0_sn"]["hidden0/kernel/sigma"])
    np.testing.assert_allclose(sigma, np.linalg.svd(kernel, compute_uv=False)[0], rtol=1e-3)


def test_clip_value_bounds_each_update():
    opt = optimizer_config(lr=1.0)
    opt.name, opt.clip_value = "sgd", 0.1
    tx = make_optimizer(opt, 10)
    params = {"w": jnp.zeros(3)}
    updates, _ = tx.update({"w": jnp.array([5.0, -0.05, -7.0])}, tx.init(params), params)
    np.testing.assert_allclose(updates["w"], [-0.1, 0.05, 0.1])


@pytest.mark.skipif(jax.device_count() < 2, reason="needs 2 (fake) CPU devices")
def test_wgan_gp_two_devices_match_one_device():
    spec = _spec(loss="wgan", d_terms=d_terms("gp", 10.0), ema_decay=0.5)
    batches = [_batch(0.5), _batch(-0.5)]
    results = []
    for mode, devices in [("sharded", jax.devices()[:1]), ("pmap", jax.devices()[:2])]:
        runner = Runner(spec, mode, devices)
        state = runner.place_state(_state(spec, ema=True))
        rng = runner.place_rng(jax.random.PRNGKey(3))
        for b in batches:
            state, _ = runner.step(state, runner.place_batch(b), rng)
        results.append(jax.device_get(runner.host_state(state)))
    for a, b in zip(jax.tree.leaves(results[0]), jax.tree.leaves(results[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_config_errors():
    config = base_config()
    config.model.name, config.model.output = "mlp", "linear"
    config.loss = "wgan"
    config.stabilizers.skip_margin = 0.3
    with pytest.raises(ConfigError, match="skip_margin needs a logistic loss"):
        build_spec(config, (2,))
    config.loss = "bce"
    config.stabilizers.regularizer = "r3"
    with pytest.raises(ConfigError, match="stabilizers.regularizer='r3'"):
        build_spec(config, (2,))
    config.stabilizers.regularizer = "none"
    config.stabilizers.ema_decay = 1.0
    with pytest.raises(ConfigError, match="ema_decay"):
        build_spec(config, (2,))
