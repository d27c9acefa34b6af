"""Optimizers (gan_jax/core/optim.py): learning-rate schedules with warm-up, adam/adamw, rmsprop
and SGD (with momentum), gradient clipping, each against its formula written out in numpy."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_config

from gan_jax.config import optimizer_config
from gan_jax.core import optim
from gan_jax.errors import ConfigError
from gan_jax.tasks.gan import build_spec


def _opt(name="sgd", lr=1.0, **fields):
    opt = optimizer_config(lr=lr)
    opt.name = name
    opt.update(fields)
    return opt


def _expected_lr(t, lr, schedule, warmup, num_updates, fraction):
    """The documented schedule: linear warm-up 0 -> lr over `warmup` updates, then constant,
    linear decay to fraction·lr, or cosine decay to fraction·lr over the remaining updates."""
    if t < warmup:
        return lr * t / warmup
    decay = max(num_updates - warmup, 1)
    progress = min(t - warmup, decay) / decay
    final = lr * fraction
    if schedule == "constant":
        return lr
    if schedule == "linear":
        return lr + (final - lr) * progress
    return final + (lr - final) * 0.5 * (1 + math.cos(math.pi * progress))


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
@pytest.mark.parametrize("warmup", [0, 3])
def test_learning_rate_schedules_follow_their_formula(schedule, warmup):
    opt = _opt(lr=0.5, schedule=schedule, warmup_steps=warmup, final_lr_fraction=0.1)
    fn = optim.learning_rate_schedule(opt, 12)
    got = [float(fn(t)) for t in range(15)]
    want = [_expected_lr(t, 0.5, schedule, warmup, 12, 0.1) for t in range(15)]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    if warmup:
        assert got[0] == 0.0 and got[warmup] == pytest.approx(0.5)
    if schedule != "constant":
        assert got[12] == pytest.approx(0.05) and got[14] == pytest.approx(0.05)  # stays at the end


def _counts(opt_state):
    """Every `count` leaf of an optax state (the schedule's and Adam's step counters)."""
    leaves = jax.tree_util.tree_flatten_with_path(opt_state)[0]
    return {int(v) for path, v in leaves if "count" in jax.tree_util.keystr(path)}


def test_discriminator_schedule_spans_n_critic_updates_per_step():
    # num_steps=10, n_critic=3: D's linear decay runs over 30 updates, G's over 10.
    config = tiny_config("ring8", **{"train.num_steps": 10, "train.n_critic": 3})
    for opt in (config.g_optimizer, config.d_optimizer):
        opt.update(name="sgd", lr=1.0, schedule="linear", final_lr_fraction=0.0)
    spec = build_spec(config, (2,))
    params = {"w": jnp.zeros(1)}
    grads = {"w": jnp.ones(1)}
    for tx, updates_per_run in [(spec.g_tx, 10), (spec.d_tx, 30)]:
        state = tx.init(params)
        update = jax.jit(tx.update)
        seen = []
        for _ in range(updates_per_run):
            u, state = update(grads, state, params)
            seen.append(-float(u["w"][0]))
        assert _counts(state) == {updates_per_run}
        np.testing.assert_allclose(
            seen, 1.0 - np.arange(updates_per_run) / updates_per_run, rtol=1e-6, atol=1e-7
        )


def _one_update(opt, grads_seq, params):
    tx = optim.make_optimizer(opt, 100)
    state = tx.init(params)
    out = []
    for g in grads_seq:
        u, state = tx.update({"w": jnp.asarray(g)}, state, params)
        out.append(np.asarray(u["w"], np.float64))
    return out


G1 = np.array([0.5, -2.0, 3.0], np.float32)
G2 = np.array([-1.0, 0.25, 2.0], np.float32)
P = {"w": jnp.array([1.0, -0.5, 2.0], jnp.float32)}


def test_sgd_with_momentum():
    u1, u2 = _one_update(_opt("sgd", lr=0.1, momentum=0.9), [G1, G2], P)
    np.testing.assert_allclose(u1, -0.1 * G1, rtol=1e-6)
    np.testing.assert_allclose(u2, -0.1 * (G2 + 0.9 * G1), rtol=1e-6)
    (plain,) = _one_update(_opt("sgd", lr=0.1), [G1], P)
    np.testing.assert_allclose(plain, -0.1 * G1, rtol=1e-6)


def test_rmsprop_with_decay_eps_and_momentum():
    lr, rho, eps, mu = 0.01, 0.8, 0.5, 0.7  # a large eps, so that where it enters matters
    u1, u2 = _one_update(_opt("rmsprop", lr=lr, decay=rho, eps=eps, momentum=mu), [G1, G2], P)
    g1, g2 = G1.astype(np.float64), G2.astype(np.float64)
    nu1 = (1 - rho) * g1**2
    nu2 = rho * nu1 + (1 - rho) * g2**2
    s1, s2 = -lr * g1 / np.sqrt(nu1 + eps), -lr * g2 / np.sqrt(nu2 + eps)
    np.testing.assert_allclose(u1, s1, rtol=1e-5)
    np.testing.assert_allclose(u2, s2 + mu * s1, rtol=1e-5)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_and_decoupled_weight_decay(weight_decay):
    lr, b1, b2, eps = 0.01, 0.5, 0.9, 1e-3
    opt = _opt("adam", lr=lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay)
    u1, u2 = _one_update(opt, [G1, G2], P)
    g1, g2, p = G1.astype(np.float64), G2.astype(np.float64), np.asarray(P["w"], np.float64)
    m, v = (1 - b1) * g1, (1 - b2) * g1**2
    expected1 = -lr * ((m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps) + weight_decay * p)
    m, v = b1 * m + (1 - b1) * g2, b2 * v + (1 - b2) * g2**2
    expected2 = -lr * ((m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps) + weight_decay * p)
    np.testing.assert_allclose(u1, expected1, rtol=1e-5)
    np.testing.assert_allclose(u2, expected2, rtol=1e-5)


@pytest.mark.parametrize("name", ["sgd", "rmsprop"])
def test_weight_decay_adds_the_l2_term_to_the_gradient(name):
    """sgd/rmsprop decay like torch's: the update for gradient g with decay wd equals the
    update for gradient g + wd * params without decay."""
    opt = _opt(name, lr=0.1, weight_decay=0.5)
    decayed = [g + 0.5 * np.asarray(P["w"]) for g in (G1, G2)]  # params are fixed here
    with_decay = _one_update(opt, [G1, G2], P)
    np.testing.assert_allclose(with_decay, _one_update(_opt(name, lr=0.1), decayed, P), rtol=1e-6)
    without = _one_update(_opt(name, lr=0.1), [G1, G2], P)
    assert not np.allclose(with_decay[1], without[1])  # rmsprop's first step is scale-free


def test_clip_value_then_clip_norm():
    grads = np.array([5.0, -0.05, -7.0], np.float32)
    (norm_only,) = _one_update(_opt("sgd", lr=1.0, clip_norm=2.0), [grads], P)
    np.testing.assert_allclose(norm_only, -grads * 2.0 / np.linalg.norm(grads), rtol=1e-6)
    (small,) = _one_update(_opt("sgd", lr=1.0, clip_norm=100.0), [grads], P)
    np.testing.assert_allclose(small, -grads, rtol=1e-6)  # below the norm: untouched
    # Value first ([0.1, -0.05, -0.1], norm 0.15), then the norm to 0.1; the other order would
    # leave norm-clipped values under 0.1 untouched.
    (both,) = _one_update(_opt("sgd", lr=1.0, clip_value=0.1, clip_norm=0.1), [grads], P)
    clipped = np.array([0.1, -0.05, -0.1])
    np.testing.assert_allclose(both, -clipped * 0.1 / np.linalg.norm(clipped), rtol=1e-5)


def test_validate_names_the_bad_field():
    for field, value, message in [
        ("name", "adagrad", "g_optimizer.name='adagrad' is not valid; choose one of: adam"),
        ("schedule", "step", "g_optimizer.schedule='step' is not valid"),
        ("lr", 0.0, "g_optimizer.lr=0.0 must be > 0"),
    ]:
        with pytest.raises(ConfigError, match=message):
            optim.validate(_opt(**{field: value}), "g_optimizer")


@pytest.mark.parametrize(
    "name, field, value, fix",
    [
        ("adam", "decay", 0.5, "rmsprop"),
        ("adam", "momentum", 0.9, "rmsprop or sgd"),
        ("rmsprop", "b1", 0.9, "adam"),
        ("sgd", "eps", 1e-3, "adam or rmsprop"),
    ],
)
def test_a_field_the_optimizer_does_not_read_is_refused(name, field, value, fix):
    opt = optimizer_config()
    opt.name, opt[field] = name, value
    with pytest.raises(
        ConfigError, match=rf"d_optimizer\.{field}=.* not read by {name}; set "
    ) as e:
        optim.validate(opt, "d_optimizer")
    assert str(e.value).endswith(f"--config.d_optimizer.name={fix} or remove it")


def test_final_lr_fraction_needs_a_decaying_schedule():
    opt = optimizer_config()
    opt.final_lr_fraction = 0.1
    with pytest.raises(ConfigError, match=r"final_lr_fraction=0.1 is not read by the constant"):
        optim.validate(opt, "g_optimizer")
    opt.schedule = "cosine"
    optim.validate(opt, "g_optimizer")
