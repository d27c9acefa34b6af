"""Wasserstein GAN loss: D is a critic estimating the Wasserstein-1 distance."""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from gan_jax.losses.base import GANLoss, register


@register
@dataclasses.dataclass(frozen=True)
class WGAN(GANLoss):
    """Wasserstein GAN (Arjovsky et al., 2017, "Wasserstein GAN", Algorithm 1).

    D (critic): E D(G(z)) - E D(x)
    G: -E D(G(z))

    The critic's objective only estimates the Wasserstein-1 distance when D is (approximately)
    1-Lipschitz; without a constraint it is unbounded. The constraint (weight clipping or a
    gradient penalty, Gulrajani et al., 2017) is a regularizer configured separately, not part of
    this loss. D's output is an unbounded score, not a logit: `logistic` is False.
    """

    name: ClassVar[str] = "wgan"
    logistic: ClassVar[bool] = False

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        return jnp.mean(fake) - jnp.mean(real)

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        return -jnp.mean(fake)
