"""The ocaml-torch MNIST DCGAN (LaurentMazare/ocaml-torch `examples/gan/mnist_dcgan.ml`), layer
for layer (`model.name='ocaml_dcgan'`; gw, dw = `model.g_width`, `model.d_width`, 64 and 32
there; C = image channels):

    G: z (as a 1x1 map) -> 7x7 transposed conv gw -> BN -> ReLU
       -> 4x4 stride-2 transposed conv gw/2 (padding 1) -> BN -> ReLU
       -> 4x4 stride-2 transposed conv C (padding 1) -> tanh                (28x28 images)
    D: x -> 4x4 stride-2 conv dw (padding 1) -> leaky ReLU
       -> 4x4 stride-2 conv 2dw (padding 1) -> BN -> leaky ReLU -> 7x7 conv 1 (valid) -> logit

Every conv has a bias. "BN" is ocaml-torch's `Tensor.const_batch_norm`: normalisation by the
batch statistics with no learned scale or shift (no parameters). It normalises by the batch in
training exactly as there; for sampling, where ocaml-torch also uses the batch of 100 it draws,
gan_jax uses running averages of the statistics (momentum 0.9), so that samples do not depend on
what else is in the batch. Leaky ReLU has PyTorch's default slope 0.01. Weights and biases are
drawn as PyTorch's default U(±1/sqrt(fan_in)) (ocaml-torch's layers follow libtorch). The
walkthrough trains it with z ~ U[-1, 1], batch 128, Adam 1e-4 and one-sided label smoothing
(real label 0.9): `experiments/configs/ocaml_mnist_dcgan.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models import family, heads
from gan_jax.models.layers.conv_layers import StridedConv, SubpixelConvTranspose
from gan_jax.models.regularized import DOptions, d_layer

_TORCH_PAD1 = ((2, 2), (2, 2))  # lax padding of a 4x4 transposed conv = PyTorch padding 1


def torch_uniform(fan_in: int) -> Any:
    """PyTorch's default initialiser of weights and biases: U(±1/sqrt(fan_in))."""
    bound = 1.0 / fan_in**0.5

    def init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def _const_bn(train: bool, dtype: Any, name: str) -> nn.BatchNorm:
    """const_batch_norm: batch statistics, eps 1e-5, no scale or shift parameters."""
    return nn.BatchNorm(
        use_running_average=not train,
        momentum=0.9,
        epsilon=1e-5,
        use_scale=False,
        use_bias=False,
        dtype=dtype,
        name=name,
    )


def _conv(features: int, kernel: int, stride: int, padding: Any, fan_in: int, dtype, name):
    init = torch_uniform(fan_in)
    return StridedConv(
        features,
        (kernel, kernel),
        strides=(stride, stride),
        padding=padding,
        kernel_init=init,
        bias_init=init,
        dtype=dtype,
        adjoint_grads=stride > 1,
        name=name,
    )


class OcamlDCGANGenerator(nn.Module):
    """z (B, latent) -> images (B, 28, 28, C) in [-1, 1]."""

    data_shape: Sequence[int]
    width: int = 64
    num_classes: int = 0
    dtype: Any = jnp.float32
    latent_prior: str = "uniform"
    output: str = "tanh"
    data_range: str = "-1,1"

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        del labels  # unconditional, as mnist_dcgan.ml
        channels, dt, w = self.data_shape[-1], self.dtype, self.width
        latent = z.shape[-1]
        # ConvTranspose2D(ksize 7, stride 1, padding 0) on a 1x1 map: one matmul per output pixel.
        init = torch_uniform(w * 7 * 7)  # PyTorch's fan_in of a transposed conv: out · k · k
        kernel = self.param("convt1_kernel", init, (7, 7, w, latent), jnp.float32)
        bias = self.param("convt1_bias", init, (w,), jnp.float32)
        h = jnp.einsum("bc,hwoc->bhwo", z.astype(dt), kernel.astype(dt)) + bias.astype(dt)
        h = nn.relu(_const_bn(train, dt, "bn1")(h))
        for name, features in (("convt2", w // 2), ("convt3", channels)):
            init = torch_uniform(features * 4 * 4)
            h = SubpixelConvTranspose(
                features,
                (4, 4),
                strides=(2, 2),
                padding=_TORCH_PAD1,
                kernel_init=init,
                bias_init=init,
                dtype=dt,
                adjoint_grads=True,
                name=name,
            )(h)
            if name == "convt2":
                h = nn.relu(_const_bn(train, dt, "bn2")(h))
        return heads.generator_output(h, self.output, self.data_range)


class OcamlDCGANDiscriminator(nn.Module):
    """images (B, 28, 28, C) -> raw logits (B,)."""

    data_shape: Sequence[int]
    width: int = 32
    num_classes: int = 0
    dtype: Any = jnp.float32
    data_range: str = "-1,1"
    opts: DOptions = DOptions()

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        del labels
        batch, dt, w, opts = x.shape[0], self.dtype, self.width, self.opts
        channels = self.data_shape[-1]
        pad = ((1, 1), (1, 1))
        h = heads.discriminator_input(x, self.data_range, dt)
        h = d_layer(_conv(w, 4, 2, pad, channels * 16, dt, "conv1"), h, train, opts)
        h = nn.leaky_relu(h, 0.01)
        h = d_layer(_conv(2 * w, 4, 2, pad, w * 16, dt, "conv2"), h, train, opts)
        if opts.batchnorm:
            h = _const_bn(train, dt, "bn2")(h)
        h = nn.leaky_relu(h, 0.01)
        logit = d_layer(_conv(1, 7, 1, "VALID", 2 * w * 49, dt, "conv3"), h, train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)


def build(config: Any, data_shape: tuple[int, ...], dtype: Any, opts: DOptions):
    """The `model.name='ocaml_dcgan'` builder (the layer list above; each k×k conv has
    k²·in·out + out parameters, each BN 2·out). At the config's 28x28x1, z 100, gw 64, dw 32:
    G 346,977, D 36,513."""
    family.image_shape("ocaml_dcgan", data_shape, 28, fixed=28)
    family.unconditional(config, "ocaml_dcgan")
    head = heads.resolved_heads(config)
    gen = OcamlDCGANGenerator(
        data_shape,
        family.integer(config, "g_width", 1),
        0,
        dtype,
        latent_prior=config.latent_prior,
        **head,
    )
    disc = OcamlDCGANDiscriminator(
        data_shape,
        family.integer(config, "d_width", 1),
        0,
        dtype,
        data_range=head["data_range"],
        opts=opts,
    )
    return gen, disc


FAMILY = family.register(
    family.Family(
        "ocaml_dcgan",
        {**heads.widths(), **heads.output_fields("tanh"), "latent_prior": heads.LATENT_PRIOR},
        build,
        "The OCaml-Torch MNIST DCGAN walkthrough's networks (`gan_jax/models/ocaml_dcgan.py`).",
    )
)
