"""An NHWC `lax.conv_general_dilated` whose padding XLA:CPU computes correctly.

XLA:CPU (jaxlib 0.10.2 here; openxla/xla#48713, fix proposed in openxla/xla#48748) returns
wrong values, or reads uninitialised memory (NaN), for a convolution whose padding on a spatial
axis is negative at the low end and positive at the high end, e.g. ((-1, 1), ...). That happens
both when such a padding is passed in and when autodiff makes one: the input gradient of a conv
with low padding lo > kernel - 1 is a conv with low padding kernel - 1 - lo < 0. The sub-pixel
phases of a transposed conv produce both kinds for some geometries.

`conv` never gives XLA such a padding: a negative pad becomes a slice of the input (the same
windows), and low padding beyond kernel - 1 (windows wholly in padding) becomes an explicit
`jnp.pad`. The convolution XLA sees then has 0 <= lo <= kernel - 1 and hi >= 0 on every spatial
axis, and so do the transposes autodiff derives from it (lo of the input gradient is
kernel - 1 - lo >= 0; the kernel gradient keeps lo). Usual paddings (SAME, VALID, DCGAN's) need
neither step, so they compile to exactly the plain convolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

Pads = tuple[tuple[int, int], ...]


def safe_padding(x: jax.Array, kernel_size: Sequence[int], pads: Pads) -> tuple[jax.Array, Pads]:
    """(x', pads') with conv(x', pads') == conv(x, pads) for NHWC `x` and 0 <= lo' <= k - 1,
    hi' >= 0 on both spatial axes."""
    crop = [slice(None)] * x.ndim
    extra = [(0, 0)] * x.ndim
    safe = []
    for axis, (k, (lo, hi)) in enumerate(zip(kernel_size, pads, strict=True), start=1):
        crop[axis] = slice(max(-lo, 0), x.shape[axis] - max(-hi, 0))
        excess = max(lo - (k - 1), 0)
        extra[axis] = (excess, 0)
        safe.append((max(lo, 0) - excess, max(hi, 0)))
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        x = x[tuple(crop)]
    if any(lo for lo, _ in extra):
        x = jnp.pad(x, extra)
    return x, tuple(safe)


def conv(
    x: jax.Array,
    kernel: jax.Array,
    strides: Sequence[int],
    pads: Pads,
    precision: Any = None,
    kernel_spec: str = "HWIO",
) -> jax.Array:
    """`lax.conv_general_dilated(x, kernel, strides, pads)` for NHWC `x` and an HWIO (or HWOI)
    kernel, with explicit (lo, hi) `pads` of any sign."""
    x, pads = safe_padding(x, kernel.shape[:2], tuple((int(lo), int(hi)) for lo, hi in pads))
    return lax.conv_general_dilated(
        x,
        kernel,
        tuple(strides),
        pads,
        dimension_numbers=("NHWC", kernel_spec, "NHWC"),
        precision=precision,
    )
