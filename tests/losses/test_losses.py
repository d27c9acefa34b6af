"""Tests for gan_jax.losses: every formula against an independent float64 NumPy reference.

The references below are written directly from the formulas in the task spec and the papers,
using the naive log(sigmoid) form on purpose, so they share no code (or stable rewrites) with
the implementation under test.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gan_jax.losses as losses
from gan_jax.errors import ConfigError

ALL_NAMES = [
    "bce",
    "bce_minimax",
    "bce_smoothed",
    "hinge",
    "lsgan",
    "rahinge",
    "ralsgan",
    "rasgan",
    "rsgan",
    "wgan",
]
RELATIVISTIC = ["rahinge", "ralsgan", "rasgan", "rsgan"]
LOGISTIC = ["bce", "bce_minimax", "bce_smoothed", "rasgan", "rsgan"]


def _log_sig(x):
    return np.log(1.0 / (1.0 + np.exp(-x)))


def _log_one_minus_sig(x):
    return np.log(1.0 - 1.0 / (1.0 + np.exp(-x)))


def _averaged(r, f):
    return r - f.mean(), f - r.mean()


def _ref_bce_smoothed(r, f, t=0.9):
    d = -np.mean(t * _log_sig(r) + (1 - t) * _log_one_minus_sig(r)) - np.mean(_log_one_minus_sig(f))
    return d, -np.mean(_log_sig(f))


def _ref_rasgan(r, f):
    rt, ft = _averaged(r, f)
    d = -np.mean(_log_sig(rt)) - np.mean(_log_one_minus_sig(ft))
    g = -np.mean(_log_sig(ft)) - np.mean(_log_one_minus_sig(rt))
    return d, g


def _ref_ralsgan(r, f):
    rt, ft = _averaged(r, f)
    d = 0.5 * (np.mean((rt - 1) ** 2) + np.mean((ft + 1) ** 2))
    g = 0.5 * (np.mean((ft - 1) ** 2) + np.mean((rt + 1) ** 2))
    return d, g


def _ref_rahinge(r, f):
    rt, ft = _averaged(r, f)
    d = np.mean(np.maximum(0, 1 - rt)) + np.mean(np.maximum(0, 1 + ft))
    g = np.mean(np.maximum(0, 1 - ft)) + np.mean(np.maximum(0, 1 + rt))
    return d, g


# name -> (real, fake) -> (D loss, G loss), float64.
REFERENCES = {
    "bce": lambda r, f: (
        -np.mean(_log_sig(r)) - np.mean(_log_one_minus_sig(f)),
        -np.mean(_log_sig(f)),
    ),
    "bce_minimax": lambda r, f: (
        -np.mean(_log_sig(r)) - np.mean(_log_one_minus_sig(f)),
        np.mean(_log_one_minus_sig(f)),
    ),
    "bce_smoothed": _ref_bce_smoothed,
    "lsgan": lambda r, f: (
        0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f**2),
        0.5 * np.mean((f - 1) ** 2),
    ),
    "hinge": lambda r, f: (
        np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
        -np.mean(f),
    ),
    "wgan": lambda r, f: (np.mean(f) - np.mean(r), -np.mean(f)),
    "rsgan": lambda r, f: (-np.mean(_log_sig(r - f)), -np.mean(_log_sig(f - r))),
    "rasgan": _ref_rasgan,
    "ralsgan": _ref_ralsgan,
    "rahinge": _ref_rahinge,
}


def _logits(seed: int, batch: int = 7, scale: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    real = (rng.normal(size=batch) * scale).astype(np.float32)
    fake = (rng.normal(size=batch) * scale).astype(np.float32)
    return real, fake


@pytest.mark.parametrize("name", ALL_NAMES)
def test_matches_numpy_reference(name):
    loss = losses.get(name)
    for seed in (0, 1):
        real, fake = _logits(seed)
        want_d, want_g = REFERENCES[name](real.astype(np.float64), fake.astype(np.float64))
        d = loss.discriminator_loss(real, fake)
        g = loss.generator_loss(real, fake)
        assert d.shape == () and g.shape == ()
        assert d.dtype == jnp.float32 and g.dtype == jnp.float32
        np.testing.assert_allclose(float(d), want_d, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(float(g), want_g, rtol=1e-5, atol=1e-6)
        # (B, 1) discriminator outputs give exactly the same losses as (B,).
        assert float(loss.discriminator_loss(real[:, None], fake[:, None])) == float(d)
        assert float(loss.generator_loss(real[:, None], fake[:, None])) == float(g)


def test_bce_smoothed_label_option_changes_formula():
    real, fake = _logits(2)
    loss = losses.get("bce_smoothed", real_label=0.7)
    want_d, want_g = _ref_bce_smoothed(real.astype(np.float64), fake.astype(np.float64), t=0.7)
    np.testing.assert_allclose(float(loss.discriminator_loss(real, fake)), want_d, rtol=1e-5)
    np.testing.assert_allclose(float(loss.generator_loss(None, fake)), want_g, rtol=1e-5)
    # t = 1 is plain bce.
    no_smoothing = losses.get("bce_smoothed", real_label=1)
    np.testing.assert_allclose(
        float(no_smoothing.discriminator_loss(real, fake)),
        float(losses.get("bce").discriminator_loss(real, fake)),
        rtol=1e-6,
    )


# (name, real, fake, D loss, G loss) computed by hand.
HAND_CASES = [
    # σ(0) = ½: D = log 2 + log 2, G = -log ½.
    ("bce", [0.0], [0.0], 2 * math.log(2), math.log(2)),
    # Saturating G = log(1 - ½) = -log 2.
    ("bce_minimax", [0.0], [0.0], 2 * math.log(2), -math.log(2)),
    # Real logit log 9 gives σ = 0.9 = t, the cross-entropy minimum, i.e. the entropy
    # -(0.9 log 0.9 + 0.1 log 0.1) = 0.0948245 + 0.2302585 = 0.3250830; plus log 2 for fake 0.
    ("bce_smoothed", [math.log(9)], [0.0], 1.0182302, math.log(2)),
    # Perfect LSGAN discriminator; G = ½ (0 - 1)².
    ("lsgan", [1.0, 1.0], [0.0, 0.0], 0.0, 0.5),
    # Both outside the margin: D = 0; G = -(-2).
    ("hinge", [2.0, 2.0], [-2.0, -2.0], 0.0, 2.0),
    # Inside the margin: D = (1 - 0.5) + (1 + 0.5) = 2.
    ("hinge", [0.5], [0.5], 2.0, -0.5),
    # D = E fake - E real = 1 - 3; G = -1.
    ("wgan", [3.0, 3.0], [1.0, 1.0], -2.0, -1.0),
    # Equal outputs: σ(0) = ½ both ways.
    ("rsgan", [1.5], [1.5], math.log(2), math.log(2)),
    # E real = 2, E fake = 1 -> r = real - 1 = [0, 2], f = fake - 2 = [-2, 0].
    # D = ½[mean((r-1)²) + mean((f+1)²)] = ½[mean(1, 1) + mean(1, 1)] = 1.
    # G = ½[mean((f-1)²) + mean((r+1)²)] = ½[mean(9, 1) + mean(1, 9)] = 5.
    ("ralsgan", [1.0, 3.0], [0.0, 2.0], 1.0, 5.0),
    # Same r, f: D = mean(1, 0) + mean(0, 1) = 1; G = mean(3, 1) + mean(1, 3) = 4.
    ("rahinge", [1.0, 3.0], [0.0, 2.0], 1.0, 4.0),
    # r = [0, 2], f = [-2, 0]: D = -mean(log σ(0), log σ(2)) - mean(log σ(2), log σ(0))
    # = log 2 + log(1 + e^-2), and G swaps the roles: log 2 + log(1 + e^2).
    (
        "rasgan",
        [1.0, 3.0],
        [0.0, 2.0],
        math.log(2) + math.log1p(math.exp(-2)),
        math.log(2) + math.log1p(math.exp(2)),
    ),
]


@pytest.mark.parametrize(("name", "real", "fake", "want_d", "want_g"), HAND_CASES)
def test_hand_computed_values(name, real, fake, want_d, want_g):
    loss = losses.get(name)
    real, fake = np.array(real, np.float32), np.array(fake, np.float32)
    np.testing.assert_allclose(float(loss.discriminator_loss(real, fake)), want_d, atol=1e-6)
    np.testing.assert_allclose(float(loss.generator_loss(real, fake)), want_g, atol=1e-6)


@pytest.mark.parametrize("name", ["bce", "bce_minimax", "bce_smoothed", "rsgan", "rasgan"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_extreme_logits_are_finite(name, sign):
    loss = losses.get(name)
    real = jnp.full((4,), 100.0 * sign)
    fake = jnp.full((4,), -100.0 * sign)
    for fn in (loss.discriminator_loss, loss.generator_loss):
        value = fn(real, fake)
        grads = jax.grad(fn, argnums=(0, 1))(real, fake)
        assert np.isfinite(float(value))
        assert all(np.all(np.isfinite(np.asarray(g))) for g in grads)
    if name == "bce":
        # Confidently wrong D: each term is -log σ(-100) ≈ 100; naive log(sigmoid) gives inf.
        want = 200.0 if sign < 0 else 0.0
        np.testing.assert_allclose(float(loss.discriminator_loss(real, fake)), want, atol=1e-4)


def test_bfloat16_inputs_are_computed_in_float32():
    real, fake = _logits(3)
    real16, fake16 = jnp.asarray(real, jnp.bfloat16), jnp.asarray(fake, jnp.bfloat16)
    for name in ("bce", "ralsgan"):
        loss = losses.get(name)
        d = loss.discriminator_loss(real16, fake16)
        assert d.dtype == jnp.float32
        want = loss.discriminator_loss(real16.astype(jnp.float32), fake16.astype(jnp.float32))
        assert float(d) == float(want)


def test_losses_work_under_jit():
    real, fake = _logits(4)
    loss = losses.get("bce_smoothed", real_label=0.8)
    step = jax.jit(lambda r, f: (loss.discriminator_loss(r, f), loss.generator_loss(r, f)))
    d, g = step(real, fake)
    assert float(d) == pytest.approx(float(loss.discriminator_loss(real, fake)), rel=1e-6)
    assert float(g) == pytest.approx(float(loss.generator_loss(real, fake)), rel=1e-6)
    # Instances are hashable and compare by options, so they can be static jit arguments.
    assert hash(loss) == hash(losses.get("bce_smoothed", real_label=0.8))
    assert loss != losses.get("bce_smoothed")


@pytest.mark.parametrize("name", RELATIVISTIC)
def test_relativistic_generator_depends_on_real(name):
    # Small logits keep every hinge term active, so a zero gradient can only mean the loss
    # ignores D(real) (e.g. the generator loss was replaced by the standard one).
    real, fake = _logits(5, scale=0.3)
    loss = losses.get(name)
    grad = jax.grad(loss.generator_loss)(jnp.asarray(real), jnp.asarray(fake))
    assert np.any(np.abs(np.asarray(grad)) > 1e-3)
    with pytest.raises(ValueError, match="needs real_logits"):
        loss.generator_loss(None, fake)


@pytest.mark.parametrize("name", sorted(set(ALL_NAMES) - set(RELATIVISTIC)))
def test_non_relativistic_generator_accepts_no_real(name):
    real, fake = _logits(6)
    loss = losses.get(name)
    assert float(loss.generator_loss(None, fake)) == float(loss.generator_loss(real, fake))


@pytest.mark.parametrize("name", ALL_NAMES)
def test_flags(name):
    loss = losses.get(name)
    assert loss.name == name
    assert loss.logistic is (name in LOGISTIC)
    assert loss.needs_real_for_generator is (name in RELATIVISTIC)


def test_names_are_exactly_the_registered_losses():
    assert losses.names() == ALL_NAMES


def test_unknown_name_lists_choices():
    with pytest.raises(ConfigError) as info:
        losses.get("foo")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("unknown loss 'foo'; choose one of: bce, bce_minimax, ")
    assert all(name in message for name in ALL_NAMES)


def test_unknown_option_names_valid_ones():
    with pytest.raises(ConfigError, match=r"no option 'foo'; valid options: none"):
        losses.get("bce", foo=1)
    with pytest.raises(ConfigError, match=r"no option 'label'; valid options: real_label"):
        losses.get("bce_smoothed", label=0.9)


@pytest.mark.parametrize("bad", [1.5, 0.0, -0.1, float("nan"), "0.9", True])
def test_invalid_real_label(bad):
    with pytest.raises(ConfigError, match=r"real_label must be in \(0, 1\]"):
        losses.get("bce_smoothed", real_label=bad)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match=r"shape \(B,\) or \(B, 1\)"):
        losses.get("bce").discriminator_loss(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="batch sizes differ"):
        losses.get("rsgan").discriminator_loss(np.zeros(4), np.zeros(3))


def test_register_rejects_duplicates_and_non_frozen_classes():
    with pytest.raises(ValueError, match="already registered"):
        losses.register(type(losses.get("bce")))

    class NotADataclass(losses.GANLoss):
        name = "not_a_dataclass"
        logistic = False

    with pytest.raises(TypeError, match="frozen"):
        losses.register(NotADataclass)
    assert "not_a_dataclass" not in losses.names()


def test_wgan_drift_adds_epsilon_mean_squared_real_score_to_the_critic_only():
    """ProGAN's ε-drift (Karras et al. 2018, A.1), by hand: real = [1, -3, 2], fake = [0.5, 1.5]:
    E D(fake) − E D(real) = 1 − 0 = 1; E D(real)² = (1 + 9 + 4)/3 = 14/3; ε = 0.001."""
    loss = losses.get("wgan", drift=0.001)
    real, fake = jnp.array([1.0, -3.0, 2.0]), jnp.array([0.5, 1.5])
    np.testing.assert_allclose(float(loss.discriminator_loss(real, fake)), 1.0 + 0.014 / 3, 1e-6)
    np.testing.assert_allclose(float(loss.generator_loss(None, fake)), -1.0, 1e-6)
    np.testing.assert_allclose(float(losses.get("wgan").discriminator_loss(real, fake)), 1.0)
    with pytest.raises(ConfigError, match="drift"):
        losses.get("wgan", drift=-1.0)
