"""Hinge GAN loss: D is a margin classifier, G raises D's score on its samples."""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from gan_jax.losses.base import GANLoss, register


@register
@dataclasses.dataclass(frozen=True)
class Hinge(GANLoss):
    """Hinge loss (Lim & Ye, 2017, "Geometric GAN"; Miyato et al., 2018, "Spectral Normalization").

    D: E max(0, 1 - D(x)) + E max(0, 1 + D(G(z)))
    G: -E D(G(z))

    D stops being penalised once samples are beyond the margin, which bounds its loss and pairs
    well with spectral normalisation. D's output is a score, not a logit: `logistic` is False.
    """

    name: ClassVar[str] = "hinge"
    logistic: ClassVar[bool] = False

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        return jnp.mean(jax.nn.relu(1.0 - real)) + jnp.mean(jax.nn.relu(1.0 + fake))

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        return -jnp.mean(fake)
