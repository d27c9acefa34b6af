"""The Torch faces post's networks (`model.name='faces'`): parameter counts computed by hand from
the Lua layer list (skaae/torch-gan train_lfw.lua), shapes, sampling clip, dropout, errors."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gan_jax import models
from gan_jax.config import stabilizers_config
from gan_jax.errors import ConfigError


def _config(**overrides):
    fields = dict(name="faces", latent_dim=512, g_width=64, d_width=32, num_classes=0)
    return ml_collections.ConfigDict({**fields, **overrides})


def _count(tree) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def test_parameter_counts_equal_the_lua_models():
    gen, disc = models.build(_config(), (64, 64, 3), stabilizers_config())
    g_vars = jax.eval_shape(lambda: gen.init(jax.random.key(0), jnp.zeros((2, 512)), train=False))
    d_vars = jax.eval_shape(
        lambda: disc.init(jax.random.key(0), jnp.zeros((2, 64, 64, 3)), train=False)
    )
    d_expected = (
        (5 * 5 * 3 * 32 + 32)  # SpatialConvolution(3, 32, 5, 5)
        + (5 * 5 * 32 * 64 + 64)  # SpatialConvolution(32, 64, 5, 5)
        + (5 * 5 * 64 * 96 + 96)  # SpatialConvolution(64, 96, 5, 5)
        + (8 * 8 * 96 * 1024 + 1024)  # Linear(8*8*96, 1024)
        + (1024 + 1)  # Linear(1024, 1)
    )
    g_expected = (
        (512 * 128 * 8 * 8 + 128 * 8 * 8)  # Linear(noiseDim=512, 128*8*8)
        + (5 * 5 * 128 * 256 + 256)
        + 2 * 256  # conv 128→256, BN(256)
        + (5 * 5 * 256 * 256 + 256)
        + 2 * 256  # conv 256→256, BN(256)
        + (5 * 5 * 256 * 128 + 128)
        + 2 * 128  # conv 256→128, BN(128)
        + (3 * 3 * 128 * 3 + 3)  # SpatialConvolution(128, 3, 3, 3)
    )
    assert (_count(d_vars["params"]), d_expected) == (6_500_897, 6_500_897)
    assert (_count(g_vars["params"]), g_expected) == (7_484_675, 7_484_675)
    assert _count(g_vars["batch_stats"]) == 2 * (256 + 256 + 128)  # running mean and var
    assert "batch_stats" not in d_vars  # the post removed BatchNorm from D


def test_shapes_sampling_clip_and_spatial_dropout():
    st = stabilizers_config()
    st.d_dropout = 0.5
    gen, disc = models.build(_config(latent_dim=4, g_width=2, d_width=2), (16, 16, 3), st)
    z = jax.random.normal(jax.random.key(1), (3, 4)) * 50.0  # large z: outputs beyond [-1, 1]
    variables = gen.init(jax.random.key(0), z, train=False)
    train_out, _ = gen.apply(variables, z, train=True, mutable=["batch_stats"])
    sampled = gen.apply(variables, z, train=False)
    assert train_out.shape == sampled.shape == (3, 16, 16, 3)
    assert float(jnp.max(jnp.abs(train_out))) > 1.0  # linear output while training
    assert float(jnp.max(jnp.abs(sampled))) <= 1.0  # HardTanh when sampling, as the post
    x = jnp.ones((3, 16, 16, 3))
    d_vars = disc.init(jax.random.key(0), x, train=False)
    assert disc.apply(d_vars, x, train=False).shape == (3,)
    # spatial dropout keeps or zeroes whole channels: conv0's dropout input vs its output.
    captured = []

    def capture(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        if isinstance(context.module, nn.Dropout) and out.ndim == 4 and not captured:
            captured.append((np.asarray(args[0]), np.asarray(out)))
        return out

    with nn.intercept_methods(capture):
        disc.apply(d_vars, x, train=True, rngs={"dropout": jax.random.key(3)})
    before, after = (a.reshape(3, -1, a.shape[-1]) for a in captured[0])
    live = before != 0
    kept = np.isclose(after, before / 0.5) & live
    dropped = (after == 0) & live
    all_kept, all_dropped = (kept | ~live).all(axis=1), (dropped | ~live).all(axis=1)
    assert np.all(all_kept | all_dropped)  # per (example, channel): all or none
    has_live = live.any(axis=1)
    assert (all_dropped & has_live).any() and (all_kept & has_live).any()


@pytest.mark.parametrize(
    ("overrides", "shape", "needle"),
    [({}, (28, 28, 1), "divisible by 8"), ({"num_classes": 10}, (32, 32, 3), "unconditional")],
)
def test_bad_shapes_and_conditioning_are_config_errors(overrides, shape, needle):
    with pytest.raises(ConfigError, match=needle):
        models.build(_config(**overrides), shape)
