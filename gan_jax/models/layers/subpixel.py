"""Strided transposed convolution computed as a stride-1 convolution + depth-to-space.

XLA:CPU picks a slow algorithm for the backward pass of a strided `lax.conv_transpose` (it
is the generator's bottleneck: ~4.5 s of a 5.3 s DCGAN-64 step on 2 cores). A transposed
convolution with stride s is s² interleaved stride-1 convolutions ("sub-pixel" convolution,
Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution Using an Efficient
Sub-Pixel Convolutional Neural Network"): output pixel n = s·m + r (phase r) only receives taps
k ≡ r + P (mod s) of the kernel, where P is the PyTorch padding. So one stride-1 convolution
producing s²·features channels, whose kernel holds each phase's taps at their offsets (zeros
elsewhere), followed by a depth-to-space shuffle, gives exactly the same function.

The layer `gan_jax.models.layers.conv_layers.SubpixelConvTranspose` has the parameter tree of
`nn.ConvTranspose(..., transpose_kernel=True)` and re-indexes the kernel at apply time:
checkpoints and ported weights work with either layer.

Derivation (one spatial axis; kernel size K, stride s, lax padding (lo, hi) of the dilated
input, P = K - 1 - lo): `lax.conv_transpose(transpose_kernel=True)` computes
y[s·i + k - P] += x[i] · W[k]. For n = s·m + r this is y[s·m + r] = Σ_k x[m + t] · W[k] with
t = (r + P - k) / s over the taps where that is an integer, i.e. a stride-1 correlation of x
with the phase's taps at offsets t. Every phase uses the same window t_min..t_max, so the
phases stack on the output-channel axis of one kernel of size T = t_max - t_min + 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.models.layers import safe_conv

Padding = str | Sequence[tuple[int, int]]


def transpose_padding(kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """lax.conv_transpose's (lo, hi) padding of the dilated input for 'SAME' / 'VALID'."""
    if padding == "SAME":
        total = kernel + stride - 2
        lo = kernel - 1 if stride > kernel - 1 else int(np.ceil(total / 2))
    elif padding == "VALID":
        total = kernel + stride - 2 + max(kernel - stride, 0)
        lo = kernel - 1
    else:
        raise ValueError(f"padding must be 'SAME', 'VALID' or explicit pairs, got {padding!r}")
    return lo, total - lo


class _AxisPlan(NamedTuple):
    """How one spatial axis of the transposed conv splits into stride-1 phases."""

    phases: list[list[tuple[int, int]]]  # per phase r: its (offset t, tap k) pairs, t ascending
    size: int  # input length
    per_phase: int  # output length of every phase
    out_len: int  # output length of the transposed conv (<= stride * per_phase)

    def pad(self, offsets: Sequence[int]) -> tuple[int, int]:
        """Conv padding of x so that a window at `offsets` yields `per_phase` outputs."""
        return -offsets[0], self.per_phase + offsets[-1] - self.size

    def union_taps(self) -> tuple[np.ndarray, list[int]]:
        """The shared window of all phases: tap index per (offset, phase), K = no tap."""
        kernel = 1 + max(k for ph in self.phases for _, k in ph)
        offsets = sorted({t for ph in self.phases for t, _ in ph})
        window = list(range(offsets[0], offsets[-1] + 1))
        taps = np.full((len(window), len(self.phases)), kernel, dtype=np.int32)
        for r, ph in enumerate(self.phases):
            for t, k in ph:
                taps[t - window[0], r] = k
        return taps, window


def _axis_plan(size: int, kernel: int, stride: int, pad: tuple[int, int]) -> _AxisPlan:
    lo, hi = pad
    out_len = (size - 1) * stride + 1 + lo + hi - kernel + 1
    if out_len < stride:
        raise ValueError(f"transposed conv of size {size} with padding {pad} is too small")
    torch_pad = kernel - 1 - lo
    phases = [
        sorted(
            ((r + torch_pad - k) // stride, k)
            for k in range(kernel)
            if (r + torch_pad - k) % stride == 0
        )
        for r in range(stride)
    ]
    return _AxisPlan(phases, size, -(-out_len // stride), out_len)


def subpixel_kernel(kernel: jax.Array, taps_h: np.ndarray, taps_w: np.ndarray) -> jax.Array:
    """Re-index a (kh, kw, out, in) transposed-conv kernel into the (T_h, T_w, in, ph·pw·out)
    kernel of a stride-1 conv: `taps_*[t, r]` is the tap at offset t of phase r (kh / kw = a
    zero tap); output channels are ordered (phase_h, phase_w, out)."""
    _, _, out_ch, in_ch = kernel.shape
    w = jnp.transpose(kernel, (0, 1, 3, 2))  # (kh, kw, in, out)
    w = jnp.pad(w, ((0, 1), (0, 1), (0, 0), (0, 0)))  # index kh / kw = the zero tap
    th, ph = taps_h.shape
    tw, pw = taps_w.shape
    v = w[taps_h[:, None, :, None], taps_w[None, :, None, :]]  # (th, tw, ph, pw, in, out)
    v = jnp.transpose(v, (0, 1, 4, 2, 3, 5))
    return v.reshape(th, tw, in_ch, ph * pw * out_ch)


def _phase_taps(phase: list[tuple[int, int]]) -> slice:
    """A phase's taps in offset order as one slice of the kernel axis: the taps k of a phase
    are congruent mod the stride and t ascending means k descending, so a reversed strided
    slice (cheap to fuse, unlike the gather of `subpixel_kernel`)."""
    taps = [k for _, k in phase]
    step = taps[1] - taps[0] if len(taps) > 1 else -1
    return slice(taps[0], taps[-1] - 1 if taps[-1] > 0 else None, step)


def conv_transpose_subpixel(
    x: jax.Array,
    kernel: jax.Array,
    strides: Sequence[int],
    padding: Padding,
    precision: Any = None,
    split_phases: bool = False,
) -> jax.Array:
    """Same result as `lax.conv_transpose(x, kernel, strides, padding, transpose_kernel=True)`
    for NHWC `x` and a (kh, kw, out, in) kernel, via stride-1 conv(s) + depth-to-space.

    `split_phases=False`: one conv over the phases' shared window (more FLOPs: zero taps,
    2.25x for 4x4 stride 2, but one large matmul). True: one conv per phase with only its
    own taps (the transposed conv's FLOPs, s² smaller matmuls; ignored when a phase has no
    taps, i.e. stride > kernel).
    """
    batch, height, width, _ = x.shape
    kh, kw, out_ch, _ = kernel.shape
    sh, sw = strides
    if isinstance(padding, str):
        pads = [transpose_padding(kh, sh, padding), transpose_padding(kw, sw, padding)]
    else:
        pads = [tuple(p) for p in padding]
    plan_h, plan_w = _axis_plan(height, kh, sh, pads[0]), _axis_plan(width, kw, sw, pads[1])
    if split_phases and all(all(plan.phases) for plan in (plan_h, plan_w)):
        rows = []
        for ph in plan_h.phases:
            row = []
            for pw in plan_w.phases:
                sub = kernel[_phase_taps(ph), _phase_taps(pw)]  # (T_h, T_w, out, in)
                pad_h = plan_h.pad([t for t, _ in ph])
                pad_w = plan_w.pad([t for t, _ in pw])
                row.append(safe_conv.conv(x, sub, (1, 1), (pad_h, pad_w), precision, "HWOI"))
            rows.append(jnp.stack(row, axis=3))
        y = jnp.stack(rows, axis=2)  # (B, Mh, sh, Mw, sw, out)
    else:
        taps_h, window_h = plan_h.union_taps()
        taps_w, window_w = plan_w.union_taps()
        sub = subpixel_kernel(kernel, taps_h, taps_w)
        pads = (plan_h.pad(window_h), plan_w.pad(window_w))
        y = safe_conv.conv(x, sub, (1, 1), pads, precision)
        y = y.reshape(batch, plan_h.per_phase, plan_w.per_phase, sh, sw, out_ch)
        y = jnp.transpose(y, (0, 1, 3, 2, 4, 5))
    y = y.reshape(batch, plan_h.per_phase * sh, plan_w.per_phase * sw, out_ch)
    return y[:, : plan_h.out_len, : plan_w.out_len, :]


# Measured on XLA:CPU (2 cores, batch 64, DCGAN-64 layers, forward + backward): one conv per
# phase was 1.5-2x faster than the shared-window conv for 64-256 output channels, and 3x slower
# for 3 (an RGB output layer: four tiny matmuls).
SPLIT_MIN_FEATURES = 16
