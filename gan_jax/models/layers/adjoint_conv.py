"""Strided convolutions whose gradients are computed by their adjoint's fast algorithm.

A stride-s convolution `conv(x, W)` and the transposed convolution `conv_transpose(y, W)` with
the same kernel are adjoint linear maps: <conv(x, W), y> = <x, conv_transpose(y, W)>. So each
one's input gradient is the other one's forward pass, and both kernel gradients are the same
correlation of x with y:

    conv:            dx = conv_transpose(g, W)    dW = K(x, g)
    conv_transpose:  dy = conv(g, W)              dW = K(g, y)

where K(x, g) = d<conv(x, W), g>/dW. Left to autodiff, XLA:CPU computes dx of a strided conv as
an input-dilated convolution and dW of a transposed conv as a kernel-dilated one, both slow
algorithms there (48 ms vs 23 ms for a DCGAN-64 D layer's dx, 55 vs 21 ms for a G layer's dW on
2 cores, batch 64). Here the rules above use the fast ones: a transposed conv's forward pass is
the sub-pixel algorithm (`models.layers.subpixel`), a conv's forward pass and K are XLA's own
strided convolution and its kernel gradient. The functions are exact (the same sums in another
order); higher-order reverse-mode gradients (R1, WGAN-GP) work, forward-mode (`jax.jvp`) does not.

Kernels follow `lax.conv_transpose(..., transpose_kernel=True)`: the (kh, kw, in, out) HWIO
kernel of `conv` is the (kh, kw, out, in) kernel of the transposed conv that undoes its shape.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from gan_jax.models.layers import safe_conv
from gan_jax.models.layers.subpixel import (
    SPLIT_MIN_FEATURES,
    conv_transpose_subpixel,
    transpose_padding,
)

Pads = tuple[tuple[int, int], ...]


def _kernel_grad(x, g, kernel_shape, dtype, strides, pads, precision) -> jax.Array:
    """K(x, g) = d<conv(x, W), g>/dW by XLA's own rule (linear in W: any W gives it)."""
    kernel = jnp.zeros(kernel_shape, dtype)
    _, vjp = jax.vjp(lambda w: safe_conv.conv(x, w, strides, pads, precision), kernel)
    return vjp(g)[0]


def _transpose_pads(in_shape, out_shape, kernel_shape, strides, pads) -> Pads:
    """lax.conv_transpose padding under which conv's adjoint maps `out_shape` to `in_shape`."""
    result = []
    for axis in range(2):
        k, s, lo = kernel_shape[axis], strides[axis], pads[axis][0]
        lo_t = k - 1 - lo
        result.append((lo_t, in_shape[1 + axis] - (out_shape[1 + axis] - 1) * s - lo_t + k - 2))
    return tuple(result)


def conv_pads(in_shape, kernel_shape, strides, padding) -> Pads:
    """Explicit (lo, hi) pairs for a conv's padding given as 'SAME', 'VALID' or pairs."""
    if isinstance(padding, str):
        return tuple(lax.padtype_to_pads(in_shape[1:3], kernel_shape[:2], strides, padding))
    return tuple((int(lo), int(hi)) for lo, hi in padding)


def transpose_pads(kernel_shape, strides, padding) -> Pads:
    """Explicit lax.conv_transpose pairs for 'SAME', 'VALID' or pairs."""
    if isinstance(padding, str):
        return tuple(transpose_padding(kernel_shape[i], strides[i], padding) for i in range(2))
    return tuple((int(lo), int(hi)) for lo, hi in padding)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def conv(x: jax.Array, kernel: jax.Array, strides: tuple, pads: Pads, precision: Any = None):
    """`lax.conv_general_dilated` (NHWC, HWIO) with the adjoint gradient rules above.

    dx is the sub-pixel transposed conv when x has >= 16 channels (XLA's own rule otherwise:
    it is faster for an RGB input layer).
    """
    return safe_conv.conv(x, kernel, strides, pads, precision)


def _conv_fwd(x, kernel, strides, pads, precision):
    return safe_conv.conv(x, kernel, strides, pads, precision), (x, kernel)


def _conv_bwd(strides, pads, precision, residuals, g):
    x, kernel = residuals
    if x.shape[-1] >= SPLIT_MIN_FEATURES:
        t_pads = _transpose_pads(x.shape, g.shape, kernel.shape, strides, pads)
        dx = conv_transpose_subpixel(g, kernel, strides, t_pads, precision, split_phases=True)
    else:
        _, vjp = jax.vjp(lambda v: safe_conv.conv(v, kernel, strides, pads, precision), x)
        dx = vjp(g)[0]
    return dx, _kernel_grad(x, g, kernel.shape, kernel.dtype, strides, pads, precision)


conv.defvjp(_conv_fwd, _conv_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def conv_transpose(
    y: jax.Array,
    kernel: jax.Array,
    strides: tuple,
    pads: Pads,
    precision: Any = None,
    split_phases: bool = True,
) -> jax.Array:
    """`lax.conv_transpose(y, kernel, strides, pads, transpose_kernel=True)` computed by
    `conv_transpose_subpixel`, with the adjoint gradient rules above."""
    return conv_transpose_subpixel(y, kernel, strides, pads, precision, split_phases)


def _conv_transpose_fwd(y, kernel, strides, pads, precision, split_phases):
    out = conv_transpose_subpixel(y, kernel, strides, pads, precision, split_phases)
    return out, (y, kernel)


def _conv_transpose_bwd(strides, pads, precision, split_phases, residuals, g):
    y, kernel = residuals
    kh, kw = kernel.shape[:2]
    (lo_h, hi_h), (lo_w, hi_w) = pads
    down = ((kh - 1 - lo_h, kh - 1 - hi_h), (kw - 1 - lo_w, kw - 1 - hi_w))
    dy = safe_conv.conv(g, kernel, strides, down, precision)
    return dy, _kernel_grad(g, y, kernel.shape, kernel.dtype, strides, down, precision)


conv_transpose.defvjp(_conv_transpose_fwd, _conv_transpose_bwd)
