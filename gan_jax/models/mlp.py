"""Fully connected GAN networks (Goodfellow et al. 2014, "Generative Adversarial Nets").

The generator maps z through `num_layers` hidden Dense layers to prod(data_shape) outputs and
reshapes them; the discriminator flattens its input and returns one raw logit per example. No
normalisation layers, so the same networks work for images and for low-dimensional toy data such
as 2-D Gaussian mixtures (use `output='linear'` there, since the data is not in [-1, 1]).
Conditional versions concatenate the one-hot label to the input and every hidden activation.

The MLP tutorial's GAN is this network with `num_layers=1`, width 256, ReLU, a sigmoid output
(images in [0, 1]: D reads x/255, see `gan_jax.models.heads`), Glorot-normal weights
(`init='glorot_normal'`), zero biases and z ~ U[-1, 1] (`latent_prior='uniform'`):
`experiments/configs/mlp_tutorial.py`.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models import heads
from gan_jax.models.conditioning import concat_label, label_onehot
from gan_jax.models.regularized import DOptions, d_dropout, d_layer


def _leaky_relu(x: jax.Array) -> jax.Array:
    """LeakyReLU with slope 0.2, the usual GAN choice (Radford et al. 2016)."""
    return nn.leaky_relu(x, negative_slope=0.2)


ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "leaky_relu": _leaky_relu,
    "relu": nn.relu,
}
OUTPUTS = heads.OUTPUTS


class MLPGenerator(nn.Module):
    """z (B, latent) [+ labels (B,)] -> samples (B, *data_shape) in float32."""

    data_shape: Sequence[int]
    width: int
    num_layers: int = 1
    activation: str = "leaky_relu"
    output: str = "tanh"
    num_classes: int = 0
    dtype: Any = jnp.float32
    latent_prior: str = "normal"
    data_range: str = "-1,1"
    weight_init: str = "default"

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        del train  # no train-dependent layers; kept for a uniform model signature
        onehot = label_onehot(labels, self.num_classes, z.shape[0], self.dtype)
        act = ACTIVATIONS[self.activation]
        kernel_init = heads.initializer(self.weight_init, nn.initializers.lecun_normal())
        h = concat_label(z.astype(self.dtype), onehot)
        for i in range(self.num_layers):
            dense = nn.Dense(
                self.width,
                kernel_init=kernel_init,
                dtype=self.dtype,
                param_dtype=jnp.float32,
                name=f"hidden{i}",
            )
            h = concat_label(act(dense(h)), onehot)
        out = nn.Dense(
            math.prod(self.data_shape),
            kernel_init=kernel_init,
            dtype=self.dtype,
            param_dtype=jnp.float32,
            name="to_data",
        )(h)
        out = heads.generator_output(out, self.output, self.data_range)
        return out.reshape((z.shape[0], *self.data_shape))


class MLPDiscriminator(nn.Module):
    """x (B, *data_shape) [+ labels (B,)] -> raw logits (B,) in float32."""

    width: int
    num_layers: int = 1
    activation: str = "leaky_relu"
    num_classes: int = 0
    dtype: Any = jnp.float32
    opts: DOptions = DOptions()  # spectral norm and dropout apply; the MLP has no BatchNorm
    data_range: str = "-1,1"
    weight_init: str = "default"

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        batch, opts, dt = x.shape[0], self.opts, self.dtype
        onehot = label_onehot(labels, self.num_classes, batch, dt)
        act = ACTIVATIONS[self.activation]
        kernel_init = heads.initializer(self.weight_init, nn.initializers.lecun_normal())
        x = heads.discriminator_input(x.reshape((batch, -1)), self.data_range, dt)
        h = concat_label(x, onehot)
        for i in range(self.num_layers):
            dense = nn.Dense(
                self.width,
                kernel_init=kernel_init,
                dtype=dt,
                param_dtype=jnp.float32,
                name=f"hidden{i}",
            )
            h = d_dropout(act(d_layer(dense, h, train, opts)), train, opts)
            h = concat_label(h, onehot)
        dense = nn.Dense(
            1, kernel_init=kernel_init, dtype=dt, param_dtype=jnp.float32, name="logit"
        )
        logit = d_layer(dense, h, train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)
