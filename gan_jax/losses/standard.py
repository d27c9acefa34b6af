"""Cross-entropy GAN losses: D is a logistic classifier of real versus generated samples.

D's raw output is the logit of P(real). Log-probabilities are written with softplus, using
-log σ(x) = softplus(-x) and -log(1 - σ(x)) = softplus(x), which stay finite for any logit.
"""

import dataclasses
import numbers
from typing import ClassVar

import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError
from gan_jax.losses.base import GANLoss, register


def _bce_discriminator(real: jax.Array, fake: jax.Array) -> jax.Array:
    """-E log σ(D(x)) - E log(1 - σ(D(G(z))))."""
    return jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake))


def _non_saturating_generator(fake: jax.Array) -> jax.Array:
    """-E log σ(D(G(z)))."""
    return jnp.mean(jax.nn.softplus(-fake))


@register
@dataclasses.dataclass(frozen=True)
class BCE(GANLoss):
    """Binary cross-entropy with the non-saturating generator loss (Goodfellow et al., 2014).

    D: -E log σ(D(x)) - E log(1 - σ(D(G(z))))
    G: -E log σ(D(G(z)))

    The generator maximises log D(G(z)) instead of minimising log(1 - D(G(z))) because the latter
    has vanishing gradients early in training, when D rejects samples confidently.
    """

    name: ClassVar[str] = "bce"
    logistic: ClassVar[bool] = True

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        return _bce_discriminator(real, fake)

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        return _non_saturating_generator(fake)


@register
@dataclasses.dataclass(frozen=True)
class BCEMinimax(GANLoss):
    """Binary cross-entropy with the original saturating minimax generator loss.

    Goodfellow et al., 2014, "Generative Adversarial Nets", Eq. 1:
    D: -E log σ(D(x)) - E log(1 - σ(D(G(z))))
    G: E log(1 - σ(D(G(z))))   (minimised by G)

    Kept for comparison with `bce`; its generator gradient vanishes when D is confident.
    """

    name: ClassVar[str] = "bce_minimax"
    logistic: ClassVar[bool] = True

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        return _bce_discriminator(real, fake)

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        return -jnp.mean(jax.nn.softplus(fake))


@register
@dataclasses.dataclass(frozen=True)
class BCESmoothed(GANLoss):
    """Binary cross-entropy with one-sided label smoothing (Salimans et al., 2016).

    "Improved Techniques for Training GANs", Sec. 3.4. With target t = real_label for real data:
    D: -E[t log σ(D(x)) + (1 - t) log(1 - σ(D(x)))] - E log(1 - σ(D(G(z))))
    G: -E log σ(D(G(z)))   (target 1, as in `bce`)

    Only the real target is smoothed: a nonzero fake target would move D's optimum towards the
    generator's current samples, reinforcing its mistakes.

    Conventions differ: TF-GAN's `label_smoothing=0.25` means t = 1 - 0.25 / 2 = 0.875.

    Attributes:
      real_label: target t for real samples, in (0, 1]; 1 recovers `bce`.
    """

    name: ClassVar[str] = "bce_smoothed"
    logistic: ClassVar[bool] = True

    real_label: float = 0.9

    def __post_init__(self) -> None:
        t = self.real_label
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0.0 < t <= 1.0:
            raise ConfigError(f"loss 'bce_smoothed' option real_label must be in (0, 1], got {t!r}")
        object.__setattr__(self, "real_label", float(t))

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        t = self.real_label
        real_term = t * jax.nn.softplus(-real) + (1.0 - t) * jax.nn.softplus(real)
        return jnp.mean(real_term) + jnp.mean(jax.nn.softplus(fake))

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        return _non_saturating_generator(fake)
