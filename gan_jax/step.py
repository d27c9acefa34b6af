"""The train step: one pure function `(state, batch, rng) -> (state, metrics)`.

It does `n_critic` discriminator updates, then one generator update (the order the seeds use,
and Haiku's GAN example). `rng` is the run's base key: the step folds in `state.step`, so calling
it with the same key every step gives fresh, reproducible noise.

The same function runs on one device, under `jax.jit` over a sharded batch, and inside
`jax.pmap` (pass `axis_name`). Under pmap it is written so that the result does not depend on
the device count: latent noise is drawn for the global batch and each device takes its slice,
D's outputs are all-gathered before the loss (relativistic losses use batch means), and gradients
are averaged with `lax.pmean`. BatchNorm is the exception: under pmap each device normalizes its
own shard (per-GPU BN), while the sharded jit path normalizes over the global batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from gan_jax.losses import GANLoss
from gan_jax.state import DISCRIMINATOR, GENERATOR, GANState

Batch = dict[str, jax.Array]
Metrics = dict[str, jax.Array]
StepFn = Callable[[GANState, Batch, jax.Array], tuple[GANState, Metrics]]


@dataclasses.dataclass(frozen=True)
class GANSpec:
    """The static parts of a GAN: networks, loss, optimizers and shapes."""

    generator: nn.Module
    discriminator: nn.Module
    loss: GANLoss
    g_tx: optax.GradientTransformation
    d_tx: optax.GradientTransformation
    latent_dim: int
    num_classes: int = 0
    n_critic: int = 1


def _mean_output(logits: jax.Array, logistic: bool) -> jax.Array:
    """Mean D output, as a probability when D's output is a logit."""
    return jnp.mean(jax.nn.sigmoid(logits) if logistic else logits)


def make_train_step(
    spec: GANSpec,
    axis_name: str | None = None,
    num_devices: int = 1,
    latent_sharding: jax.sharding.Sharding | None = None,
) -> StepFn:
    """Build the pure train step for `spec`.

    Args:
      spec: networks, loss and optimizers.
      axis_name: the pmap axis name when the step runs inside `jax.pmap`, else None.
      num_devices: the pmap axis size (only used with `axis_name`).
      latent_sharding: for the jit path, the sharding to place latent noise with (the batch's
        sharding), so G's forward pass is data-parallel like D's.
    """
    G, D, loss = spec.generator, spec.discriminator, spec.loss

    def gather(logits: jax.Array) -> jax.Array:
        return logits if axis_name is None else lax.all_gather(logits, axis_name, tiled=True)

    def pmean(tree: Any) -> Any:
        return tree if axis_name is None else lax.pmean(tree, axis_name)

    def latents(key: jax.Array, local_batch: int) -> jax.Array:
        if axis_name is None:
            z = jax.random.normal(key, (local_batch, spec.latent_dim), jnp.float32)
            if latent_sharding is not None:
                z = lax.with_sharding_constraint(z, latent_sharding)
            return z
        z = jax.random.normal(key, (local_batch * num_devices, spec.latent_dim), jnp.float32)
        start = lax.axis_index(axis_name) * local_batch
        return lax.dynamic_slice_in_dim(z, start, local_batch)

    def generate(g_params, g_stats, z, labels):
        out, new = G.apply(
            {"params": g_params, "batch_stats": g_stats},
            z,
            labels,
            train=True,
            mutable=["batch_stats"],
        )
        return out, new.get("batch_stats", g_stats)

    def discriminate(d_params, d_stats, x, labels):
        out, new = D.apply(
            {"params": d_params, "batch_stats": d_stats},
            x,
            labels,
            train=True,
            mutable=["batch_stats"],
        )
        return out, new.get("batch_stats", d_stats)

    def d_update(state: GANState, g_stats, x, labels, key):
        fake, g_stats = generate(state.g_params, g_stats, latents(key, x.shape[0]), labels)
        fake = lax.stop_gradient(fake)

        def loss_fn(d_params):
            real_logits, stats = discriminate(d_params, state.d_batch_stats, x, labels)
            fake_logits, stats = discriminate(d_params, stats, fake, labels)
            value = loss.discriminator_loss(gather(real_logits), gather(fake_logits))
            return value, (stats, real_logits, fake_logits)

        (value, (d_stats, real_logits, fake_logits)), grads = jax.value_and_grad(
            loss_fn, has_aux=True
        )(state.d_params)
        grads = pmean(grads)
        updates, d_opt_state = spec.d_tx.update(grads, state.d_opt_state, state.d_params)
        state = state.replace(
            d_params=optax.apply_updates(state.d_params, updates),
            d_opt_state=d_opt_state,
            d_batch_stats=pmean(d_stats),
        )
        metrics = {
            "d_loss": value,
            "d_real": _mean_output(real_logits, loss.logistic),
            "d_fake": _mean_output(fake_logits, loss.logistic),
            "d_grad_norm": optax.global_norm(grads),
        }
        return state, g_stats, metrics

    def g_update(state: GANState, g_stats, x, labels, key):
        z = latents(key, x.shape[0])

        def loss_fn(g_params):
            fake, stats = generate(g_params, g_stats, z, labels)
            fake_logits, _ = discriminate(state.d_params, state.d_batch_stats, fake, labels)
            real_logits = None
            if loss.needs_real_for_generator:
                real_logits, _ = discriminate(state.d_params, state.d_batch_stats, x, labels)
                real_logits = gather(real_logits)
            return loss.generator_loss(real_logits, gather(fake_logits)), stats

        (value, g_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
        grads = pmean(grads)
        updates, g_opt_state = spec.g_tx.update(grads, state.g_opt_state, state.g_params)
        state = state.replace(
            g_params=optax.apply_updates(state.g_params, updates),
            g_opt_state=g_opt_state,
            g_batch_stats=pmean(g_stats),
        )
        return state, {"g_loss": value, "g_grad_norm": optax.global_norm(grads)}

    def train_step(state: GANState, batch: Batch, rng: jax.Array) -> tuple[GANState, Metrics]:
        x = batch["x"]
        labels = batch.get("y") if spec.num_classes else None
        key = jax.random.fold_in(rng, state.step)
        d_keys = jax.random.split(jax.random.fold_in(key, 0), spec.n_critic)
        g_key = jax.random.fold_in(key, 1)
        step = state.step

        def critic(carry, d_key):
            st, g_stats = carry
            st, g_stats, m = d_update(st, g_stats, x, labels, d_key)
            return (st, g_stats), m

        if spec.n_critic == 1:
            (state, g_stats), d_metrics = critic((state, state.g_batch_stats), d_keys[0])
            d_bad = ~jnp.isfinite(d_metrics["d_loss"])
        else:
            (state, g_stats), d_all = lax.scan(critic, (state, state.g_batch_stats), d_keys)
            d_bad = ~jnp.all(jnp.isfinite(d_all["d_loss"]))
            d_metrics = jax.tree.map(lambda m: m[-1], d_all)
        state, g_metrics = g_update(state, g_stats, x, labels, g_key)

        g_bad = ~jnp.isfinite(g_metrics["g_loss"])
        first = (state.diverged_step < 0) & (d_bad | g_bad)
        state = state.replace(
            step=step + 1,
            diverged_step=jnp.where(first, step, state.diverged_step),
            diverged_net=jnp.where(
                first, jnp.where(d_bad, DISCRIMINATOR, GENERATOR), state.diverged_net
            ),
        )
        return state, pmean({**d_metrics, **g_metrics})

    return train_step


def make_multi_step(train_step: StepFn) -> StepFn:
    """Run `k` train steps in one dispatch with `lax.scan` over batches stacked on axis 0.

    Small models are dispatch-bound on CPU; scanning amortises the Python/dispatch cost. The
    returned metrics are averaged over the k steps.
    """

    def multi_step(state: GANState, batches: Batch, rng: jax.Array):
        def body(st, batch):
            return train_step(st, batch, rng)

        state, metrics = lax.scan(body, state, batches)
        return state, jax.tree.map(lambda m: jnp.mean(m, axis=0), metrics)

    return multi_step
