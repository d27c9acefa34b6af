"""Discriminator stabilizers shared by every discriminator: spectral norm, dropout, BatchNorm.

`DOptions` is a field of each discriminator module; `d_layer` wraps a conv/dense layer in
`nn.SpectralNorm` when asked (Miyato et al. 2018: each weight divided by its largest singular
value, estimated by one power iteration per training forward pass; the power-iteration vectors
live in the `batch_stats` collection, so the train step carries them like BN statistics), and
`d_dropout` applies dropout in training mode (the Keras/Torch seeds' D; needs a 'dropout' rng).
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax


@dataclasses.dataclass(frozen=True)
class DOptions:
    """How a discriminator is regularised.

    batchnorm: BN in D's hidden blocks (DCGAN). Turn it off for R1/WGAN-GP, whose per-example
      input gradients assume examples do not interact, and usually with spectral norm (SNGAN).
    """

    spectral_norm: bool = False
    dropout: float = 0.0
    batchnorm: bool = True


def d_layer(layer: nn.Module, h: jax.Array, train: bool, opts: DOptions) -> jax.Array:
    """Apply `layer`, spectrally normalised if `opts.spectral_norm`."""
    if opts.spectral_norm:
        return nn.SpectralNorm(layer, name=f"{layer.name}_sn")(h, update_stats=train)
    return layer(h)


def d_dropout(h: jax.Array, train: bool, opts: DOptions) -> jax.Array:
    if opts.dropout <= 0:
        return h
    return nn.Dropout(opts.dropout, deterministic=not train)(h)
