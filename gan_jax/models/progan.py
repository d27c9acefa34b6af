"""Progressive-growing GAN networks (Karras et al. 2018, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation"), with one fixed parameter tree for every resolution.

The generator is the published CelebA-HQ generator exactly as its PyTorch port
(ptrblck/prog_gans_pytorch_inference `model.py`) and the ocaml-torch example
(`examples/gan/progressive_growing_gan.ml`) define it, so their weights import unchanged
(`gan_jax.progan.importer`). Block `features_i` is the ocaml-torch `features.i`:

    features_0   pixel norm → conv 4×4, padding 3 (z as a 1×1 map → 4×4) → wscale → lReLU 0.2
    features_1   pixel norm → conv 3×3 → wscale → lReLU                          (4×4)
    features_2l  pixel norm → nearest 2× upsample → conv 3×3 → wscale → lReLU    (level l ≥ 1)
    features_2l+1  pixel norm → conv 3×3 → wscale → lReLU
    to_rgb_l     pixel norm → conv 1×1 → wscale (linear; ocaml `output`, PyTorch `out_layer`)

Level l works at 4·2^l pixels; channels are nf(l) = min(fmap_base / 2^(l+1), fmap_max), which
with fmap_base = 8192, fmap_max = 512 gives the published 512, 512, 512, 512, 256, 128, 64, 32,
16 for 4..1024 px. Pixel norm is x / sqrt(mean_c x² + 1e-8) (PyTorch port; ocaml-torch adds
the 1e-8 after the square root, a difference below float32 resolution for these activations).

Equalized learning rate: every conv has no bias and is followed by a "wscale" layer,
y = conv(x, W)·scale + b. Trained here, W ~ N(0, 1) and scale = gain/sqrt(fan_in) (He's
constant, gain √2; 1 for to-RGB and D's output) is fixed: it is a parameter only so that the
published per-layer scales import as they are, and it never receives a gradient
(`stop_gradient`), so Adam leaves it unchanged.

Growing: at `level` L with fade-in weight `alpha` (None = fully grown), G's output is
lerp(upsample(to_rgb_{L-1}(h_{L-1})), to_rgb_L(h_L), alpha) and D's input path is
lerp(from_rgb_{L-1}(avgpool(x)), block_L(from_rgb_L(x)), alpha). Initialisation touches every
level's layers, so the parameter tree (and a checkpoint) has one shape for the whole run.

The discriminator mirrors G (paper, Table 2): from_rgb_l (1×1 conv, lReLU), per level l ≥ 1
conv 3×3 nf(l) → conv 3×3 nf(l-1) → 2× average pool, then at 4×4 the minibatch standard
deviation feature (group size ≤ 4), conv 3×3, conv 4×4 (valid, = a dense layer) and a linear
1×1 conv to one score per image.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError
from gan_jax.models import family, heads

LEAK = 0.2
PIXEL_NORM_EPS = 1e-8
MBSTD_GROUP = 4
MIN_RESOLUTION = 4


def num_features(level: int, fmap_base: int, fmap_max: int) -> int:
    """Channels at `level` (4·2^level px): min(fmap_base / 2^(level+1), fmap_max), at least 1."""
    return max(1, min(fmap_base // 2 ** (level + 1), fmap_max))


def num_levels(resolution: int) -> int:
    """Levels of a network whose last level makes `resolution` px (4 → 1, 8 → 2, ...)."""
    return int(math.log2(resolution)) - 1


def pixel_norm(x: jax.Array) -> jax.Array:
    """x / sqrt(mean over channels of x² + 1e-8), per pixel (the paper's eq. in Sec. 4.2)."""
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + PIXEL_NORM_EPS)


def upsample(x: jax.Array) -> jax.Array:
    """Nearest-neighbour 2× upsampling of (B, H, W, C)."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def downsample(x: jax.Array) -> jax.Array:
    """2×2 average pooling of (B, H, W, C)."""
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def minibatch_stddev(x: jax.Array, group_size: int = MBSTD_GROUP) -> jax.Array:
    """Append the minibatch standard deviation as one more feature map (paper, Sec. 3).

    The batch is split into groups of G = min(group_size, B) images (image b is in group
    b mod B/G, as the paper's code reshapes it); for each group the standard deviation over its
    G images of every feature and pixel, averaged to one number, becomes a constant channel.
    """
    b, h, w, c = x.shape
    g = min(group_size, b)
    y = x.reshape(g, b // g, h, w, c)
    y = y - jnp.mean(y, axis=0, keepdims=True)
    std = jnp.sqrt(jnp.mean(jnp.square(y), axis=0) + 1e-8)  # (B/G, H, W, C)
    per_group = jnp.mean(std, axis=(1, 2, 3))  # (B/G,)
    stat = jnp.tile(per_group, g)[:, None, None, None]
    return jnp.concatenate([x, jnp.broadcast_to(stat, (b, h, w, 1))], axis=-1)


class _Conv(nn.Module):
    """A bias-free conv whose weights are N(0, 1) (the wscale layer after it scales them)."""

    features: int
    kernel_size: int
    padding: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k = self.kernel_size
        kernel = self.param(
            "kernel", nn.initializers.normal(1.0), (k, k, x.shape[-1], self.features)
        )
        p = self.padding
        return jax.lax.conv_general_dilated(
            x,
            kernel.astype(x.dtype),
            (1, 1),
            ((p, p), (p, p)),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )


class _WScale(nn.Module):
    """y = x·scale + b; `scale` is the frozen equalized-learning-rate constant."""

    gain: float
    fan_in: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        he = self.gain / math.sqrt(self.fan_in)
        scale = self.param("scale", nn.initializers.constant(he), (1,))
        b = self.param("b", nn.initializers.zeros, (x.shape[-1],))
        return x * jax.lax.stop_gradient(scale) + b


class WScaleConv(nn.Module):
    """[pixel norm →] [2× upsample →] conv → wscale [→ lReLU 0.2]: one published block."""

    features: int
    kernel_size: int = 3
    padding: int = 1
    norm: bool = True
    up: bool = False
    act: bool = True
    gain: float = math.sqrt(2.0)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.norm:
            x = pixel_norm(x)
        if self.up:
            x = upsample(x)
        fan_in = self.kernel_size**2 * x.shape[-1]
        x = _Conv(self.features, self.kernel_size, self.padding, name="conv")(x)
        x = _WScale(self.gain, fan_in, name="wscale")(x)
        return nn.leaky_relu(x, LEAK) if self.act else x


class ProGenerator(nn.Module):
    """z (B, latent_dim) → images (B, R, R, channels) at level `level` (default: the last).

    `resolution` is the final size; `alpha` (a scalar in [0, 1], or None = fully grown) blends
    in level `level` during its fade-in (see the module docstring). `labels` and `train` are
    accepted for the framework's generator interface (unconditional; no layer behaves
    differently in training).
    """

    resolution: int
    channels: int = 3
    fmap_base: int = 8192
    fmap_max: int = 512

    def setup(self) -> None:
        nf = [num_features(lvl, self.fmap_base, self.fmap_max) for lvl in range(self.levels)]
        features = [WScaleConv(nf[0], 4, 3), WScaleConv(nf[0])]
        for lvl in range(1, self.levels):
            features += [WScaleConv(nf[lvl], up=True), WScaleConv(nf[lvl])]
        self.features = features
        self.to_rgb = [
            WScaleConv(self.channels, 1, 0, act=False, gain=1.0) for _ in range(self.levels)
        ]

    @property
    def levels(self) -> int:
        return num_levels(self.resolution)

    def __call__(
        self,
        z: jax.Array,
        labels: Any = None,
        train: bool = True,
        level: int | None = None,
        alpha: Any = None,
    ) -> jax.Array:
        level = self.levels - 1 if level is None else level
        every_rgb = self.is_initializing()  # create every level's to-RGB once, at init
        h = z.astype(jnp.float32).reshape(z.shape[0], 1, 1, z.shape[-1])
        low = None
        for lvl in range(level + 1):
            h = self.features[2 * lvl + 1](self.features[2 * lvl](h))
            if (lvl == level - 1 and alpha is not None) or (every_rgb and lvl < level):
                low = self.to_rgb[lvl](h)
        out = self.to_rgb[level](h)
        if alpha is None:
            return out
        return upsample(low) + (out - upsample(low)) * alpha


class ProDiscriminator(nn.Module):
    """Images (B, R, R, C) at level `level` (default: the last) → scores (B,)."""

    resolution: int
    fmap_base: int = 8192
    fmap_max: int = 512
    mbstd_group: int = MBSTD_GROUP

    def setup(self) -> None:
        nf = [num_features(lvl, self.fmap_base, self.fmap_max) for lvl in range(self.levels)]
        self.from_rgb = [_d_conv(nf[lvl], 1, 0) for lvl in range(self.levels)]
        # block l (l >= 1): conv 3×3 nf(l) → conv 3×3 nf(l-1) → avg pool; index 0 is unused.
        self.block_a = [_d_conv(nf[lvl]) for lvl in range(self.levels)]
        self.block_b = [_d_conv(nf[max(lvl - 1, 0)]) for lvl in range(self.levels)]
        self.out_conv = _d_conv(nf[0])
        self.out_dense = _d_conv(nf[0], 4, 0)
        self.out_score = _d_conv(1, 1, 0, act=False)

    @property
    def levels(self) -> int:
        return num_levels(self.resolution)

    def __call__(
        self,
        x: jax.Array,
        labels: Any = None,
        train: bool = True,
        level: int | None = None,
        alpha: Any = None,
    ) -> jax.Array:
        level = self.levels - 1 if level is None else level
        x = x.astype(jnp.float32)
        if self.is_initializing():  # every level's from-RGB exists from the start
            for lvl in range(level):
                size = MIN_RESOLUTION * 2**lvl
                self.from_rgb[lvl](jnp.zeros((1, size, size, x.shape[-1]), x.dtype))
        h = self.from_rgb[level](x)
        if level > 0:
            h = self._block(level, h)
        if level > 0 and alpha is not None:
            low = self.from_rgb[level - 1](downsample(x))
            h = low + (h - low) * alpha
        for lvl in range(level - 1, 0, -1):
            h = self._block(lvl, h)
        h = minibatch_stddev(h, self.mbstd_group)
        h = self.out_dense(self.out_conv(h))
        return self.out_score(h).reshape(-1)

    def _block(self, level: int, h: jax.Array) -> jax.Array:
        return downsample(self.block_b[level](self.block_a[level](h)))


def _d_conv(features: int, k: int = 3, p: int = 1, act: bool = True) -> WScaleConv:
    """D's equalized-LR conv: no pixel norm; gain √2 before lReLU, 1 for the linear score."""
    return WScaleConv(features, k, p, norm=False, act=act, gain=math.sqrt(2.0) if act else 1.0)


def build(
    model_config: Any, data_shape: tuple[int, ...], dtype: Any = None, opts: Any = None
) -> tuple[ProGenerator, ProDiscriminator]:
    """(G, D) for square RGB/grey images of a power-of-two size ≥ 4 (`model.name='progan'`).

    Fields: `g_width`/`d_width` (fmap_max of G/D), `fmap_base`; `dtype` must be float32,
    `num_classes` 0 and `pack` 1. `opts` (D stabilizers) are not used: ProGAN's D has its own
    normalisation-free design. Parameters:
    the layer list above, with n(l) = min(fmap_base / 2^(l+1), fmap_max) channels at level l
    (each equalized k×k conv k²·in·out + out, plus each level's toRGB/fromRGB 1x1 convs). At
    progan_anime64 (64 px, z 512, fmap_base 8192, width 512): G 22,490,398, D 22,498,065.
    """
    size = data_shape[0] if len(data_shape) == 3 else 0
    if len(data_shape) != 3 or data_shape[1] != size or size < 4 or size & (size - 1):
        raise ConfigError(
            f"progan needs square (H, W, C) images with H = W a power of two >= 4, got data "
            f"shape {tuple(data_shape)}; set --config.data.image_size"
        )
    if model_config.get("dtype", "float32") != "float32":
        raise ConfigError(
            f"config.model.dtype={model_config.dtype!r}: ProGAN's networks compute in float32; "
            "set --config.model.dtype=float32"
        )
    for field, off in (("num_classes", 0), ("pack", 1)):
        if model_config.get(field, off) != off:
            raise ConfigError(
                f"config.model.{field}={model_config.get(field)}: ProGAN is unconditional and "
                f"unpacked here; set --config.model.{field}={off}"
            )
    fmap_base = int(model_config.get("fmap_base", 8192))
    if fmap_base < 2:
        raise ConfigError(f"config.model.fmap_base={fmap_base} must be >= 2")
    for field in ("g_width", "d_width"):
        if int(model_config.get(field)) < 1:
            raise ConfigError(f"config.model.{field}={model_config.get(field)} must be >= 1")
    gen = ProGenerator(size, data_shape[2], fmap_base, int(model_config.g_width))
    disc = ProDiscriminator(size, fmap_base, int(model_config.d_width))
    return gen, disc


FAMILY = family.register(
    family.Family(
        "progan",
        {
            **heads.widths(512, 512),
            "fmap_base": family.Field(8192, "channels at level l: min(fmap_base / 2^(l+1), width)"),
        },
        build,
        "Progressive growing (Karras et al. 2018), trained by `config.task='progan'` "
        "(`gan_jax/models/progan.py`).",
    )
)
