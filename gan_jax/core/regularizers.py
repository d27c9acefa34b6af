"""Gradient penalties on the discriminator, added to its loss by the train step.

The math of the D terms `r1` and `gp` (`gan_jax.core.terms` registers them; chosen with
`config.stabilizers.regularizer`, weighted by `regularizer_weight`):
- `r1` (Mescheder, Geiger & Nowozin 2018, "Which training methods for GANs do actually
  converge?"): R1 = E_x‖∇ₓD(x)‖² on real data; D's loss gains (γ/2)·R1, γ = the weight.
- `gp` (Gulrajani et al. 2017, "Improved training of Wasserstein GANs"): GP = E(‖∇D(x̂)‖₂ − 1)²
  at x̂ = εx + (1 − ε)x̃, ε ~ U[0, 1] per example; D's loss gains λ·GP, λ = the weight.
  With `loss='wgan'` this is WGAN-GP.

Both use per-example input gradients computed as ∇ₓ Σᵢ D(xᵢ), which is exact only when examples
do not interact inside D: turn BatchNorm off in D (`stabilizers.d_batchnorm=False`) for the exact
penalty. `regularizer_interval` > 1 is lazy regularization (Karras et al. 2020, StyleGAN2):
the penalty is computed every `interval` steps with its weight multiplied by `interval`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

DFn = Callable[[jax.Array], jax.Array]


def _input_gradients(d_fn: DFn, x: jax.Array) -> jax.Array:
    """Per-example ∇ₓD(x), flattened to (B, -1), in float32."""
    grads = jax.grad(lambda inputs: jnp.sum(d_fn(inputs)))(x)
    return grads.reshape((x.shape[0], -1)).astype(jnp.float32)


def r1_penalty(d_fn: DFn, real: jax.Array) -> jax.Array:
    """E‖∇ₓD(x)‖² over the real batch (without the γ/2 factor)."""
    return jnp.mean(jnp.sum(_input_gradients(d_fn, real) ** 2, axis=1))


def gradient_penalty(d_fn: DFn, real: jax.Array, fake: jax.Array, eps: jax.Array) -> jax.Array:
    """E(‖∇D(x̂)‖₂ − 1)² at x̂ = eps·real + (1 − eps)·fake; eps has shape (B,)."""
    eps = eps.reshape((-1,) + (1,) * (real.ndim - 1))
    mixed = eps * real + (1.0 - eps) * fake
    norms = jnp.sqrt(jnp.sum(_input_gradients(d_fn, mixed) ** 2, axis=1) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)


def penalty_scale(name: str, weight: float, interval: int) -> float:
    """The factor the penalty is multiplied by in D's loss on the steps it is applied."""
    factor = weight / 2.0 if name == "r1" else weight
    return factor * interval
