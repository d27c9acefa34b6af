"""The Keras GAN intro's DCGAN ("Getting started with generative adversarial networks"),
layer for layer (`model.name='keras_dcgan'`; gw, dw = `model.g_width`, `model.d_width`, 64 in
the post; s = image size, 28; C = channels):

    D: x -> 5x5 s2 conv dw -> lReLU -> 5x5 s2 conv 2dw -> lReLU -> dropout
       -> 5x5 s2 conv 4dw -> lReLU -> dropout -> 5x5 s1 conv 8dw -> lReLU -> dropout
       -> flatten -> dense 1 (sigmoid in the post; gan_jax's losses take the logit)
    G: z -> dense (s/4)²·4gw (7·7·256) -> BN -> lReLU -> reshape -> dropout
       -> upsample 2x -> 5x5 conv 2gw -> BN -> lReLU -> upsample 2x -> 5x5 conv gw -> BN -> lReLU
       -> 5x5 conv gw/2 -> BN -> lReLU -> 5x5 conv C -> sigmoid

All convs 'same' with a bias; leaky ReLU with Keras' default slope 0.3; BatchNormalization with
momentum 0.9 and Keras' epsilon 1e-3; Keras' default initialisers (Glorot uniform weights, zero
biases). At gw = dw = 64, C = 1 the counts are the post's model summaries: D 4,311,553
parameters, G 2,368,705 trainable (+ 25,536 BN moving statistics = 2,394,241).

Options (`model.*`): `upsample` nearest (UpSampling2D) | bilinear; `g_dropout` (0.4 in the post)
and `stabilizers.d_dropout` (0.4), each `dropout_kind` element | spatial; `d_pool` stride (the
post) | max (stride-1 convs, then 2x2 max-pooling); `init`; `output` sigmoid (data in [0, 1]) |
tanh | linear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError
from gan_jax.models import family, heads
from gan_jax.models.layers.conv_layers import StridedConv
from gan_jax.models.regularized import DOptions, d_layer


def _lrelu(x: jax.Array) -> jax.Array:
    return nn.leaky_relu(x, negative_slope=0.3)  # keras.layers.LeakyReLU()'s default alpha


class KerasDCGANGenerator(nn.Module):
    """z (B, latent) -> images (B, s, s, C) in [-1, 1], s divisible by 4."""

    data_shape: Sequence[int]
    width: int = 64
    num_classes: int = 0
    dtype: Any = jnp.float32
    latent_prior: str = "uniform"
    output: str = "sigmoid"
    data_range: str = "0,1"
    weight_init: str = "default"
    upsample: str = "nearest"
    dropout: float = 0.4
    dropout_kind: str = "element"

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        del labels  # unconditional, as the post
        size, _, channels = self.data_shape
        batch, s4, dt, w = z.shape[0], size // 4, self.dtype, self.width
        kernel_init = heads.initializer(self.weight_init, nn.initializers.glorot_uniform())

        def bn(name: str) -> nn.BatchNorm:
            return nn.BatchNorm(
                use_running_average=not train, momentum=0.9, epsilon=1e-3, dtype=dt, name=name
            )

        def conv(features: int, name: str) -> StridedConv:
            return StridedConv(features, (5, 5), kernel_init=kernel_init, dtype=dt, name=name)

        h = nn.Dense(s4 * s4 * 4 * w, kernel_init=kernel_init, dtype=dt, name="dense")(z.astype(dt))
        h = _lrelu(bn("dense_bn")(h)).reshape((batch, s4, s4, 4 * w))
        h = heads.dropout(self, h, self.dropout, self.dropout_kind, train, z=z)
        for i, (features, up) in enumerate(((2 * w, True), (w, True), (w // 2, False))):
            if up:
                h = heads.upsample2x(h, self.upsample)
            h = _lrelu(bn(f"conv{i}_bn")(conv(features, f"conv{i}")(h)))
        return heads.generator_output(conv(channels, "to_image")(h), self.output, self.data_range)


class KerasDCGANDiscriminator(nn.Module):
    """images (B, s, s, C) -> raw logits (B,)."""

    data_shape: Sequence[int]
    width: int = 64
    num_classes: int = 0
    dtype: Any = jnp.float32
    data_range: str = "0,1"
    weight_init: str = "default"
    pool: str = "stride"
    dropout_kind: str = "element"
    opts: DOptions = DOptions(dropout=0.4, batchnorm=False)

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        del labels
        batch, dt, w, opts = x.shape[0], self.dtype, self.width, self.opts
        kernel_init = heads.initializer(self.weight_init, nn.initializers.glorot_uniform())
        h = heads.discriminator_input(x, self.data_range, dt)
        for i, (features, stride) in enumerate(((w, 2), (2 * w, 2), (4 * w, 2), (8 * w, 1))):
            conv_stride = 1 if self.pool == "max" else stride
            conv = StridedConv(
                features,
                (5, 5),
                strides=(conv_stride, conv_stride),
                kernel_init=kernel_init,
                dtype=dt,
                adjoint_grads=conv_stride > 1,
                name=f"conv{i}",
            )
            h = d_layer(conv, h, train, opts)
            if stride > 1 and self.pool == "max":
                h = heads.max_pool2x(h)
            h = _lrelu(h)
            if i > 0:
                h = heads.dropout(self, h, opts.dropout, self.dropout_kind, train)
        dense = nn.Dense(1, kernel_init=kernel_init, dtype=dt, name="logit")
        logit = d_layer(dense, h.reshape((batch, -1)), train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)


def build(config: Any, data_shape: tuple[int, ...], dtype: Any, opts: DOptions):
    """The `model.name='keras_dcgan'` builder (the layer list above; each dense or k×k conv
    has k²·in·out + out parameters, each BN 2·out). At the config's 28x28x1, z 100,
    gw = dw = 64: G 2,368,705, D 4,311,553."""
    family.image_shape("keras_dcgan", data_shape, 4)
    family.unconditional(config, "keras_dcgan")
    head = heads.resolved_heads(config)
    if not 0.0 <= config.g_dropout < 1.0:
        raise ConfigError(f"config.model.g_dropout={config.g_dropout} must be in [0, 1)")
    gen = KerasDCGANGenerator(
        data_shape,
        family.integer(config, "g_width", 1),
        0,
        dtype,
        latent_prior=config.latent_prior,
        weight_init=config.init,
        upsample=config.upsample,
        dropout=float(config.g_dropout),
        dropout_kind=config.dropout_kind,
        **head,
    )
    disc = KerasDCGANDiscriminator(
        data_shape,
        family.integer(config, "d_width", 1),
        0,
        dtype,
        data_range=head["data_range"],
        weight_init=config.init,
        pool=config.d_pool,
        dropout_kind=config.dropout_kind,
        opts=opts,
    )
    return gen, disc


FAMILY = family.register(
    family.Family(
        "keras_dcgan",
        {
            **heads.widths(),
            **heads.output_fields("sigmoid"),
            "init": heads.INIT,
            "latent_prior": heads.LATENT_PRIOR,
            "upsample": family.Field(
                "nearest", "G's 2x up-sampling before each conv", heads.UPSAMPLE
            ),
            "g_dropout": family.Field(0.0, "dropout in G after the projection"),
            "dropout_kind": family.Field(
                "element", "element | spatial (whole channels)", heads.DROPOUT_KINDS
            ),
            "d_pool": family.Field(
                "stride", "how D halves the size: stride | 2x2 max-pool", heads.D_POOL
            ),
        },
        build,
        "The Keras DCGAN walkthrough's networks (`gan_jax/models/keras_dcgan.py`).",
    )
)
