"""The DIGITS GAN walkthrough's networks (NVIDIA DIGITS `examples/gan/`), layer for layer.

`network-mnist.py`, the conditional MNIST GAN (`model.name='digits_mnist'`; y = one-hot label,
[·, y] = the label concatenated, tiled over H and W for feature maps; s = image size, 28):

    G: [z, y] -> linear 16·gw (1024) -> BN -> ReLU -> [·, y] -> linear (s/4)²·2gw (7·7·128)
       -> BN -> ReLU -> reshape -> [·, y] -> 5x5 s2 deconv 2gw (128) -> BN -> ReLU -> [·, y]
       -> 5x5 s2 deconv C -> sigmoid
    D: [x, y] -> 5x5 s2 conv C+K (11) -> lReLU -> [·, y] -> 5x5 s2 conv dw+K (74) -> BN -> lReLU
       -> flatten, [·, y] -> linear 16·dw (1024) -> BN -> lReLU -> [·, y] -> linear 1

`network-celebA.py`, unconditional 64x64 (`model.name='digits_celeba'`):

    G: z -> linear 4·4·8gw -> reshape -> BN -> ReLU -> 5x5 s2 deconv 4gw -> BN -> ReLU
       -> deconv 2gw -> BN -> ReLU -> deconv gw -> BN -> ReLU -> deconv C -> tanh
    D: x -> 5x5 s2 conv dw -> lReLU -> conv 2dw -> BN -> lReLU -> conv 4dw -> BN -> lReLU
       -> conv 8dw -> BN -> lReLU -> linear 1

gw, dw = `model.g_width`, `model.d_width` (DIGITS' gf_dim = df_dim = 64); K = `num_classes`.
Every layer has a bias; lReLU slope 0.2; BN decay 0.9, eps 1e-5 (DIGITS' `batch_norm`); weights
N(0, 0.02) (convs truncated at 2σ, as TF's `truncated_normal_initializer`), biases 0. "SAME"
padding, so deconvs double the size exactly. The MNIST G ends in a sigmoid and D reads x/255
(data range [0, 1], see `gan_jax.models.heads`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models import family, heads
from gan_jax.models.conditioning import concat_label, label_onehot
from gan_jax.models.layers.conv_layers import StridedConv, SubpixelConvTranspose
from gan_jax.models.regularized import DOptions, d_layer

_CONV_INIT = nn.initializers.truncated_normal(stddev=0.02)


def _bn(train: bool, dtype: Any, name: str) -> nn.BatchNorm:
    """DIGITS' batch_norm: tf.contrib.layers.batch_norm(decay=0.9, epsilon=1e-5, scale=True)."""
    return nn.BatchNorm(
        use_running_average=not train,
        momentum=0.9,
        epsilon=1e-5,
        dtype=dtype,
        param_dtype=jnp.float32,
        name=name,
    )


def _linear(features: int, dtype: Any, name: str) -> nn.Dense:
    return nn.Dense(
        features, kernel_init=heads.DCGAN_INIT, dtype=dtype, param_dtype=jnp.float32, name=name
    )


def _deconv(features: int, dtype: Any, name: str) -> SubpixelConvTranspose:
    """5x5 stride-2 'SAME' deconv with bias (tf.nn.conv2d_transpose), via sub-pixel convs."""
    return SubpixelConvTranspose(
        features,
        (5, 5),
        strides=(2, 2),
        padding="SAME",
        kernel_init=heads.DCGAN_INIT,
        dtype=dtype,
        adjoint_grads=True,
        name=name,
    )


def _conv(features: int, dtype: Any, name: str) -> StridedConv:
    """5x5 stride-2 'SAME' conv with bias (DIGITS' conv2d)."""
    return StridedConv(
        features,
        (5, 5),
        strides=(2, 2),
        padding="SAME",
        kernel_init=_CONV_INIT,
        dtype=dtype,
        adjoint_grads=True,
        name=name,
    )


def _lrelu(x: jax.Array) -> jax.Array:
    return nn.leaky_relu(x, negative_slope=0.2)


class _Fields(nn.Module):
    data_shape: Sequence[int]
    width: int = 64
    num_classes: int = 0
    dtype: Any = jnp.float32


class DigitsMNISTGenerator(_Fields):
    """DIGITS network-mnist.py G: [z, y] -> images (B, s, s, C) (sigmoid, shown in [-1, 1])."""

    latent_prior: str = "normal"
    output: str = "sigmoid"
    data_range: str = "0,1"

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        size, _, channels = self.data_shape
        batch, s4, dt = z.shape[0], size // 4, self.dtype
        y = label_onehot(labels, self.num_classes, batch, dt)
        h = concat_label(z.astype(dt), y)
        h = nn.relu(_bn(train, dt, "g_bn0")(_linear(16 * self.width, dt, "g_h0_lin")(h)))
        h = concat_label(h, y)
        h = _linear(s4 * s4 * 2 * self.width, dt, "g_h1_lin")(h)
        h = nn.relu(_bn(train, dt, "g_bn1")(h)).reshape((batch, s4, s4, 2 * self.width))
        h = concat_label(h, y)
        h = nn.relu(_bn(train, dt, "g_bn2")(_deconv(2 * self.width, dt, "g_h2")(h)))
        h = concat_label(h, y)
        return heads.generator_output(
            _deconv(channels, dt, "g_h3")(h), self.output, self.data_range
        )


class DigitsMNISTDiscriminator(_Fields):
    """DIGITS network-mnist.py D: [x, y] -> raw logits (B,)."""

    data_range: str = "0,1"
    opts: DOptions = DOptions()

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        batch, dt, opts = x.shape[0], self.dtype, self.opts
        channels = self.data_shape[-1]
        y = label_onehot(labels, self.num_classes, batch, dt)
        h = concat_label(heads.discriminator_input(x, self.data_range, dt), y)
        h = _lrelu(d_layer(_conv(channels + self.num_classes, dt, "d_h0_conv"), h, train, opts))
        h = concat_label(h, y)
        h = d_layer(_conv(self.width + self.num_classes, dt, "d_h1_conv"), h, train, opts)
        if opts.batchnorm:
            h = _bn(train, dt, "d_bn1")(h)
        h = concat_label(_lrelu(h).reshape((batch, -1)), y)
        h = d_layer(_linear(16 * self.width, dt, "d_h2_lin"), h, train, opts)
        if opts.batchnorm:
            h = _bn(train, dt, "d_bn2")(h)
        h = concat_label(_lrelu(h), y)
        logit = d_layer(_linear(1, dt, "d_h3_lin"), h, train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)


class DigitsCelebAGenerator(_Fields):
    """DIGITS network-celebA.py G: z -> images (B, s, s, C) in [-1, 1] (tanh), s = 16·2^k."""

    latent_prior: str = "normal"
    output: str = "tanh"
    data_range: str = "-1,1"

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        del labels  # unconditional, as network-celebA.py
        size, _, channels = self.data_shape
        batch, s16, dt = z.shape[0], size // 16, self.dtype
        h = _linear(s16 * s16 * 8 * self.width, dt, "g_h0_lin")(z.astype(dt))
        h = nn.relu(_bn(train, dt, "g_bn0")(h.reshape((batch, s16, s16, 8 * self.width))))
        for i, mult in enumerate((4, 2, 1), start=1):
            h = nn.relu(_bn(train, dt, f"g_bn{i}")(_deconv(mult * self.width, dt, f"g_h{i}")(h)))
        return heads.generator_output(
            _deconv(channels, dt, "g_h4")(h), self.output, self.data_range
        )


class DigitsCelebADiscriminator(_Fields):
    """DIGITS network-celebA.py D: x -> raw logits (B,)."""

    data_range: str = "-1,1"
    opts: DOptions = DOptions()

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        del labels
        batch, dt, opts = x.shape[0], self.dtype, self.opts
        h = heads.discriminator_input(x, self.data_range, dt)
        h = _lrelu(d_layer(_conv(self.width, dt, "d_h0_conv"), h, train, opts))
        for i, mult in enumerate((2, 4, 8), start=1):
            h = d_layer(_conv(mult * self.width, dt, f"d_h{i}_conv"), h, train, opts)
            if opts.batchnorm:
                h = _bn(train, dt, f"d_bn{i}")(h)
            h = _lrelu(h)
        logit = d_layer(_linear(1, dt, "d_h3_lin"), h.reshape((batch, -1)), train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)


def build_mnist(config: Any, data_shape: tuple[int, ...], dtype: Any, opts: DOptions):
    """The `model.name='digits_mnist'` builder (the layer list above; each linear or k×k conv
    has k²·in·out + out parameters, each BN 2·out). At the config's 28x28x1, 10 classes,
    z 100, gw = dw = 64: G 7,065,211, D 3,769,479."""
    family.image_shape("digits_mnist", data_shape, 4)
    head, k = heads.resolved_heads(config), family.integer(config, "num_classes", 0)
    gen = DigitsMNISTGenerator(
        data_shape,
        family.integer(config, "g_width", 1),
        k,
        dtype,
        latent_prior=config.latent_prior,
        **head,
    )
    disc = DigitsMNISTDiscriminator(
        data_shape,
        family.integer(config, "d_width", 1),
        k,
        dtype,
        data_range=head["data_range"],
        opts=opts,
    )
    return gen, disc


def build_celeba(config: Any, data_shape: tuple[int, ...], dtype: Any, opts: DOptions):
    """The `model.name='digits_celeba'` builder (parameters as for `build_mnist`). At the
    config's 64x64x3, z 100, gw = dw = 64: G 5,135,363, D 4,316,545."""
    family.image_shape("digits_celeba", data_shape, 16)
    family.unconditional(config, "digits_celeba")
    head = heads.resolved_heads(config)
    gen = DigitsCelebAGenerator(
        data_shape,
        family.integer(config, "g_width", 1),
        0,
        dtype,
        latent_prior=config.latent_prior,
        **head,
    )
    disc = DigitsCelebADiscriminator(
        data_shape,
        family.integer(config, "d_width", 1),
        0,
        dtype,
        data_range=head["data_range"],
        opts=opts,
    )
    return gen, disc


_WALKTHROUGH = "the DIGITS GAN walkthrough's `network-{}.py` (`gan_jax/models/digits.py`)."
MNIST_FAMILY = family.register(
    family.Family(
        "digits_mnist",
        {**heads.widths(), **heads.output_fields("sigmoid"), "latent_prior": heads.LATENT_PRIOR},
        build_mnist,
        "The conditional MNIST GAN of " + _WALKTHROUGH.format("mnist"),
    )
)
CELEBA_FAMILY = family.register(
    family.Family(
        "digits_celeba",
        {**heads.widths(), **heads.output_fields("tanh"), "latent_prior": heads.LATENT_PRIOR},
        build_celeba,
        "The unconditional 64x64 GAN of " + _WALKTHROUGH.format("celebA"),
    )
)
