"""Least-squares GAN loss: D regresses real samples to 1 and generated samples to 0."""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from gan_jax.losses.base import GANLoss, register


@register
@dataclasses.dataclass(frozen=True)
class LSGAN(GANLoss):
    """Least-squares GAN (Mao et al., 2017) with the a=0, b=1, c=1 coding scheme.

    "Least Squares Generative Adversarial Networks":
    D: ½ E (D(x) - 1)² + ½ E D(G(z))²
    G: ½ E (D(G(z)) - 1)²

    The quadratic penalty keeps pushing samples that D already classifies correctly but that lie
    far from the decision boundary, which avoids the vanishing gradients of the sigmoid loss.
    D's output is a regression target, not a logit, so `logistic` is False.
    """

    name: ClassVar[str] = "lsgan"
    logistic: ClassVar[bool] = False

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        return 0.5 * jnp.mean(jnp.square(real - 1.0)) + 0.5 * jnp.mean(jnp.square(fake))

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        return 0.5 * jnp.mean(jnp.square(fake - 1.0))
