"""The pure VAE and VAE/GAN train step `(state, batch, rng) -> (state, metrics)`.

With encoder E, decoder G (the GAN's generator) and, for VAE/GAN, discriminator D, one step on
a batch x draws ε, z_p ~ N(0, I) and computes

    (μ, log σ²) = E(x),  z = μ + σ ⊙ ε,  x̃ = G(z),  x_p = G(z_p)
    L_prior = KL(N(μ, σ²) ‖ N(0, I))                      (`losses.kl_to_standard_normal`)
    L_recon = Σ (x − x̃)² / 2σ_x²   (pixel, the post)  or  ½ Σ (D_l(x) − D_l(x̃))²  (Larsen)
    L_D     = the config's GAN loss for D on real x and fakes [x̃, x_p]
    L_G     = its generator loss on the same fakes

and, as in Larsen et al. 2016 (Algorithm 1) and the faces post ("the gradients to the
decoder/generator parameters are weighted to ensure a sensible contribution from both models"),
updates every network once from the same forward pass:

    E:  ∇_E (L_prior + L_recon)
    G:  γ ∇_G L_recon + [G not skipped] ∇_G L_G         (γ = `vae.gamma`)
    D:  ∇_D L_D, unless skipped

Skipping is the GAN's margin rule (`gan_jax.core.stabilizers.skip_decisions` on D's errors on
real and fake images, `stabilizers.skip_margin` / `skip_rule`): a skipped D keeps its weights,
optimizer state and statistics; a skipped G still takes its reconstruction gradient, as the post
keeps minimising the VAE terms while it balances the GAN term. The plain VAE (`vae.gan=False`)
has no D: E and G both follow ∇(L_prior + L_recon).

One `jax.vjp` of the forward pass gives every gradient (each network's from its own weighting of
the terms), so the networks share the forward computation. Metrics: `kl`, `recon`, `vae_loss`
(= kl + recon), `pixel_mse`, `e_grad_norm`, `g_recon_grad_norm` (of γ ∇_G L_recon),
and for VAE/GAN `d_loss`, `g_loss`, `d_real`, `d_fake` (mean D output, a probability for
logistic losses), `g_gan_grad_norm`, `d_skipped` / `g_skipped` (1 when this step skipped it).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from gan_jax.core.stabilizers import discriminator_errors, keep_if, skip_decisions
from gan_jax.losses.base import GANLoss
from gan_jax.models.vae import init_variables, logits_and_features
from gan_jax.vae import losses

RECON_SPACES = ("pixel", "features")  # config.vae.recon
TERMS = ("kl", "recon", "g_gan", "d_gan")


class VAEState(struct.PyTreeNode):
    """Every network's weights, BatchNorm statistics and optimizer state. The decoder is stored
    under the generator's names (`g_params`, `g_batch_stats`), which `gan_jax.load` reads; D's
    entries are empty for a plain VAE. `d_skips` / `g_skips` count the skipped updates."""

    step: jax.Array
    e_params: Any
    e_batch_stats: Any
    g_params: Any
    g_batch_stats: Any
    d_params: Any
    d_batch_stats: Any
    e_opt_state: optax.OptState
    g_opt_state: optax.OptState
    d_opt_state: optax.OptState
    d_skips: jax.Array
    g_skips: jax.Array


@dataclasses.dataclass(frozen=True)
class VAESpec:
    """What the step needs; `discriminator`, `loss` and `d_tx` are None for a plain VAE."""

    encoder: nn.Module
    decoder: nn.Module
    e_tx: optax.GradientTransformation
    g_tx: optax.GradientTransformation
    latent_dim: int
    recon: str = "pixel"
    pixel_sigma: float = 1.0
    gamma: float = 1.0
    discriminator: nn.Module | None = None
    loss: GANLoss | None = None
    d_tx: optax.GradientTransformation | None = None
    skip_margin: float = 0.0
    skip_rule: str = "either"

    @property
    def gan(self) -> bool:
        return self.discriminator is not None


def init_vae_state(spec: VAESpec, rng: jax.Array, data_shape: tuple[int, ...]) -> VAEState:
    """Fresh networks (initialised on a batch of two) and optimizer states."""
    e_key, g_key, d_key = jax.random.split(rng, 3)
    e_vars = init_variables(spec.encoder, e_key, data_shape)
    g_vars = spec.decoder.init(g_key, jnp.zeros((2, spec.latent_dim)), None, train=False)
    d_params: Any = {}
    d_stats: Any = {}
    if spec.gan:
        d_vars = spec.discriminator.init(d_key, jnp.zeros((2, *data_shape)), None, train=False)
        d_params, d_stats = d_vars["params"], d_vars.get("batch_stats", {})
    zero = jnp.zeros((), jnp.int32)
    return VAEState(
        step=zero,
        e_params=e_vars["params"],
        e_batch_stats=e_vars["batch_stats"],
        g_params=g_vars["params"],
        g_batch_stats=g_vars.get("batch_stats", {}),
        d_params=d_params,
        d_batch_stats=d_stats,
        e_opt_state=spec.e_tx.init(e_vars["params"]),
        g_opt_state=spec.g_tx.init(g_vars["params"]),
        d_opt_state=spec.d_tx.init(d_params) if spec.gan else {},
        d_skips=zero,
        g_skips=zero,
    )


def step_noise(rng: jax.Array, step: jax.Array, n: int, latent_dim: int) -> dict[str, jax.Array]:
    """The step's randomness, a function of the run's key and the step: ε for the
    reparameterization, the prior samples z_p, and D's dropout keys (one shared by x and x̃)."""
    eps_key, prior_key, pair_key, d_prior_key = jax.random.split(jax.random.fold_in(rng, step), 4)
    return {
        "eps": jax.random.normal(eps_key, (n, latent_dim), jnp.float32),
        "z_prior": jax.random.normal(prior_key, (n, latent_dim), jnp.float32),
        "d_pair": pair_key,
        "d_prior": d_prior_key,
    }


def _forward(spec: VAESpec, state: VAEState, x: jax.Array, keys: dict[str, jax.Array]):
    """`f(e_params, g_params, d_params) -> (terms, aux)`: the loss terms of the module docstring
    and (batch-stat updates, metrics, D's logits)."""
    n = x.shape[0]

    def f(e_params, g_params, d_params):
        (mean, log_var), e_upd = spec.encoder.apply(
            {"params": e_params, "batch_stats": state.e_batch_stats},
            x,
            train=True,
            mutable=["batch_stats"],
        )
        z = losses.reparameterize(mean, log_var, keys["eps"])
        if spec.gan:
            z = jnp.concatenate([z, keys["z_prior"]])
        decoded, g_upd = spec.decoder.apply(
            {"params": g_params, "batch_stats": state.g_batch_stats},
            z,
            None,
            train=True,
            mutable=["batch_stats"],
        )
        recon = decoded[:n]
        terms = {"kl": losses.kl_to_standard_normal(mean, log_var)}
        metrics = {"pixel_mse": jnp.mean(jnp.square(recon - x))}
        updates = {"e": e_upd.get("batch_stats", {}), "g": g_upd.get("batch_stats", {})}
        logits = None
        if spec.gan:
            stats = state.d_batch_stats

            def d(images, key):
                nonlocal stats
                out, upd = logits_and_features(
                    spec.discriminator,
                    {"params": d_params, "batch_stats": stats},
                    images,
                    {"dropout": key},
                )
                stats = upd.get("batch_stats", {})
                return out

            # x and x̃ share one dropout key, so D_l(x) and D_l(x̃) see the same dropout masks.
            real_logits, real_features = d(x, keys["d_pair"])
            recon_logits, recon_features = d(recon, keys["d_pair"])
            prior_logits, _ = d(decoded[n:], keys["d_prior"])
            fake_logits = jnp.concatenate([recon_logits, prior_logits])
            terms["d_gan"] = spec.loss.discriminator_loss(real_logits, fake_logits)
            terms["g_gan"] = spec.loss.generator_loss(real_logits, fake_logits)
            updates["d"] = stats
            logits = (real_logits, fake_logits)
        if spec.recon == "features":
            terms["recon"] = losses.feature_reconstruction(real_features, recon_features)
        else:
            terms["recon"] = losses.pixel_reconstruction(x, recon, spec.pixel_sigma)
        return terms, (updates, metrics, logits)

    return f


def _cotangent(terms: dict[str, jax.Array], weights: dict[str, float]) -> dict[str, jax.Array]:
    """The cotangent whose pullback is the gradient of Σ_k weights[k]·terms[k]."""
    return {k: jnp.asarray(weights.get(k, 0.0), v.dtype) for k, v in terms.items()}


def _update(tx, grads, opt_state, params):
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def make_vae_step(spec: VAESpec):
    """The pure train step for `spec` (see the module docstring); jit it or give it to a
    `Runner`. `rng` is the run's base key; the step folds in `state.step`."""
    if spec.recon not in RECON_SPACES:
        raise ValueError(f"recon must be one of {RECON_SPACES}, got {spec.recon!r}")
    if spec.recon == "features" and not spec.gan:
        raise ValueError("feature-space reconstruction needs a discriminator (VAE/GAN)")

    def step(state: VAEState, batch: dict[str, jax.Array], rng: jax.Array):
        x = batch["x"].astype(jnp.float32)
        f = _forward(spec, state, x, step_noise(rng, state.step, x.shape[0], spec.latent_dim))
        terms, pullback, (stats, metrics, logits) = jax.vjp(
            f, state.e_params, state.g_params, state.d_params, has_aux=True
        )
        # ∇(KL + recon) for E, and ∇_G recon (KL does not depend on G), from one pullback.
        e_grads, g_recon, _ = pullback(_cotangent(terms, {"kl": 1.0, "recon": 1.0}))
        if spec.gan:
            g_recon = jax.tree.map(lambda g: spec.gamma * g, g_recon)
        metrics.update(
            kl=terms["kl"],
            recon=terms["recon"],
            vae_loss=terms["kl"] + terms["recon"],
            e_grad_norm=optax.global_norm(e_grads),
            g_recon_grad_norm=optax.global_norm(g_recon),
        )
        e_params, e_opt = _update(spec.e_tx, e_grads, state.e_opt_state, state.e_params)
        new = {
            "e_params": e_params,
            "e_opt_state": e_opt,
            "e_batch_stats": stats["e"],
            "g_batch_stats": stats["g"],
        }
        g_grads = g_recon
        if spec.gan:
            g_gan = pullback(_cotangent(terms, {"g_gan": 1.0}))[1]
            d_grads = pullback(_cotangent(terms, {"d_gan": 1.0}))[2]
            skip_d = skip_g = jnp.zeros((), bool)
            if spec.skip_margin > 0:
                e_real, e_fake = discriminator_errors(*logits)
                skip_d, skip_g = skip_decisions(e_real, e_fake, spec.skip_margin, spec.skip_rule)
            keep_gan = 1.0 - skip_g.astype(jnp.float32)
            g_grads = jax.tree.map(lambda r, g: r + keep_gan * g, g_recon, g_gan)
            d_params, d_opt = _update(spec.d_tx, d_grads, state.d_opt_state, state.d_params)
            new.update(
                d_params=keep_if(skip_d, state.d_params, d_params),
                d_opt_state=keep_if(skip_d, state.d_opt_state, d_opt),
                d_batch_stats=keep_if(skip_d, state.d_batch_stats, stats["d"]),
                d_skips=state.d_skips + skip_d.astype(jnp.int32),
                g_skips=state.g_skips + skip_g.astype(jnp.int32),
            )
            squash = jax.nn.sigmoid if spec.loss.logistic else (lambda v: v)
            metrics.update(
                d_loss=terms["d_gan"],
                g_loss=terms["g_gan"],
                d_real=jnp.mean(squash(logits[0])),
                d_fake=jnp.mean(squash(logits[1])),
                g_gan_grad_norm=optax.global_norm(g_gan),
                d_skipped=skip_d.astype(jnp.float32),
                g_skipped=skip_g.astype(jnp.float32),
            )
        g_params, g_opt = _update(spec.g_tx, g_grads, state.g_opt_state, state.g_params)
        new.update(g_params=g_params, g_opt_state=g_opt, step=state.step + 1)
        return state.replace(**new), metrics

    return step
