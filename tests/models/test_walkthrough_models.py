"""The walkthrough networks: parameter counts from each source's layer list (computed here by
hand), the Keras post's own model summaries, the data range of sigmoid networks, and the
building blocks (nearest/bilinear up-sampling, max-pool, spatial dropout, Glorot init)."""

import importlib
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import models
from gan_jax.core.sampling import fixed_latents, latent_sampler
from gan_jax.data.preprocess import from_model_range, resolve_data_range, to_model_range_from
from gan_jax.errors import ConfigError
from gan_jax.models import heads
from gan_jax.tasks import resolved


def _conv(k, cin, cout):
    return k * k * cin * cout + cout  # every walkthrough conv has a bias


def _dense(fan_in, fan_out):
    return fan_in * fan_out + fan_out


def _digits_mnist(z=100, k=10, w=64, c=1):
    g = (
        _dense(z + k, 16 * w)
        + 2 * 16 * w
        + _dense(16 * w + k, 7 * 7 * 2 * w)
        + 2 * 7 * 7 * 2 * w
        + _conv(5, 2 * w + k, 2 * w)
        + 2 * 2 * w
        + _conv(5, 2 * w + k, c)
    )
    d = (
        _conv(5, c + k, c + k)
        + _conv(5, c + k + k, w + k)
        + 2 * (w + k)
        + _dense(7 * 7 * (w + k) + k, 16 * w)
        + 2 * 16 * w
        + _dense(16 * w + k, 1)
    )
    return g, d


def _digits_celeba(z=100, w=64, c=3):
    g = _dense(z, 4 * 4 * 8 * w) + 2 * 8 * w
    for cin, cout in ((8 * w, 4 * w), (4 * w, 2 * w), (2 * w, w)):
        g += _conv(5, cin, cout) + 2 * cout
    g += _conv(5, w, c)
    d = _conv(5, c, w)
    for cin, cout in ((w, 2 * w), (2 * w, 4 * w), (4 * w, 8 * w)):
        d += _conv(5, cin, cout) + 2 * cout
    return g, d + _dense(4 * 4 * 8 * w, 1)


def _ocaml(z=100):  # const_batch_norm has no parameters
    g = _conv(7, z, 64) + _conv(4, 64, 32) + _conv(4, 32, 1)
    return g, _conv(4, 1, 32) + _conv(4, 32, 64) + _conv(7, 64, 1)


def _keras(z=100):
    g = _dense(z, 7 * 7 * 256) + 2 * 7 * 7 * 256  # BN: gamma and beta (trainable)
    for cin, cout in ((256, 128), (128, 64), (64, 32)):
        g += _conv(5, cin, cout) + 2 * cout
    g += _conv(5, 32, 1)
    d = _conv(5, 1, 64) + _conv(5, 64, 128) + _conv(5, 128, 256) + _conv(5, 256, 512)
    return g, d + _dense(4 * 4 * 512, 1)


def _mlp_tutorial(z=100):
    return _dense(z, 256) + _dense(256, 784), _dense(784, 256) + _dense(256, 1)


CASES = {
    "digits_mnist": ((28, 28, 1), _digits_mnist()),
    "digits_celeba": ((64, 64, 3), _digits_celeba()),
    "ocaml_mnist_dcgan": ((28, 28, 1), _ocaml()),
    "keras_dcgan": ((28, 28, 1), _keras()),
    "mlp_tutorial": ((28, 28, 1), _mlp_tutorial()),
}


def _variables(name, shape):
    config = importlib.import_module(f"experiments.configs.{name}").get_config()
    g, d = models.build(config.model, shape, config.stabilizers)
    k = config.model.num_classes
    z = jnp.zeros((2, config.model.latent_dim))
    y = jnp.zeros((2,), jnp.int32) if k else None
    rngs = {"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)}
    gv = jax.eval_shape(lambda: g.init(rngs, z, y))
    dv = jax.eval_shape(lambda: d.init(rngs, jnp.zeros((2, *shape)), y))
    return config, gv, dv


def _count(tree):
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(tree))


@pytest.mark.parametrize("name", sorted(CASES))
def test_parameter_counts_equal_the_walkthrough_layer_lists(name):
    shape, (g_expected, d_expected) = CASES[name]
    _, gv, dv = _variables(name, shape)
    assert (_count(gv["params"]), _count(dv["params"])) == (g_expected, d_expected)


def test_keras_counts_equal_the_posts_model_summaries():
    _, gv, dv = _variables("keras_dcgan", (28, 28, 1))
    assert _count(dv["params"]) == 4_311_553  # "Total params: 4,311,553"
    assert _count(gv["params"]) == 2_368_705  # "Trainable params: 2,368,705"
    assert _count(gv["params"]) + _count(gv["batch_stats"]) == 2_394_241  # "Total params"


def test_ocaml_batchnorm_has_no_parameters_and_normalises_by_the_batch():
    _, gv, _ = _variables("ocaml_mnist_dcgan", (28, 28, 1))
    assert set(gv["params"]) == {"convt1_kernel", "convt1_bias", "convt2", "convt3"}
    bn = nn.BatchNorm(use_running_average=False, use_scale=False, use_bias=False, epsilon=1e-5)
    x = np.random.default_rng(0).normal(3.0, 2.0, (16, 5)).astype(np.float32)
    y, _ = bn.apply(bn.init(jax.random.PRNGKey(0), x), x, mutable=["batch_stats"])
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["digits_mnist", "keras_dcgan", "mlp_tutorial"])
def test_sigmoid_networks_see_x_over_255(name):
    """A sigmoid G's images in [0, 1] come out as 2s - 1, and its D reads the data as x/255."""
    config = resolved(importlib.import_module(f"experiments.configs.{name}").get_config())
    assert config.model.output == "sigmoid"
    assert resolve_data_range(config.model.data_range, config.model.output) == "0,1"
    u = np.arange(256, dtype=np.float32)
    model = u / 127.5 - 1.0  # what every data source gives
    np.testing.assert_allclose(from_model_range(model, "0,1"), u / 255.0, atol=1e-6)
    s = np.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(to_model_range_from(s, "0,1"), 2 * s - 1, atol=1e-12)


def test_sigmoid_generator_output_is_the_sigmoid_mapped_to_minus_one_one():
    h = jnp.linspace(-6.0, 6.0, 13)
    out = heads.generator_output(h, "sigmoid", "0,1")
    np.testing.assert_allclose(np.asarray(out), 2 / (1 + np.exp(-np.asarray(h))) - 1, atol=1e-6)


def test_a_sigmoid_head_on_minus_one_one_data_is_a_config_error():
    config = importlib.import_module("experiments.configs.mlp_tutorial").get_config()
    config.model.data_range = "-1,1"
    with pytest.raises(ConfigError, match="data_range"):
        models.build(config.model, (28, 28, 1))


def test_upsample_nearest_and_bilinear():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    near = np.asarray(heads.upsample2x(jnp.asarray(x), "nearest"))
    np.testing.assert_array_equal(near, x.repeat(2, axis=1).repeat(2, axis=2))
    bil = np.asarray(heads.upsample2x(jnp.asarray(x), "bilinear"))
    np.testing.assert_allclose(bil, _bilinear2x(_bilinear2x(x, 1), 2), atol=1e-5)


def _bilinear2x(x, axis):
    """2x linear up-sampling along `axis` with half-pixel centres and clamped edges: output
    2i is 1/4 x[i-1] + 3/4 x[i], output 2i+1 is 3/4 x[i] + 1/4 x[i+1]."""
    x = np.moveaxis(x, axis, 0)
    prev, nxt = np.concatenate([x[:1], x[:-1]]), np.concatenate([x[1:], x[-1:]])
    out = np.empty((2 * len(x), *x.shape[1:]), x.dtype)
    out[0::2], out[1::2] = 0.25 * prev + 0.75 * x, 0.75 * x + 0.25 * nxt
    return np.moveaxis(out, 0, axis)


def test_max_pool_and_spatial_dropout():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    pooled = np.asarray(heads.max_pool2x(jnp.asarray(x)))
    np.testing.assert_array_equal(pooled, x.reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4)))

    class Drop(nn.Module):
        @nn.compact
        def __call__(self, h):
            return heads.dropout(self, h, 0.5, "spatial", train=True)

    ones = jnp.ones((4, 6, 6, 32))
    out = np.asarray(Drop().apply({}, ones, rngs={"dropout": jax.random.PRNGKey(3)}))
    per_map = out.reshape(4, 36, 32)
    assert np.all(per_map.min(axis=1) == per_map.max(axis=1))  # whole maps kept or dropped
    assert set(np.unique(out)) == {0.0, 2.0}


def test_glorot_initialisers():
    fan_in, fan_out = 400, 300
    for name, expected_std in (
        ("glorot_normal", math.sqrt(2 / (fan_in + fan_out))),
        ("glorot_uniform", math.sqrt(6 / (fan_in + fan_out)) / math.sqrt(3)),
    ):
        w = np.asarray(heads.initializer(name, None)(jax.random.PRNGKey(0), (fan_in, fan_out)))
        assert abs(w.std() - expected_std) < 0.02 * expected_std, name
    w = np.asarray(heads.initializer("glorot_normal", None)(jax.random.PRNGKey(0), (400, 300)))
    assert np.abs(w).max() > 2.5 * math.sqrt(2 / 700)  # not truncated, as tf.random_normal


def test_uniform_prior_for_pictures_and_load():
    z = fixed_latents(3, 500, 10, "uniform")
    assert z.min() >= -1 and z.max() <= 1 and abs(z.std() - 1 / math.sqrt(3)) < 0.02
    gen = models.mlp.MLPGenerator((4,), 8, latent_prior="uniform")
    np.testing.assert_array_equal(fixed_latents(3, 500, 10, gen), z)
    assert latent_sampler(models.mlp.MLPGenerator((4,), 8)) is jax.random.normal


def test_keras_generator_dropout_without_a_dropout_rng_follows_z():
    """gan_jax's step gives G no 'dropout' rng; the mask then comes from z (fresh per draw)."""
    z = jax.random.uniform(jax.random.PRNGKey(0), (4, 6), minval=-1, maxval=1)
    noise = heads.noise_key

    def hidden(dropout, z, rngs=None):
        g = models.keras_dcgan.KerasDCGANGenerator((8, 8, 1), 4, dropout=dropout)
        v = g.init({"params": jax.random.PRNGKey(1)}, z, train=False)
        out, _ = g.apply(v, z, train=True, mutable=["batch_stats"], rngs=rngs or {})
        return np.asarray(out)

    assert not np.allclose(hidden(0.4, z), hidden(0.0, z))  # dropout is on in training
    np.testing.assert_array_equal(hidden(0.4, z), hidden(0.4, z))  # reproducible from z
    assert not np.allclose(hidden(0.4, z), hidden(0.4, z, {"dropout": jax.random.PRNGKey(5)}))
    assert not np.array_equal(np.asarray(noise(z)), np.asarray(noise(z + 1e-3)))
