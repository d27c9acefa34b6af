"""Fully connected GAN networks (Goodfellow et al. 2014, "Generative Adversarial Nets").

The generator maps z through `num_layers` hidden Dense layers to prod(data_shape) outputs and
reshapes them; the discriminator flattens its input and returns one raw logit per example. No
normalisation layers, so the same networks work for images and for low-dimensional toy data such
as 2-D Gaussian mixtures (use `output='linear'` there, since the data is not in [-1, 1]).
Conditional versions concatenate the one-hot label to the input and every hidden activation.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.conditioning import concat_label, label_onehot
from gan_jax.models.regularized import DOptions, d_dropout, d_layer


def _leaky_relu(x: jax.Array) -> jax.Array:
    """LeakyReLU with slope 0.2, the usual GAN choice (Radford et al. 2016)."""
    return nn.leaky_relu(x, negative_slope=0.2)


ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "leaky_relu": _leaky_relu,
    "relu": nn.relu,
}
OUTPUTS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "linear": lambda x: x,
}


class MLPGenerator(nn.Module):
    """z (B, latent) [+ labels (B,)] -> samples (B, *data_shape) in float32."""

    data_shape: Sequence[int]
    width: int
    num_layers: int = 1
    activation: str = "leaky_relu"
    output: str = "tanh"
    num_classes: int = 0
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        del train  # no train-dependent layers; kept for a uniform model signature
        onehot = label_onehot(labels, self.num_classes, z.shape[0], self.dtype)
        act = ACTIVATIONS[self.activation]
        h = concat_label(z.astype(self.dtype), onehot)
        for i in range(self.num_layers):
            h = nn.Dense(self.width, dtype=self.dtype, param_dtype=jnp.float32, name=f"hidden{i}")(
                h
            )
            h = concat_label(act(h), onehot)
        out = nn.Dense(
            math.prod(self.data_shape), dtype=self.dtype, param_dtype=jnp.float32, name="to_data"
        )(h)
        out = OUTPUTS[self.output](out)
        return out.reshape((z.shape[0], *self.data_shape)).astype(jnp.float32)


class MLPDiscriminator(nn.Module):
    """x (B, *data_shape) [+ labels (B,)] -> raw logits (B,) in float32."""

    width: int
    num_layers: int = 1
    activation: str = "leaky_relu"
    num_classes: int = 0
    dtype: Any = jnp.float32
    opts: DOptions = DOptions()  # spectral norm and dropout apply; the MLP has no BatchNorm

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        batch, opts = x.shape[0], self.opts
        onehot = label_onehot(labels, self.num_classes, batch, self.dtype)
        act = ACTIVATIONS[self.activation]
        h = concat_label(x.reshape((batch, -1)).astype(self.dtype), onehot)
        for i in range(self.num_layers):
            dense = nn.Dense(
                self.width, dtype=self.dtype, param_dtype=jnp.float32, name=f"hidden{i}"
            )
            h = d_dropout(act(d_layer(dense, h, train, opts)), train, opts)
            h = concat_label(h, onehot)
        dense = nn.Dense(1, dtype=self.dtype, param_dtype=jnp.float32, name="logit")
        logit = d_layer(dense, h, train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)
