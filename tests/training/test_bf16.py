"""Mixed precision (`model.dtype='bfloat16'`): bf16 compute tracks fp32 training, and the
parameters and optimizer state stay float32."""

import jax
import jax.numpy as jnp
import numpy as np
from helpers import tiny_config, write_npz
from jax import lax

from gan_jax.core.step import make_train_step
from gan_jax.data import make_source
from gan_jax.tasks.gan import build_spec, create_state

STEPS = 50


def _train(tmp_path, dtype: str):
    """50 steps of mnist_dcgan:tiny (the 28-px DCGAN with BatchNorm, Adam 2e-4, batch 8) on one
    fixed batch; returns the final state and the per-step losses."""
    source = write_npz(tmp_path / "digits.npz", (28, 28, 1), n=8)
    config = tiny_config("mnist_dcgan", **{"data.source": source, "model.dtype": dtype})
    src = make_source(config.data)
    spec = build_spec(config, src.data_shape)
    state = create_state(spec, src.data_shape, config.seed)
    x = jnp.asarray(src.batch(0, config.data.batch_size, config.seed)["x"])
    step = make_train_step(spec)

    def run(state):
        return lax.scan(lambda s, _: step(s, {"x": x}, jax.random.PRNGKey(1)), state, None, STEPS)

    state, metrics = jax.jit(run)(state)
    return state, {k: np.asarray(metrics[k]) for k in ("d_loss", "g_loss")}


def test_bf16_training_tracks_fp32_and_keeps_fp32_state(tmp_path):
    state32, losses32 = _train(tmp_path, "float32")
    state16, losses16 = _train(tmp_path, "bfloat16")
    # Same parameter tree, all float32 (params, BN statistics, Adam moments, EMA).
    assert jax.tree.structure(state16) == jax.tree.structure(state32)
    for leaf32, leaf16 in zip(jax.tree.leaves(state32), jax.tree.leaves(state16), strict=True):
        assert leaf16.dtype == leaf32.dtype
    floats = [leaf.dtype for leaf in jax.tree.leaves(state16) if jnp.issubdtype(leaf, jnp.floating)]
    assert floats and all(d == jnp.float32 for d in floats)
    # bf16 keeps 8 significant bits (relative rounding 2^-9 ≈ 0.2%) in every conv/matmul input,
    # so one step's losses differ by ~1e-3 relative, and 50 adversarial Adam steps let that grow
    # a little: measured max |Δ| 0.010 (1.5% relative) for both losses. The bounds (5% + 0.02)
    # leave ~3x margin; a real precision bug (bf16 master weights or Adam moments, an overflow, a
    # dropped update) shows in the dtype checks above or moves the losses far more.
    for name in ("d_loss", "g_loss"):
        assert np.all(np.isfinite(losses16[name]))
        np.testing.assert_allclose(losses16[name], losses32[name], rtol=0.05, atol=0.02)
        # ... but they do differ: the bf16 run computed in bf16 (identical losses would mean
        # model.dtype was ignored).
        assert np.max(np.abs(losses16[name] - losses32[name])) > 1e-4, name


def _activation_dtypes(module, variables, inputs):
    """{layer path: dtype} of every layer output in one forward pass, and the output dtype."""
    out, state = module.apply(
        variables, *inputs, train=False, capture_intermediates=True, mutable=["intermediates"]
    )
    leaves = jax.tree_util.tree_flatten_with_path(state["intermediates"])[0]
    return {jax.tree_util.keystr(path): leaf.dtype for path, leaf in leaves}, out.dtype


def test_bf16_model_computes_its_layers_in_bf16(tmp_path):
    """Every layer of both networks of the bf16 DCGAN outputs bfloat16; the networks hand
    float32 out, from float32 parameters."""
    source = write_npz(tmp_path / "digits.npz", (28, 28, 1), n=8)
    config = tiny_config("mnist_dcgan", **{"data.source": source, "model.dtype": "bfloat16"})
    spec = build_spec(config, (28, 28, 1))
    state = create_state(spec, (28, 28, 1), config.seed)
    z = jnp.ones((2, spec.latent_dim), jnp.float32)
    g_variables = {"params": state.g_params, "batch_stats": state.g_batch_stats}
    x = jnp.zeros((2, 28, 28, 1), jnp.float32)
    d_variables = {"params": state.d_params, "batch_stats": state.d_batch_stats}
    for module, variables, inputs, count in [
        (spec.generator, g_variables, (z, None), 7),  # project(+bn), up0/1(+bn), to_image
        (spec.discriminator, d_variables, (x, None), 4),  # down0, down1(+bn), logit
    ]:
        layers, out_dtype = _activation_dtypes(module, variables, inputs)
        assert out_dtype == jnp.float32
        inner = {k: v for k, v in layers.items() if k != "['__call__'][0]"}  # not the output
        assert len(inner) == count and set(inner.values()) == {jnp.dtype(jnp.bfloat16)}, layers
    params = jax.tree.leaves((state.g_params, state.d_params))
    assert {p.dtype for p in params} == {jnp.dtype(jnp.float32)}
