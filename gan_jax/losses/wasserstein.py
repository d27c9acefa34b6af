"""Wasserstein GAN loss: D is a critic estimating the Wasserstein-1 distance."""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError
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

    `drift` = ε > 0 adds ε·E D(x)² to the critic's loss (Karras et al. 2018, "Progressive Growing
    of GANs", Sec. A.1, ε = 0.001): it keeps the critic's scores from drifting far from zero,
    which the Wasserstein objective alone leaves free. G's loss is unchanged.
    """

    name: ClassVar[str] = "wgan"
    logistic: ClassVar[bool] = False
    drift: float = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.drift, (int, float)) and self.drift >= 0):
            raise ConfigError(f"loss 'wgan' option drift must be a number >= 0, got {self.drift!r}")

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        loss = jnp.mean(fake) - jnp.mean(real)
        if self.drift:
            loss = loss + self.drift * jnp.mean(jnp.square(real))
        return loss

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        return -jnp.mean(fake)
