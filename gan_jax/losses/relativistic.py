"""Relativistic GAN losses (Jolicoeur-Martineau, 2018, "The relativistic discriminator").

D (the paper's critic C, a raw output) estimates how much more realistic real data is than
generated data, instead of the absolute probability that a sample is real. Both players' losses
therefore depend on D(real) and D(fake), so `needs_real_for_generator` is True for all of them.

Averaged variants compare each sample with the mean output on the other batch:
    r = C(x_r) - E C(x_f),    f = C(x_f) - E C(x_r)
The generator losses mirror the discriminator losses with the roles of r and f swapped.

Pitfalls in public code, which these classes avoid by following the paper's equations: the
original reference code had a sign error in the second term, and a popular PyTorch
repository replaced the RaGAN generator loss with the standard non-saturating one, dropping the
term through which G's gradient depends on the real data.
"""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from gan_jax.losses.base import GANLoss, register


def _averaged(real: jax.Array, fake: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Return (r, f) = (C(x_r) - E C(x_f), C(x_f) - E C(x_r))."""
    return real - jnp.mean(fake), fake - jnp.mean(real)


def _check_paired(real: jax.Array, fake: jax.Array) -> None:
    if real.shape != fake.shape:
        raise ValueError(
            f"rsgan pairs real and fake samples; batch sizes differ: {real.shape} vs {fake.shape}"
        )


@register
@dataclasses.dataclass(frozen=True)
class RSGAN(GANLoss):
    """Relativistic standard GAN (Jolicoeur-Martineau, 2018), paired elementwise.

    D: -E log σ(C(x_r) - C(x_f))
    G: -E log σ(C(x_f) - C(x_r))

    The i-th real sample is paired with the i-th generated one, so batch sizes must match.
    σ(C(x_r) - C(x_f)) is the probability that x_r is more realistic than x_f: `logistic`.
    """

    name: ClassVar[str] = "rsgan"
    logistic: ClassVar[bool] = True
    needs_real_for_generator: ClassVar[bool] = True

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        _check_paired(real, fake)
        return jnp.mean(jax.nn.softplus(fake - real))

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        _check_paired(real, fake)
        return jnp.mean(jax.nn.softplus(real - fake))


@register
@dataclasses.dataclass(frozen=True)
class RaSGAN(GANLoss):
    """Relativistic average standard GAN (Jolicoeur-Martineau, 2018).

    D: -E log σ(r) - E log(1 - σ(f))
    G: -E log σ(f) - E log(1 - σ(r))
    with r = C(x_r) - E C(x_f) and f = C(x_f) - E C(x_r).
    """

    name: ClassVar[str] = "rasgan"
    logistic: ClassVar[bool] = True
    needs_real_for_generator: ClassVar[bool] = True

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        r, f = _averaged(real, fake)
        return jnp.mean(jax.nn.softplus(-r)) + jnp.mean(jax.nn.softplus(f))

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        r, f = _averaged(real, fake)
        return jnp.mean(jax.nn.softplus(-f)) + jnp.mean(jax.nn.softplus(r))


@register
@dataclasses.dataclass(frozen=True)
class RaLSGAN(GANLoss):
    """Relativistic average least-squares GAN (Jolicoeur-Martineau, 2018).

    D: ½ [E (r - 1)² + E (f + 1)²]
    G: ½ [E (f - 1)² + E (r + 1)²]
    with r = C(x_r) - E C(x_f) and f = C(x_f) - E C(x_r).

    The factor ½ matches the paper author's RaLSGAN reference code. The outputs are regression
    targets (±1), not logits: `logistic` is False.
    """

    name: ClassVar[str] = "ralsgan"
    logistic: ClassVar[bool] = False
    needs_real_for_generator: ClassVar[bool] = True

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        r, f = _averaged(real, fake)
        return 0.5 * (jnp.mean(jnp.square(r - 1.0)) + jnp.mean(jnp.square(f + 1.0)))

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        r, f = _averaged(real, fake)
        return 0.5 * (jnp.mean(jnp.square(f - 1.0)) + jnp.mean(jnp.square(r + 1.0)))


@register
@dataclasses.dataclass(frozen=True)
class RaHinge(GANLoss):
    """Relativistic average hinge GAN (Jolicoeur-Martineau, 2018).

    D: E max(0, 1 - r) + E max(0, 1 + f)
    G: E max(0, 1 - f) + E max(0, 1 + r)
    with r = C(x_r) - E C(x_f) and f = C(x_f) - E C(x_r). Outputs are margin scores, not
    logits: `logistic` is False.
    """

    name: ClassVar[str] = "rahinge"
    logistic: ClassVar[bool] = False
    needs_real_for_generator: ClassVar[bool] = True

    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        r, f = _averaged(real, fake)
        return jnp.mean(jax.nn.relu(1.0 - r)) + jnp.mean(jax.nn.relu(1.0 + f))

    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        r, f = _averaged(real, fake)
        return jnp.mean(jax.nn.relu(1.0 - f)) + jnp.mean(jax.nn.relu(1.0 + r))
