"""Drop-in Flax layers for `nn.Conv` and `nn.ConvTranspose(transpose_kernel=True)` that train
faster on XLA:CPU, with the same parameter trees (checkpoints work with either).

* `StridedConv`: `nn.Conv` (2-D, NHWC); with `adjoint_grads` its gradients come from
  `gan_jax.models.layers.adjoint_conv.conv` (dx by the sub-pixel transposed conv).
* `SubpixelConvTranspose`: `nn.ConvTranspose(transpose_kernel=True)` computed as stride-1
  conv(s) + depth-to-space (`models.layers.subpixel`); with `adjoint_grads` its gradients come
  from `adjoint_conv.conv_transpose` (dy by XLA's strided conv).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import adjoint_conv, safe_conv
from gan_jax.models.layers.subpixel import SPLIT_MIN_FEATURES, Padding, conv_transpose_subpixel


class _ConvFields(nn.Module):
    """The fields (and defaults) of `nn.Conv` / `nn.ConvTranspose` these layers accept."""

    features: int
    kernel_size: Sequence[int]
    strides: Sequence[int] = (1, 1)
    padding: Padding = "SAME"
    use_bias: bool = True
    dtype: Any = None
    param_dtype: Any = jnp.float32
    precision: Any = None
    adjoint_grads: bool = False
    kernel_init: Any = nn.initializers.lecun_normal()
    bias_init: Any = nn.initializers.zeros_init()

    def _params(self, inputs: jax.Array, kernel_shape: Sequence[int]):
        """Declare `kernel` (and `bias`) as the Flax layer does; inputs and both cast to
        `dtype`."""
        if inputs.ndim != 4:
            raise ValueError(f"expected NHWC inputs, got shape {inputs.shape}")
        kernel = self.param("kernel", self.kernel_init, tuple(kernel_shape), self.param_dtype)
        bias = None
        if self.use_bias:
            bias = self.param("bias", self.bias_init, (self.features,), self.param_dtype)
        return nn.dtypes.promote_dtype(inputs, kernel, bias, dtype=self.dtype)


class StridedConv(_ConvFields):
    """Drop-in for `nn.Conv(features, kernel_size, strides, padding)` on NHWC inputs (2-D).

    `adjoint_grads=True` computes the gradients of a strided conv by the adjoint rules of
    `gan_jax.models.layers.adjoint_conv` (same values, faster on XLA:CPU); stride-1 convs and
    `adjoint_grads=False` are `lax.conv_general_dilated` under plain autodiff (through
    `safe_conv.conv`, which avoids an XLA:CPU padding bug).
    """

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        kernel_shape = (*self.kernel_size, inputs.shape[-1], self.features)
        inputs, kernel, bias = self._params(inputs, kernel_shape)
        strides = tuple(self.strides)
        pads = adjoint_conv.conv_pads(inputs.shape, kernel_shape, strides, self.padding)
        if self.adjoint_grads and max(strides) > 1:
            y = adjoint_conv.conv(inputs, kernel, strides, pads, self.precision)
        else:
            y = safe_conv.conv(inputs, kernel, strides, pads, self.precision)
        return y if bias is None else y + bias


class SubpixelConvTranspose(_ConvFields):
    """Drop-in for `nn.ConvTranspose(features, kernel_size, strides, padding,
    transpose_kernel=True)` on NHWC inputs (2-D), computed by `conv_transpose_subpixel`.

    `split_phases` None picks per layer: one conv per phase when `features` >= 16.
    `adjoint_grads=True` differentiates it by `adjoint_conv.conv_transpose`'s rules.
    """

    split_phases: bool | None = None

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        kernel_shape = (*self.kernel_size, self.features, inputs.shape[-1])
        inputs, kernel, bias = self._params(inputs, kernel_shape)
        split = self.split_phases
        if split is None:
            split = self.features >= SPLIT_MIN_FEATURES
        strides = tuple(self.strides)
        pads = adjoint_conv.transpose_pads(kernel_shape, strides, self.padding)
        if self.adjoint_grads:
            y = adjoint_conv.conv_transpose(inputs, kernel, strides, pads, self.precision, split)
        else:
            y = conv_transpose_subpixel(inputs, kernel, strides, pads, self.precision, split)
        return y if bias is None else y + bias
