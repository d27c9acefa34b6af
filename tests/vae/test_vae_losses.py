"""The VAE terms against numpy float64 computations of their formulas."""

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.vae import losses


def _arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(np.float32) for s in shapes]


def test_kl_matches_the_closed_form_in_float64():
    mean, log_var = _arrays(0, (5, 7), (5, 7))
    m, lv = mean.astype(np.float64), log_var.astype(np.float64)
    # KL(N(m, s^2) || N(0, 1)) = log(1/s) + (s^2 + m^2)/2 - 1/2, per dimension.
    s = np.exp(0.5 * lv)
    expected = np.mean(np.sum(np.log(1.0 / s) + (s**2 + m**2) / 2.0 - 0.5, axis=1))
    np.testing.assert_allclose(losses.kl_to_standard_normal(mean, log_var), expected, rtol=1e-5)
    # zero exactly at the prior
    assert float(losses.kl_to_standard_normal(np.zeros((3, 4)), np.zeros((3, 4)))) == 0.0


def test_reparameterization_sample_and_its_gradients():
    mean, log_var, eps, w = _arrays(1, (4, 3), (4, 3), (4, 3), (4, 3))
    z = losses.reparameterize(mean, log_var, eps)
    np.testing.assert_allclose(z, mean + np.exp(0.5 * log_var) * eps, rtol=1e-5, atol=1e-6)
    # d/dμ Σ w·z = w;  d/dlogσ² Σ w·z = w · ½ exp(½ logσ²) · ε
    g_mean, g_log_var = jax.grad(
        lambda m, lv: jnp.sum(w * losses.reparameterize(m, lv, eps)), argnums=(0, 1)
    )(mean, log_var)
    np.testing.assert_allclose(g_mean, w, rtol=1e-6)
    expected = w.astype(np.float64) * 0.5 * np.exp(0.5 * log_var.astype(np.float64)) * eps
    np.testing.assert_allclose(g_log_var, expected, rtol=1e-5)


def test_reconstruction_terms_in_float64():
    x, recon = _arrays(2, (3, 4, 4, 2), (3, 4, 4, 2))
    d = x.astype(np.float64) - recon
    expected = np.mean(np.sum(d.reshape(3, -1) ** 2, axis=1)) / (2 * 0.3**2)
    np.testing.assert_allclose(losses.pixel_reconstruction(x, recon, 0.3), expected, rtol=1e-5)
    f_real, f_recon = _arrays(3, (3, 6), (3, 6))
    expected = 0.5 * np.mean(np.sum((f_real.astype(np.float64) - f_recon) ** 2, axis=1))
    np.testing.assert_allclose(losses.feature_reconstruction(f_real, f_recon), expected, rtol=1e-5)
