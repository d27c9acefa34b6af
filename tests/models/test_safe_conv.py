"""`safe_conv.conv` computes a conv with any explicit padding correctly on XLA:CPU, with its
first and second derivatives (gan_jax/models/layers/safe_conv.py; openxla/xla#48713: the plain
`lax.conv_general_dilated` is wrong for several of these paddings)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from gan_jax.models.layers import safe_conv


def pad_and_crop(pad, x, pads):
    """A conv's padding by its definition: NHWC `x` zero-padded (`pad` is np.pad or jnp.pad) by
    the positive parts of `pads`; returns that and the crop by the negative parts."""
    (lo_h, hi_h), (lo_w, hi_w) = pads
    padded = pad(x, ((0, 0), (max(lo_h, 0), max(hi_h, 0)), (max(lo_w, 0), max(hi_w, 0)), (0, 0)))
    keep = (
        slice(None),
        slice(max(-lo_h, 0), padded.shape[1] - max(-hi_h, 0)),
        slice(max(-lo_w, 0), padded.shape[2] - max(-hi_w, 0)),
    )
    return padded, keep


def conv_f64(x, w, stride, pads, g):
    """float64 y = conv(x, w) from the definition (zero-pad or crop, then strided windows), and
    the exact (dx, dW) of <y, g>."""
    x, w, g = (np.asarray(a, np.float64) for a in (x, w, g))
    (lo_h, _), (lo_w, _) = pads
    padded, keep = pad_and_crop(np.pad, x, pads)  # `keep` maps dx back to x below
    xp = padded[keep]
    kh, kw = w.shape[:2]
    oh, ow = (xp.shape[1] - kh) // stride + 1, (xp.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for a in range(kh):
        for c in range(kw):
            rows = slice(a, a + stride * (oh - 1) + 1, stride)
            cols = slice(c, c + stride * (ow - 1) + 1, stride)
            y += xp[:, rows, cols] @ w[a, c]
            dxp[:, rows, cols] += g @ w[a, c].T
            dw[a, c] = np.einsum("bhwi,bhwo->io", xp[:, rows, cols], g)
    dpadded = np.zeros_like(padded)
    dpadded[keep] = dxp
    dx = dpadded[
        :, max(lo_h, 0) : max(lo_h, 0) + x.shape[1], max(lo_w, 0) : max(lo_w, 0) + x.shape[2]
    ]
    return y, dx, dw


# (kernel, stride, (lo, hi) of H, (lo, hi) of W): negative low with positive high padding on
# either axis (wrong on XLA:CPU), low padding beyond kernel - 1 (its autodiff input gradient
# has such a padding), negative both ends, and a usual DCGAN padding.
GEOMETRIES = [
    (3, 1, (-1, 1), (0, 0)),
    (3, 2, (0, 0), (-1, 2)),
    (3, 3, (-2, 2), (-1, 1)),
    (4, 1, (-2, 2), (1, 1)),
    (1, 1, (-1, 1), (-1, 1)),
    (2, 1, (3, 0), (2, 0)),
    (3, 2, (4, -1), (0, 3)),
    (3, 1, (-1, -1), (1, -1)),
    (4, 2, (1, 1), (1, 1)),
]


@pytest.mark.parametrize("kernel,stride,pad_h,pad_w", GEOMETRIES)
def test_matches_the_definition(kernel, stride, pad_h, pad_w):
    rng = np.random.default_rng(kernel * 10 + stride)
    x = jnp.asarray(rng.normal(size=(2, 9, 10, 5)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(kernel, kernel, 5, 4)), jnp.float32)
    pads = (pad_h, pad_w)

    def f(x, w):
        return safe_conv.conv(x, w, (stride, stride), pads, "highest")

    y, vjp = jax.vjp(f, x, w)
    g = jnp.asarray(rng.normal(size=y.shape), jnp.float32)
    for got, want in zip((y, *vjp(g)), conv_f64(x, w, stride, pads, g), strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel,stride,pad_h,pad_w", GEOMETRIES)
def test_second_order_matches_explicit_padding(kernel, stride, pad_h, pad_w):
    """d/dx of |d/dx sum tanh(conv(x))|² (an R1 penalty's shape) equals the same through
    jnp.pad + crop + a VALID conv, which never gives XLA a negative padding."""
    rng = np.random.default_rng(kernel * 10 + stride)
    x = jnp.asarray(rng.normal(size=(2, 8, 9, 3)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(kernel, kernel, 3, 4)), jnp.float32)
    pads = (pad_h, pad_w)

    def explicit(x):
        padded, keep = pad_and_crop(jnp.pad, x, pads)
        xp = padded[keep]
        dn = ("NHWC", "HWIO", "NHWC")
        return lax.conv_general_dilated(xp, w, (stride, stride), "VALID", dimension_numbers=dn)

    def safe(x):
        return safe_conv.conv(x, w, (stride, stride), pads)

    def penalty(conv, x):
        grad = jax.grad(lambda v: jnp.sum(jnp.tanh(conv(v))))(x)
        return jnp.sum(grad**2)

    with jax.default_matmul_precision("highest"):
        got = jax.grad(lambda v: penalty(safe, v))(x)
        want = jax.grad(lambda v: penalty(explicit, v))(x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_usual_paddings_compile_to_the_plain_conv():
    """SAME/VALID/DCGAN paddings need no slice or pad: the HLO has only the convolution."""
    x = jnp.ones((1, 8, 8, 3))
    w = jnp.ones((4, 4, 3, 2))
    for pads in itertools.product([(1, 1), (0, 0), (1, 2), (3, 0)], repeat=2):
        text = jax.jit(lambda x, w, p=pads: safe_conv.conv(x, w, (2, 2), p)).lower(x, w).as_text()
        assert "stablehlo.slice" not in text and "stablehlo.pad" not in text, pads
        assert text.count("stablehlo.convolution") == 1
