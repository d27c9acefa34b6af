"""The encoder's pure train step (DIGITS): E learns z = E(x, y) so that a frozen G(z, y)
reconstructs x (`gan_jax.tasks.encoder` trains it).

loss = mean (G(E(x)) − x)² over pixels, plus w · mean (E(G(z)) − z)² on generated pairs when
`encoder.latent_loss_weight` w > 0. G runs in inference mode and its variables are a constant
input of the step, never differentiated or updated.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from gan_jax.core.sampling import latent_sampler


class EncoderState(struct.PyTreeNode):
    step: jax.Array
    params: Any
    batch_stats: Any
    opt_state: optax.OptState


def make_step(
    encoder: nn.Module,
    generator: nn.Module,
    tx: optax.GradientTransformation,
    latent_dim: int,
    num_classes: int,
    latent_loss_weight: float = 0.0,
):
    """The pure train step `(state, batch, rng, g_variables) -> (state, metrics)`; G's
    variables are a constant input (`Runner(constants=...)`), never differentiated. Generated
    pairs draw z from the generator's latent prior."""
    draw_z = latent_sampler(generator)

    def step(state: EncoderState, batch: dict[str, jax.Array], rng: jax.Array, g_vars: Any):
        key = jax.random.fold_in(rng, state.step)
        z_key, y_key, dropout_key = jax.random.split(key, 3)
        x = batch["x"]
        y = batch.get("y") if num_classes else None
        n = x.shape[0]
        inputs, labels = x, y
        if latent_loss_weight > 0:  # generated pairs (G(z), z) ride along in the same E pass
            z = draw_z(z_key, (n, latent_dim), jnp.float32)  # the generator's prior
            y_fake = jax.random.randint(y_key, (n,), 0, num_classes) if num_classes else None
            inputs = jnp.concatenate([x, generator.apply(g_vars, z, y_fake, train=False)])
            labels = None if y is None else jnp.concatenate([y, y_fake])

        def loss_fn(params):
            z_hat, updates = encoder.apply(
                {"params": params, "batch_stats": state.batch_stats},
                inputs,
                labels,
                train=True,
                mutable=["batch_stats"],
                rngs={"dropout": dropout_key},
            )
            recon = generator.apply(g_vars, z_hat[:n], y, train=False)
            metrics = {"pixel_mse": jnp.mean((recon - x) ** 2)}
            loss = metrics["pixel_mse"]
            if latent_loss_weight > 0:
                metrics["latent_mse"] = jnp.mean((z_hat[n:] - z) ** 2)
                loss = loss + latent_loss_weight * metrics["latent_mse"]
            return loss, (updates.get("batch_stats", {}), {"loss": loss, **metrics})

        grads, (batch_stats, metrics) = jax.grad(loss_fn, has_aux=True)(state.params)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        metrics["grad_norm"] = optax.global_norm(grads)
        new_state = state.replace(
            step=state.step + 1,
            params=optax.apply_updates(state.params, updates),
            batch_stats=batch_stats,
            opt_state=opt_state,
        )
        return new_state, metrics

    return step
