"""The VAE terms (Kingma & Welling 2014) and Larsen et al.'s feature-space reconstruction (2016,
"Autoencoding beyond pixels using a learned similarity metric"). Each is a mean over the batch
of a per-example sum, so its scale is that of a per-image log-likelihood, in nats.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def reparameterize(mean: jax.Array, log_var: jax.Array, eps: jax.Array) -> jax.Array:
    """z = μ + σ ⊙ ε with σ = exp(½ log σ²) and ε ~ N(0, I): a sample of q(z | x) that is a
    differentiable function of (μ, log σ²), so ∂z/∂μ = 1 and ∂z/∂log σ² = ½ σ ε."""
    return mean + jnp.exp(0.5 * log_var) * eps


def kl_to_standard_normal(mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1), summed over the latent
    dimensions and averaged over the batch: the VAE's prior term."""
    per_example = 0.5 * jnp.sum(jnp.square(mean) + jnp.exp(log_var) - log_var - 1.0, axis=-1)
    return jnp.mean(per_example)


def _per_example_sum(x: jax.Array) -> jax.Array:
    return jnp.sum(x.reshape((x.shape[0], -1)), axis=-1)


def pixel_reconstruction(x: jax.Array, recon: jax.Array, sigma: float) -> jax.Array:
    """−log N(x; x̃, σ² I) up to its constant: Σ_pixels (x − x̃)² / (2σ²), averaged over the
    batch (the post's pixel-wise reconstruction error; σ = `vae.pixel_sigma` sets its weight
    against the KL term)."""
    return jnp.mean(_per_example_sum(jnp.square(x - recon))) / (2.0 * sigma**2)


def feature_reconstruction(real_features: jax.Array, recon_features: jax.Array) -> jax.Array:
    """Larsen et al.'s L_llike^Dis_l = −log N(Dis_l(x); Dis_l(x̃), I) up to its constant:
    ½ Σ (Dis_l(x) − Dis_l(x̃))² over the features of D's hidden layer l, averaged over the
    batch."""
    return 0.5 * jnp.mean(_per_example_sum(jnp.square(real_features - recon_features)))
