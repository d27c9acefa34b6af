"""Sub-pixel transposed convs compute the same function, gradients and parameters as
`lax.conv_transpose(transpose_kernel=True)` / `nn.ConvTranspose`
(gan_jax/models/layers/subpixel.py)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from gan_jax import config as config_lib
from gan_jax import models
from gan_jax.errors import ConfigError
from gan_jax.models import dcgan
from gan_jax.models.layers.conv_layers import SubpixelConvTranspose
from gan_jax.models.layers.subpixel import conv_transpose_subpixel

# (kernel, stride, padding): the DCGAN geometries (4x4 s2 PyTorch padding=1 = lax (2, 2); the
# 28-px model's 5x5 s2 SAME), plus VALID, an odd kernel with SAME, stride 3 and asymmetric pads;
# the last two give the phase convs paddings that plain XLA:CPU convs get wrong (safe_conv.py).
GEOMETRIES = [
    (4, 2, ((2, 2), (2, 2))),
    (5, 2, "SAME"),
    (4, 2, "VALID"),
    (3, 2, "SAME"),
    (3, 3, ((1, 2), (0, 2))),
    (5, 2, ((4, 3), (3, 4))),
    (4, 2, ((5, 1), (5, 1))),  # padding > kernel - 1: phases with only negative offsets
    (3, 3, ((0, 4), (0, 4))),
]


def torch_conv_transpose_f64(x, w, stride, padding, g=None):
    """float64 reference from the definition: y[s·i + k - P] += x[i] · W[k] (PyTorch's
    ConvTranspose2d), with P = K - 1 - lo and the output cropped to lax's length. With a
    cotangent `g` of y's shape, also the exact (dx, dW) of <y, g> (the same sums)."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    b, h, wd, _ = x.shape
    kh, kw, out_ch, _ = w.shape
    if isinstance(padding, str):
        from gan_jax.models.layers.subpixel import transpose_padding

        padding = [transpose_padding(kh, stride, padding), transpose_padding(kw, stride, padding)]
    (lo_h, hi_h), (lo_w, hi_w) = padding
    out_h = (h - 1) * stride + 1 + lo_h + hi_h - kh + 1
    out_w = (wd - 1) * stride + 1 + lo_w + hi_w - kw + 1
    ph, pw = kh - 1 - lo_h, kw - 1 - lo_w
    y = np.zeros((b, out_h, out_w, out_ch))
    g = None if g is None else np.asarray(g, np.float64)
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(h):
        for j in range(wd):
            for a in range(kh):
                for c in range(kw):
                    n, m = stride * i + a - ph, stride * j + c - pw
                    if 0 <= n < out_h and 0 <= m < out_w:
                        y[:, n, m, :] += x[:, i, j, :] @ w[a, c].T
                        if g is not None:
                            dx[:, i, j, :] += g[:, n, m, :] @ w[a, c]
                            dw[a, c] += g[:, n, m, :].T @ x[:, i, j, :]
    return y if g is None else (y, dx, dw)


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("kernel,stride,padding", GEOMETRIES)
def test_forward_and_gradients_match_conv_transpose(kernel, stride, padding, split):
    rng = np.random.default_rng(kernel * 10 + stride)
    x = jnp.asarray(rng.normal(size=(2, 5, 6, 3)), jnp.float32)  # odd, non-square sizes
    w = jnp.asarray(rng.normal(size=(kernel, kernel, 4, 3)), jnp.float32)

    def sub(x, w):
        return conv_transpose_subpixel(x, w, (stride, stride), padding, "highest", split)

    y_sub, vjp_sub = jax.vjp(sub, x, w)
    cotangent = jnp.asarray(rng.normal(size=y_sub.shape), jnp.float32)
    expected = torch_conv_transpose_f64(x, w, stride, padding, cotangent)
    y_ref = lax.conv_transpose(
        x, w, (stride, stride), padding, transpose_kernel=True, precision="highest"
    )
    np.testing.assert_allclose(y_ref, expected[0], atol=1e-4)  # the reference is lax's meaning
    for got, want in zip((y_sub, *vjp_sub(cotangent)), expected, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("split", [None, False, True])
@pytest.mark.parametrize("use_bias", [False, True])
def test_module_is_a_drop_in_for_nn_conv_transpose(use_bias, split):
    kwargs = dict(
        features=5, kernel_size=(4, 4), strides=(2, 2), padding=((2, 2), (2, 2)), use_bias=use_bias
    )
    bias_init = nn.initializers.normal(1.0)  # non-zero, so the bias is really added
    ref = nn.ConvTranspose(transpose_kernel=True, bias_init=bias_init, **kwargs)
    sub = SubpixelConvTranspose(split_phases=split, bias_init=bias_init, **kwargs)
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 7, 6))
    params_ref = ref.init(jax.random.PRNGKey(0), x)
    params_sub = sub.init(jax.random.PRNGKey(0), x)
    assert jax.tree.structure(params_ref) == jax.tree.structure(params_sub)
    jax.tree.map(np.testing.assert_array_equal, params_ref, params_sub)  # same init values
    np.testing.assert_allclose(
        sub.apply(params_ref, x), ref.apply(params_ref, x), rtol=1e-5, atol=1e-5
    )


def _generators(size: int, num_classes: int = 0):
    shape = (size, size, 1 if size == 28 else 3)
    return [
        dcgan.build(shape, 4, 4, num_classes, jnp.float32, upsample=up)[0]
        for up in ("transpose", "subpixel")
    ]


@pytest.mark.parametrize("size,num_classes", [(28, 0), (28, 3), (32, 0), (64, 0), (128, 2)])
def test_whole_generator_same_params_same_function(size, num_classes):
    g_t, g_s = _generators(size, num_classes)
    z = jax.random.normal(jax.random.PRNGKey(0), (3, 8))
    labels = jnp.arange(3) % num_classes if num_classes else None
    vars_t = g_t.init(jax.random.PRNGKey(1), z, labels, train=False)
    vars_s = g_s.init(jax.random.PRNGKey(1), z, labels, train=False)
    assert jax.tree.structure(vars_t) == jax.tree.structure(vars_s)
    jax.tree.map(np.testing.assert_array_equal, vars_t, vars_s)

    def loss(g, params, z):
        out, _ = g.apply(
            {**vars_t, "params": params}, z, labels, train=True, mutable=["batch_stats"]
        )
        return jnp.sum(out * jnp.linspace(-1.0, 1.0, out.size).reshape(out.shape)), out

    grad_fn = jax.jit(jax.value_and_grad(loss, (1, 2), has_aux=True), static_argnums=0)
    (l_t, out_t), grads_t = grad_fn(g_t, vars_t["params"], z)
    (l_s, out_s), grads_s = grad_fn(g_s, vars_t["params"], z)
    assert out_t.shape == out_s.shape == (3, size, size, 1 if size == 28 else 3)
    np.testing.assert_allclose(out_s, out_t, atol=2e-5)
    np.testing.assert_allclose(l_s, l_t, rtol=1e-4, atol=1e-4)
    scale = max(float(jnp.max(jnp.abs(g))) for g in jax.tree.leaves(grads_t))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-4 * scale), grads_s, grads_t)


@pytest.mark.parametrize("field,bad", [("upsample", "nearest"), ("conv_grads", "fast")])
def test_conv_choices_are_validated(field, bad):
    """model.upsample and model.conv_grads (tests/test_adjoint_conv.py) reject unknown values."""
    config = config_lib.base_config()
    config.model[field] = bad
    with pytest.raises(ConfigError, match=f"model.{field}"):
        models.build(config.model, (32, 32, 3))
