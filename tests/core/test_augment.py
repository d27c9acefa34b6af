"""DiffAugment: each op against a numpy transcription of the paper's reference code, gradients
against finite differences, what D sees in D's and G's steps, identity when off, and 2 devices
= 1 device."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from helpers import spec_state, tiny_config

from gan_jax import losses, models
from gan_jax.config import base_config
from gan_jax.core import augment, updates
from gan_jax.core.augmentation import from_policy
from gan_jax.core.device_axis import DeviceAxis
from gan_jax.core.spec import GANSpec
from gan_jax.core.updates import d_loss, g_loss
from gan_jax.errors import ConfigError
from gan_jax.tasks.gan import build_spec
from gan_jax.training.parallel import Runner

AXIS = DeviceAxis()
POLICY = ("color", "translation", "cutout")


def _uniform(key, n):
    return jax.random.uniform(key, (n,), jnp.float32)


def _images(n=4, size=8, channels=3, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype(np.float32)


# numpy transcriptions of DiffAugment_pytorch.py (NCHW there, NHWC here), float64.
def _np_translation(x, tx, ty):
    n, h, w, _ = x.shape
    pad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    gb, gx, gy = np.meshgrid(np.arange(n), np.arange(h), np.arange(w), indexing="ij")
    gx = np.clip(gx + tx[:, None, None] + 1, 0, h + 1)
    gy = np.clip(gy + ty[:, None, None] + 1, 0, w + 1)
    return pad[gb, gx, gy]


def _np_cutout(x, ox, oy, side):
    n, h, w, _ = x.shape
    gb, gx, gy = np.meshgrid(np.arange(n), np.arange(side), np.arange(side), indexing="ij")
    gx = np.clip(gx + ox[:, None, None] - side // 2, 0, h - 1)
    gy = np.clip(gy + oy[:, None, None] - side // 2, 0, w - 1)
    mask = np.ones((n, h, w))
    mask[gb, gx, gy] = 0
    return x * mask[..., None]


def test_translation_matches_the_reference_code():
    x = _images(5, 16)
    tx, ty = np.array([-2, 0, 2, 1, -1]), np.array([2, -2, 0, -1, 1])  # s = 2 at 16 px
    got = augment.translation(jnp.asarray(x), jnp.asarray(tx), jnp.asarray(ty))
    np.testing.assert_array_equal(np.asarray(got), _np_translation(x, tx, ty))


@pytest.mark.parametrize("size", [8, 9])  # even and odd cutout sides (4 and 5)
def test_cutout_matches_the_reference_code(size):
    x = _images(6, size)
    side = int(size * 0.5 + 0.5)
    ox = np.array([0, 1, size // 2, size - 1, size - side % 2, 3])
    oy = np.array([size - 1, 0, 2, size // 2, 1, size - side % 2])
    got = augment.cutout(jnp.asarray(x), jnp.asarray(ox), jnp.asarray(oy))
    np.testing.assert_array_equal(np.asarray(got), _np_cutout(x, ox, oy, side))


def test_color_ops_follow_their_formulas():
    x = _images(3).astype(np.float64)
    u = np.array([0.1, 0.5, 0.9])
    b = u[:, None, None, None]
    bright = x + (b - 0.5)
    sat = (x - x.mean(3, keepdims=True)) * 2 * b + x.mean(3, keepdims=True)
    con = (x - x.mean((1, 2, 3), keepdims=True)) * (b + 0.5) + x.mean((1, 2, 3), keepdims=True)
    for fn, expected in [
        (augment.brightness, bright),
        (augment.saturation, sat),
        (augment.contrast, con),
    ]:
        got = fn(jnp.asarray(x, jnp.float32), jnp.asarray(u, jnp.float32))
        np.testing.assert_allclose(np.asarray(got), expected, atol=1e-6)


def test_draws_cover_the_documented_ranges():
    # 8 px: translation s = 1, so shifts in {-1, 0, 1}; cutout side 4, centres in [0, 8].
    x = jnp.ones((400, 8, 8, 1))
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    ux, uy = _uniform(keys[0], 400), _uniform(keys[1], 400)
    shifts = np.asarray(augment._int_draw(ux, -1, 3))
    assert set(shifts.tolist()) == {-1, 0, 1}
    cut = np.asarray(augment.cutout(x, augment._int_draw(ux, 0, 9), augment._int_draw(uy, 0, 9)))
    zeros = (cut[..., 0] == 0).sum(axis=(1, 2))
    assert zeros.max() == 16 and zeros.min() == 4  # full square inside, quarter at a corner


def test_same_key_same_transform_and_streams_differ():
    x = jnp.asarray(_images())
    key = jax.random.PRNGKey(3)
    a = augment.diff_augment(x, POLICY, key, _uniform)
    b = augment.diff_augment(x, POLICY, key, _uniform)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    real = augment.augment_key(key, augment.REAL)
    fake = augment.augment_key(key, augment.FAKE)
    ra = augment.diff_augment(x, POLICY, real, _uniform)
    fa = augment.diff_augment(x, POLICY, fake, _uniform)
    assert not np.allclose(np.asarray(ra), np.asarray(fa))


def test_gradients_match_finite_differences():
    # For a fixed draw every op is affine in x, so T(x + v) - T(x) is exactly J·v.
    x = jnp.asarray(_images(2, 8))
    key = jax.random.PRNGKey(1)
    w = jnp.asarray(np.random.default_rng(5).normal(size=x.shape), jnp.float32)

    def f(inputs):
        return jnp.sum(w * augment.diff_augment(inputs, POLICY, key, _uniform))

    v = jnp.asarray(np.random.default_rng(6).normal(size=x.shape), jnp.float32) * 1e-2
    grad = jax.grad(f)(x)
    np.testing.assert_allclose(float(jnp.sum(grad * v)), float(f(x + v) - f(x)), rtol=2e-3)
    # The gradient is zero exactly on pixels that cutout/translation drop for every channel.
    cut_only = jax.grad(
        lambda inputs: jnp.sum(augment.diff_augment(inputs, ("cutout",), key, _uniform))
    )(x)
    dropped = np.asarray(augment.diff_augment(jnp.ones_like(x), ("cutout",), key, _uniform)) == 0
    assert np.all(np.asarray(cut_only)[dropped] == 0) and np.all(
        np.asarray(cut_only)[~dropped] == 1
    )


def _spec(policy=POLICY, loss="ralsgan", shape=(8, 8, 1)):
    model = base_config().model
    model.name, model.latent_dim, model.g_width, model.d_width = "mlp", 4, 8, 8
    model.output = "tanh"
    g, d = models.build(model, shape)
    policy = augment.validate(ml_collections.ConfigDict({"policy": ",".join(policy)}), shape)
    tx = optax.sgd(0.1)
    return GANSpec(g, d, losses.get(loss), tx, tx, latent_dim=4, augment=from_policy(policy))


def test_d_and_g_see_the_documented_transforms():
    spec, shape = _spec(), (8, 8, 1)
    state = spec_state(spec, shape)
    rng = np.random.default_rng(7)
    x, fake = (jnp.asarray(rng.uniform(-1, 1, (4, *shape)), jnp.float32) for _ in range(2))
    drop, key = jax.random.PRNGKey(0), jax.random.PRNGKey(9)

    def d_on(images):
        variables = {"params": state.d_params}
        return spec.discriminator.apply(variables, images, None, train=True)

    def seen(images, k, stream):
        return augment.diff_augment(images, POLICY, augment.augment_key(k, stream), _uniform)

    _, out = d_loss(spec, AXIS, state.d_params, state, x, fake, None, drop, key)
    np.testing.assert_allclose(out.real_logits, d_on(seen(x, key, augment.REAL)), rtol=1e-6)
    np.testing.assert_allclose(out.fake_logits, d_on(seen(fake, key, augment.FAKE)), rtol=1e-6)
    assert not np.allclose(out.real_logits, d_on(x))
    # G's step: the same rule with G's key; ralsgan's G loss uses both passes.
    z = jnp.asarray(rng.normal(size=(4, 4)), jnp.float32)
    g_fake = spec.generator.apply({"params": state.g_params}, z, None)
    value, _ = g_loss(spec, AXIS, state.g_params, state, {}, z, x, None, drop, key)
    expected = spec.loss.generator_loss(
        d_on(seen(x, key, augment.REAL)), d_on(seen(g_fake, key, augment.FAKE))
    )
    np.testing.assert_allclose(float(value), float(expected), rtol=1e-6)


def test_empty_policy_is_the_identity_and_the_config_reaches_the_spec():
    plain = _spec(policy=())
    x = jnp.asarray(_images(4, 8, 1))
    assert updates.augmented(plain, AXIS, x, jax.random.PRNGKey(0), augment.REAL, None) is x
    on = updates.augmented(_spec(), AXIS, x, jax.random.PRNGKey(0), augment.REAL, None)
    assert not np.array_equal(np.asarray(on), np.asarray(x))
    config = tiny_config("mnist_dcgan")
    assert build_spec(config, (28, 28, 1)).augment is None
    config.augment.policy = "color,cutout"
    hook = build_spec(config, (28, 28, 1)).augment
    assert hook.policy == augment.parse_policy("color,cutout") != ()


@pytest.mark.skipif(jax.device_count() < 2, reason="needs 2 (fake) CPU devices")
def test_pmap_matches_one_device_with_augmentation():
    spec, shape = _spec(), (8, 8, 1)
    batches = [{"x": _images(4, 8, 1, seed=s)} for s in range(2)]
    results = []
    for mode, devices in (("sharded", jax.devices()[:1]), ("pmap", jax.devices()[:2])):
        runner = Runner(spec, mode, devices)
        state = runner.place_state(spec_state(spec, shape))
        rng = runner.place_rng(jax.random.PRNGKey(2))
        for b in batches:
            state, metrics = runner.step(state, runner.place_batch(b), rng)
        results.append((jax.device_get(runner.host_state(state)), runner.host_metrics(metrics)))
    (one, m1), (two, m2) = results
    for a, b in zip(jax.tree.leaves(one.d_params), jax.tree.leaves(two.d_params), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m1["g_loss"], m2["g_loss"], rtol=1e-5)


def test_bad_policies_are_config_errors():
    with pytest.raises(ConfigError, match="unknown op 'blur'"):
        augment.parse_policy("color,blur")
    with pytest.raises(ConfigError, match="needs images"):
        augment.validate(ml_collections.ConfigDict({"policy": "color"}), (2,))


def test_policy_spellings_for_ablation_sweeps():
    assert augment.parse_policy("color+translation+cutout") == ("color", "translation", "cutout")
    assert augment.parse_policy("none") == augment.parse_policy("") == ()
    assert augment.parse_policy(" color , cutout ") == ("color", "cutout")
