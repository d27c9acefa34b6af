"""One level's train step: WGAN-GP with the ε-drift term (Karras et al. 2018, Sec. A.1).

Per step, with α the fade-in weight of the phase (`gan_jax.progan.schedule`):

* real images are average-pooled to the level's resolution and, during a fade-in, blended as
  the networks are: x = lerp(upsample(avgpool(x_r)), x_r, α) (paper, Sec. 3);
* the critic minimises E D(G(z)) − E D(x) + λ·E(‖∇D(x̂)‖₂ − 1)² + ε·E D(x)² (`losses.wgan`
  with `drift`; the penalty is the GAN step's registered `gp` term, `gan_jax.core.terms`, with
  λ = `progan.gp_weight`);
* then G minimises −E D(G(z')) on fresh noise against the updated critic;
* G's weights are averaged by the GAN step's EMA transform (`gan_jax.core.ema`,
  `progan.ema_decay`; the paper's samples use β = 0.999).

The penalty's input gradients are those of Σᵢ D(x̂ᵢ), as in the paper's code; the minibatch-
stddev feature makes D's outputs depend slightly on the other images of the batch.

α is computed inside the step from `state.step` (the level and the fade's first step are
static: one compiled step per phase), so it never lags the schedule.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from gan_jax.core import terms
from gan_jax.core.ema import update_g_ema
from gan_jax.losses.base import GANLoss
from gan_jax.models.progan import downsample, upsample
from gan_jax.progan.schedule import Phase


class ProGANState(struct.PyTreeNode):
    """Every level's weights and both optimizers' states, one shape for the whole run.
    `g_batch_stats` is always empty (no BatchNorm); it is kept for `gan_jax.load`."""

    step: jax.Array
    g_params: Any
    d_params: Any
    g_opt_state: optax.OptState
    d_opt_state: optax.OptState
    g_ema_params: Any
    g_batch_stats: Any


def real_at_level(x: jax.Array, level: int, levels: int, alpha: jax.Array | None) -> jax.Array:
    """Data images (at the last level's size) as the networks see them at `level`."""
    x = x.astype(jnp.float32)
    for _ in range(levels - 1 - level):
        x = downsample(x)
    if alpha is None:
        return x
    low = upsample(downsample(x))
    return low + (x - low) * alpha


def make_step(
    generator: nn.Module,
    discriminator: nn.Module,
    g_tx: optax.GradientTransformation,
    d_tx: optax.GradientTransformation,
    loss: GANLoss,
    latent_dim: int,
    gp_weight: float,
    ema_decay: float,
    phase: Phase,
    phase_steps: int,
):
    """The pure step `(state, batch, rng) -> (state, metrics)` of `phase`."""
    level, levels = phase.level, generator.levels
    gp = terms.make("d", "gp", gp_weight, 1)

    def uniform(key: jax.Array, n: int) -> jax.Array:
        return jax.random.uniform(key, (n,), jnp.float32)

    def step(state: ProGANState, batch: dict[str, jax.Array], rng: jax.Array):
        key = jax.random.fold_in(rng, state.step)
        z_key, z2_key, eps_key = jax.random.split(key, 3)
        alpha = None
        if phase.fade_start is not None:
            alpha = jnp.clip((state.step - phase.fade_start) / phase_steps, 0.0, 1.0)
            alpha = alpha.astype(jnp.float32)
        x = real_at_level(batch["x"], level, levels, alpha)
        n = x.shape[0]

        def g_apply(params, z):
            return generator.apply({"params": params}, z, level=level, alpha=alpha)

        def d_apply(params, images):
            return discriminator.apply({"params": params}, images, level=level, alpha=alpha)

        z = jax.random.normal(z_key, (n, latent_dim), jnp.float32)
        fake = jax.lax.stop_gradient(g_apply(state.g_params, z))

        def d_loss_fn(d_params):
            real_scores, fake_scores = d_apply(d_params, x), d_apply(d_params, fake)
            wgan = loss.discriminator_loss(real_scores, fake_scores)
            inputs = terms.DInputs(lambda im: d_apply(d_params, im), x, fake, eps_key, uniform)
            weighted, penalty, _ = terms.apply_terms(gp, inputs, {}, state.step)
            aux = {"d_real": jnp.mean(real_scores), "d_fake": jnp.mean(fake_scores), "gp": penalty}
            return wgan + weighted, aux

        (d_loss, d_aux), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(state.d_params)
        d_updates, d_opt_state = d_tx.update(d_grads, state.d_opt_state, state.d_params)
        d_params = optax.apply_updates(state.d_params, d_updates)

        z2 = jax.random.normal(z2_key, (n, latent_dim), jnp.float32)

        def g_loss_fn(g_params):
            return loss.generator_loss(None, d_apply(d_params, g_apply(g_params, z2)))

        g_loss, g_grads = jax.value_and_grad(g_loss_fn)(state.g_params)
        g_updates, g_opt_state = g_tx.update(g_grads, state.g_opt_state, state.g_params)
        g_params = optax.apply_updates(state.g_params, g_updates)
        # The frozen equalized-lr constants (p = e) stay exactly as they are (`core.ema`).
        new_state = update_g_ema(
            state.replace(
                step=state.step + 1,
                g_params=g_params,
                d_params=d_params,
                g_opt_state=g_opt_state,
                d_opt_state=d_opt_state,
            ),
            ema_decay,
        )
        metrics = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "alpha": jnp.float32(1.0) if alpha is None else alpha,
            "resolution": jnp.float32(phase.resolution),
            **d_aux,
        }
        return new_state, metrics

    return step
