"""The networks of the Torch "Generating Faces with Torch" post (Boesen Larsen & Sønderby 2015,
code: skaae/torch-gan `train_lfw.lua`), `model.name = 'faces'`.

With the post's widths (`g_width=64`, `d_width=32`, 64×64 RGB, z of 512 as its `noiseDim`):

Discriminator (no BatchNorm: the post found it made D too strong):

    5×5 conv 3→32 (pad 2) → 2×2 max-pool → ReLU → spatial dropout 0.2
    5×5 conv 32→64 (pad 2) → 2×2 max-pool → ReLU → spatial dropout 0.2
    5×5 conv 64→96 (pad 2) → ReLU → 2×2 max-pool → spatial dropout 0.2
    flatten 8·8·96 → linear 1024 → ReLU → dropout 0.5 → linear 1 (`logit`; the post's sigmoid
    is the logistic loss's)

Generator:

    linear z → 128·8·8 → reshape (8, 8, 128) → ReLU
    nearest 2× upsample → 5×5 conv 128→256 (pad 2) → BatchNorm → ReLU
    nearest 2× upsample → 5×5 conv 256→256 (pad 2) → BatchNorm → ReLU
    nearest 2× upsample → 5×5 conv 256→128 (pad 2) → BatchNorm → ReLU
    3×3 conv 128→3 (pad 1), linear output

Every conv and linear layer has a bias, as Torch's do, so the parameter counts equal the Lua
model's: D 6,500,897 and G 7,484,675 (7,483,395 in its convs and linear layer + 1,280 BatchNorm
scales and offsets; their running statistics are `batch_stats`). Widths scale with the config:
D's convs are `d_width`·(1, 2, 3) channels and its hidden linear layer `d_width`·32 units; G's
first map has `g_width`·2 channels and its convs `g_width`·(4, 4, 2). Images of any size S
divisible by 8 work (G starts at S/8; D's linear layer sees (S/8)²·3·d_width features).

The generator's output is linear, trained unclipped against data in [-1, 1], and, as the
post's `getSamples` does with `nn.HardTanh`, clipped to [-1, 1] when sampling (`train=False`).
D never has BatchNorm (`stabilizers.d_batchnorm` does not apply). D's two dropouts are on when
`stabilizers.d_dropout` > 0: spatial dropout (whole channels, `nn.SpatialDropout`) at that rate
after each conv block, and the post's `nn.Dropout()` (0.5) before the last layer. Weights and
biases are drawn as Torch 7 drew them: U(−1/√fan_in, 1/√fan_in).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError
from gan_jax.models import family, heads
from gan_jax.models.regularized import DOptions, d_layer

DENSE_DROPOUT = 0.5  # the post's nn.Dropout() before D's last layer
_TORCH_KERNEL_INIT = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def _torch_bias_init(fan_in: int):
    """Torch 7's bias init: U(−1/√fan_in, 1/√fan_in)."""
    bound = 1.0 / math.sqrt(fan_in)

    def init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def _conv(features: int, kernel: int, fan_in: int, dtype: Any, name: str) -> nn.Conv:
    return nn.Conv(
        features,
        (kernel, kernel),
        padding=kernel // 2,
        kernel_init=_TORCH_KERNEL_INIT,
        bias_init=_torch_bias_init(fan_in * kernel * kernel),
        dtype=dtype,
        param_dtype=jnp.float32,
        name=name,
    )


def _dense(features: int, fan_in: int, dtype: Any, name: str) -> nn.Dense:
    return nn.Dense(
        features,
        kernel_init=_TORCH_KERNEL_INIT,
        bias_init=_torch_bias_init(fan_in),
        dtype=dtype,
        param_dtype=jnp.float32,
        name=name,
    )


def _max_pool(h: jax.Array) -> jax.Array:
    return nn.max_pool(h, (2, 2), strides=(2, 2))


def _upsample(h: jax.Array) -> jax.Array:
    """Nearest-neighbour 2× upsampling (Torch's `SpatialUpSamplingNearest(2)`)."""
    return jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)


class FacesGenerator(nn.Module):
    """z (B, latent) -> images (B, S, S, C): linear output, clipped to [-1, 1] when sampling."""

    data_shape: Sequence[int]
    width: int = 64
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        size, _, channels = self.data_shape
        start, batch = size // 8, z.shape[0]
        first = 2 * self.width
        h = _dense(start * start * first, z.shape[-1], self.dtype, "project")(z.astype(self.dtype))
        h = nn.relu(h.reshape((batch, start, start, first)))
        fan_in = first
        for i, features in enumerate((4 * self.width, 4 * self.width, 2 * self.width)):
            h = _conv(features, 5, fan_in, self.dtype, f"up{i}")(_upsample(h))
            h = nn.BatchNorm(
                use_running_average=not train,
                momentum=0.9,  # Torch's momentum 0.1
                epsilon=1e-5,
                dtype=self.dtype,
                param_dtype=jnp.float32,
                name=f"up{i}_bn",
            )(h)
            h, fan_in = nn.relu(h), features
        out = _conv(channels, 3, fan_in, self.dtype, "to_image")(h).astype(jnp.float32)
        return out if train else jnp.clip(out, -1.0, 1.0)


class FacesDiscriminator(nn.Module):
    """images (B, S, S, C) -> raw logits (B,)."""

    data_shape: Sequence[int]
    width: int = 32
    dtype: Any = jnp.float32
    opts: DOptions = DOptions(batchnorm=False)

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        if tuple(x.shape[1:]) != tuple(self.data_shape):
            raise ValueError(f"expected images of shape (B, {self.data_shape}), got {x.shape}")
        opts, batch = self.opts, x.shape[0]
        h, fan_in = x.astype(self.dtype), self.data_shape[-1]
        for i, features in enumerate((self.width, 2 * self.width, 3 * self.width)):
            h = d_layer(_conv(features, 5, fan_in, self.dtype, f"conv{i}"), h, train, opts)
            h = nn.relu(_max_pool(h))  # the Lua code pools before or after the ReLU: the same
            if opts.dropout > 0:  # spatial dropout: whole channels of each example
                h = nn.Dropout(opts.dropout, broadcast_dims=(1, 2), deterministic=not train)(h)
            fan_in = features
        h = h.reshape((batch, -1))
        hidden = 32 * self.width
        h = nn.relu(d_layer(_dense(hidden, h.shape[-1], self.dtype, "hidden"), h, train, opts))
        if opts.dropout > 0:
            h = nn.Dropout(DENSE_DROPOUT, deterministic=not train)(h)
        logit = d_layer(_dense(1, hidden, self.dtype, "logit"), h, train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)


def build_model(config: Any, data_shape: tuple[int, ...], dtype: Any, opts: DOptions):
    """The `model.name='faces'` builder (the layer list above; each k×k conv or dense has
    k²·in·out + out parameters). At the config's 64x64x3, z 512, g_width 64, d_width 32:
    G 7,484,675, D 6,500,897."""
    if len(data_shape) != 3 or data_shape[0] != data_shape[1] or data_shape[0] % 8:
        raise ConfigError(
            f"model 'faces' needs square (S, S, C) images with S divisible by 8, got {data_shape}; "
            "set --config.data.image_size=64 (the post's size)"
        )
    family.unconditional(config, "faces")
    return (
        FacesGenerator(data_shape, family.integer(config, "g_width", 1), dtype),
        FacesDiscriminator(data_shape, family.integer(config, "d_width", 1), dtype, opts),
    )


FAMILY = family.register(
    family.Family(
        "faces",
        heads.widths(),
        build_model,
        "The Torch faces post's G and D (`gan_jax/models/faces.py`).",
    )
)
