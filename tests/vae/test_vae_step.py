"""The VAE and VAE/GAN step against an independent computation of its losses and gradients.

Small MLP networks (no BatchNorm, no dropout) and plain SGD with learning rate LR, so each
network's update is exactly −LR × the gradient the step should use; the test recomputes every
term from the networks' `apply` with the formulas written out here, and differentiates each
network's weighted objective separately with `jax.grad`.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from gan_jax import losses, models
from gan_jax.models.vae import build_vae_encoder
from gan_jax.vae.step import VAESpec, init_vae_state, make_vae_step, step_noise

LR, GAMMA, SIGMA, LATENT, SHAPE, N = 0.1, 0.25, 0.7, 3, (6,), 5


def _spec(gan: bool, margin: float = 0.0, recon: str = "pixel") -> VAESpec:
    cfg = ml_collections.ConfigDict(
        dict(name="mlp", latent_dim=LATENT, g_width=8, d_width=8, num_layers=1, num_classes=0)
    )
    decoder, disc = models.build(cfg, SHAPE)
    sgd = optax.sgd(LR)
    extra = dict(discriminator=disc, loss=losses.get("bce"), d_tx=sgd) if gan else {}
    return VAESpec(
        encoder=build_vae_encoder(cfg, SHAPE),
        decoder=decoder,
        e_tx=sgd,
        g_tx=sgd,
        latent_dim=LATENT,
        recon=recon,
        pixel_sigma=SIGMA,
        gamma=GAMMA,
        skip_margin=margin,
        **extra,
    )


def _terms(spec, x, noise):
    """(e, g, d) -> dict of the loss terms, written out from the formulas."""

    def terms(e, g, d):
        mean, log_var = spec.encoder.apply({"params": e}, x, train=False)
        z = mean + jnp.exp(0.5 * log_var) * noise["eps"]
        recon = spec.decoder.apply({"params": g}, z, None)
        kl = jnp.mean(0.5 * jnp.sum(mean**2 + jnp.exp(log_var) - log_var - 1.0, axis=1))
        out = {"kl": kl, "recon": jnp.sum((x - recon) ** 2) / N / (2 * SIGMA**2)}
        if spec.gan:
            prior = spec.decoder.apply({"params": g}, noise["z_prior"], None)
            real = spec.discriminator.apply({"params": d}, x)
            fake = jnp.concatenate(
                [spec.discriminator.apply({"params": d}, im) for im in (recon, prior)]
            )
            out["d"] = jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake))
            out["g"] = jnp.mean(jax.nn.softplus(-fake))  # non-saturating
            out["e_real"] = jnp.mean(jax.nn.softplus(-real))
            out["e_fake"] = jnp.mean(jax.nn.softplus(fake))
        return out

    return terms


def _grad(terms, weights, argnum, params):
    return jax.grad(lambda *p: sum(w * terms(*p)[k] for k, w in weights.items()), argnum)(*params)


def _sgd(params, grads):
    return jax.tree.map(lambda p, g: p - LR * g, params, grads)


def _run(spec):
    state = init_vae_state(spec, jax.random.PRNGKey(0), SHAPE)
    x = np.random.default_rng(0).uniform(-1, 1, (N, *SHAPE)).astype(np.float32)
    rng = jax.random.PRNGKey(7)
    new, metrics = jax.jit(make_vae_step(spec))(state, {"x": x}, rng)
    noise = step_noise(rng, state.step, N, LATENT)
    params = (state.e_params, state.g_params, state.d_params)
    return state, new, metrics, _terms(spec, x, noise), params


def _close(a, b):
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=2e-4, atol=1e-6), a, b)


def test_vae_step_follows_the_gradient_of_kl_plus_reconstruction():
    _, new, metrics, terms, params = _run(_spec(gan=False))
    values = terms(*params)
    np.testing.assert_allclose(metrics["kl"], values["kl"], rtol=1e-5)
    np.testing.assert_allclose(metrics["recon"], values["recon"], rtol=1e-5)
    both = {"kl": 1.0, "recon": 1.0}
    _close(new.e_params, _sgd(params[0], _grad(terms, both, 0, params)))
    _close(new.g_params, _sgd(params[1], _grad(terms, both, 1, params)))  # no γ in a plain VAE


@pytest.mark.parametrize("margin", [0.0, 0.49])
def test_vaegan_step_weights_the_decoder_gradients_with_gamma(margin):
    """Decoder: γ∇recon + ∇GAN; encoder: ∇(KL + recon), no GAN term; D: ∇ of its bce loss.
    With margin 0.49 both of D's errors (≈ log 2 at init) are above 1 − m: G's GAN term is
    skipped (the post's rule) and D, whose errors are not below m, still updates."""
    state, new, metrics, terms, params = _run(_spec(gan=True, margin=margin))
    values = terms(*params)
    skip_g = margin > 0
    assert min(values["e_real"], values["e_fake"]) > 1 - 0.49  # the premise of the skip case
    for key, name in (("d", "d_loss"), ("g", "g_loss"), ("kl", "kl"), ("recon", "recon")):
        np.testing.assert_allclose(metrics[name], values[key], rtol=1e-5)
    g_weights = {"recon": GAMMA} if skip_g else {"recon": GAMMA, "g": 1.0}
    _close(new.e_params, _sgd(params[0], _grad(terms, {"kl": 1.0, "recon": 1.0}, 0, params)))
    _close(new.g_params, _sgd(params[1], _grad(terms, g_weights, 1, params)))
    _close(new.d_params, _sgd(params[2], _grad(terms, {"d": 1.0}, 2, params)))
    norm = optax.global_norm(_grad(terms, {"recon": GAMMA}, 1, params))
    np.testing.assert_allclose(metrics["g_recon_grad_norm"], norm, rtol=1e-4)
    assert (int(new.g_skips), int(new.d_skips), float(metrics["g_skipped"])) == (
        int(skip_g),
        0,
        float(skip_g),
    )


def test_feature_space_reconstruction_uses_ds_last_hidden_layer():
    """Larsen's ½Σ(D_l(x) − D_l(x̃))², D_l = the MLP discriminator's hidden activation."""
    spec = _spec(gan=True, recon="features")
    state, _, metrics, _, params = _run(spec)
    x = np.random.default_rng(0).uniform(-1, 1, (N, *SHAPE)).astype(np.float32)
    noise = step_noise(jax.random.PRNGKey(7), state.step, N, LATENT)
    mean, log_var = spec.encoder.apply({"params": params[0]}, x, train=False)
    recon = spec.decoder.apply({"params": params[1]}, mean + np.exp(0.5 * log_var) * noise["eps"])
    hidden = params[2]["hidden0"]

    def features(v):
        h = np.asarray(v, np.float64) @ hidden["kernel"] + hidden["bias"]
        return np.where(h > 0, h, 0.2 * h)

    expected = 0.5 * np.mean(np.sum((features(x) - features(recon)) ** 2, axis=1))
    np.testing.assert_allclose(metrics["recon"], expected, rtol=1e-4)
