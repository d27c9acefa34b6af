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
import ml_collections
import optax
from jax import lax

from gan_jax.core.regularizers import gradient_penalty, r1_penalty
from gan_jax.core.stabilizers import (
    adapt_l2_weight,
    discriminator_errors,
    ema_update,
    keep_if,
    l2_of_weights,
    skip_decisions,
)
from gan_jax.core.state import DISCRIMINATOR, GENERATOR, GANState
from gan_jax.losses import GANLoss

Batch = dict[str, jax.Array]
Metrics = dict[str, jax.Array]
StepFn = Callable[[GANState, Batch, jax.Array], tuple[GANState, Metrics]]


@dataclasses.dataclass(frozen=True)
class GANSpec:
    """The static parts of a GAN: networks, loss, optimizers, shapes and stabilizers.

    Stabilizers (see `core.stabilizers` and `core.regularizers`): `ema_decay` > 0 keeps an
    EMA of G's weights; `skip_margin` > 0 enables margin-based update skipping; `adaptive_l2`
    (the config's `stabilizers` block, or None) enables the adaptive L2 penalty on D; `regularizer`
    ('none' | 'r1' | 'gp') with `reg_scale` (the weight, already multiplied by the interval) and
    `reg_interval` adds a gradient penalty to D's loss.
    """

    generator: nn.Module
    discriminator: nn.Module
    loss: GANLoss
    g_tx: optax.GradientTransformation
    d_tx: optax.GradientTransformation
    latent_dim: int
    num_classes: int = 0
    n_critic: int = 1
    ema_decay: float = 0.0
    skip_margin: float = 0.0
    adaptive_l2: ml_collections.ConfigDict | None = None
    regularizer: str = "none"
    reg_scale: float = 0.0
    reg_interval: int = 1


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
      spec: networks, loss, optimizers and stabilizers.
      axis_name: the pmap axis name when the step runs inside `jax.pmap`, else None.
      num_devices: the pmap axis size (only used with `axis_name`).
      latent_sharding: for the jit path, the sharding to place per-example noise with (the
        batch's sharding), so G's forward pass is data-parallel like D's.
    """
    G, D, loss = spec.generator, spec.discriminator, spec.loss

    def gather(logits: jax.Array) -> jax.Array:
        return logits if axis_name is None else lax.all_gather(logits, axis_name, tiled=True)

    def pmean(tree: Any) -> Any:
        return tree if axis_name is None else lax.pmean(tree, axis_name)

    def per_example(sample: Callable, key: jax.Array, local_batch: int, *shape: int) -> jax.Array:
        """Noise for this device's examples, drawn for the global batch so that the values do
        not depend on the number of devices."""
        if axis_name is None:
            out = sample(key, (local_batch, *shape), jnp.float32)
            if latent_sharding is not None:
                out = lax.with_sharding_constraint(out, latent_sharding)
            return out
        out = sample(key, (local_batch * num_devices, *shape), jnp.float32)
        return lax.dynamic_slice_in_dim(out, lax.axis_index(axis_name) * local_batch, local_batch)

    def device_key(key: jax.Array) -> jax.Array:
        """Dropout masks differ per device under pmap (and so differ from 1 device)."""
        return key if axis_name is None else jax.random.fold_in(key, lax.axis_index(axis_name))

    def generate(g_params, g_stats, z, labels):
        out, new = G.apply(
            {"params": g_params, "batch_stats": g_stats},
            z,
            labels,
            train=True,
            mutable=["batch_stats"],
        )
        return out, new.get("batch_stats", g_stats)

    def discriminate(d_params, d_stats, x, labels, key):
        out, new = D.apply(
            {"params": d_params, "batch_stats": d_stats},
            x,
            labels,
            train=True,
            mutable=["batch_stats"],
            rngs={"dropout": key},
        )
        return out, new.get("batch_stats", d_stats)

    def penalty(d_params, d_stats, x, fake, labels, key, step):
        """The configured gradient penalty, computed every `reg_interval` steps (else 0)."""
        eps_key, drop_key = jax.random.split(key)

        def d_fn(inputs):
            return discriminate(d_params, d_stats, inputs, labels, drop_key)[0]

        if spec.regularizer == "r1":
            compute = lambda: r1_penalty(d_fn, x)  # noqa: E731
        else:
            eps = per_example(jax.random.uniform, eps_key, x.shape[0])
            compute = lambda: gradient_penalty(d_fn, x, fake, eps)  # noqa: E731
        if spec.reg_interval == 1:
            return compute()
        on = step % spec.reg_interval == 0
        return lax.cond(on, compute, lambda: jnp.zeros((), jnp.float32))

    def d_update(state: GANState, g_stats, x, labels, key):
        z_key, drop_key, reg_key = jax.random.split(key, 3)
        drop_key = device_key(drop_key)
        fake, g_stats = generate(
            state.g_params,
            g_stats,
            per_example(jax.random.normal, z_key, x.shape[0], spec.latent_dim),
            labels,
        )
        fake = lax.stop_gradient(fake)

        def loss_fn(d_params):
            real_logits, stats = discriminate(d_params, state.d_batch_stats, x, labels, drop_key)
            fake_logits, stats = discriminate(
                d_params, stats, fake, labels, jax.random.fold_in(drop_key, 1)
            )
            real_all, fake_all = gather(real_logits), gather(fake_logits)
            value = loss.discriminator_loss(real_all, fake_all)
            total, reg = value, jnp.zeros((), jnp.float32)
            if spec.adaptive_l2 is not None:
                total = total + state.d_l2_weight * l2_of_weights(d_params)
            if spec.regularizer != "none":
                reg = penalty(d_params, stats, x, fake, labels, reg_key, state.step)
                total = total + spec.reg_scale * reg
            return total, (stats, real_all, fake_all, value, reg)

        (_, (d_stats, real_all, fake_all, value, reg)), grads = jax.value_and_grad(
            loss_fn, has_aux=True
        )(state.d_params)
        grads = pmean(grads)
        updates, d_opt_state = spec.d_tx.update(grads, state.d_opt_state, state.d_params)
        new = (optax.apply_updates(state.d_params, updates), d_opt_state, pmean(d_stats))
        skip_d = skip_g = jnp.zeros((), bool)
        if spec.skip_margin > 0:
            skip_d, skip_g = skip_decisions(
                *discriminator_errors(real_all, fake_all), spec.skip_margin
            )
            new = keep_if(skip_d, (state.d_params, state.d_opt_state, state.d_batch_stats), new)
        state = state.replace(
            d_params=new[0],
            d_opt_state=new[1],
            d_batch_stats=new[2],
            d_skips=state.d_skips + skip_d.astype(jnp.int32),
        )
        metrics = {
            "d_loss": value,
            "d_real": _mean_output(real_all, loss.logistic),
            "d_fake": _mean_output(fake_all, loss.logistic),
            "d_grad_norm": optax.global_norm(grads),
        }
        if spec.regularizer != "none":
            metrics["d_penalty"] = pmean(reg)
        return state, g_stats, metrics, skip_g

    def g_update(state: GANState, g_stats, x, labels, key, skip_g):
        z_key, drop_key = jax.random.split(key)
        drop_key = device_key(drop_key)
        z = per_example(jax.random.normal, z_key, x.shape[0], spec.latent_dim)

        def loss_fn(g_params):
            fake, stats = generate(g_params, g_stats, z, labels)
            fake_logits, _ = discriminate(
                state.d_params, state.d_batch_stats, fake, labels, drop_key
            )
            real_logits = None
            if loss.needs_real_for_generator:
                real_logits, _ = discriminate(
                    state.d_params, state.d_batch_stats, x, labels, jax.random.fold_in(drop_key, 1)
                )
                real_logits = gather(real_logits)
            return loss.generator_loss(real_logits, gather(fake_logits)), stats

        (value, g_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
        grads = pmean(grads)
        updates, g_opt_state = spec.g_tx.update(grads, state.g_opt_state, state.g_params)
        g_params = optax.apply_updates(state.g_params, updates)
        if spec.skip_margin > 0:
            g_params, g_opt_state = keep_if(
                skip_g, (state.g_params, state.g_opt_state), (g_params, g_opt_state)
            )
        state = state.replace(
            g_params=g_params,
            g_opt_state=g_opt_state,
            g_batch_stats=pmean(g_stats),
            g_skips=state.g_skips + skip_g.astype(jnp.int32),
        )
        if spec.ema_decay > 0:
            state = state.replace(
                g_ema_params=ema_update(state.g_ema_params, g_params, spec.ema_decay)
            )
        if spec.adaptive_l2 is not None:
            state = state.replace(
                d_l2_weight=adapt_l2_weight(state.d_l2_weight, value, spec.adaptive_l2)
            )
        return state, {"g_loss": value, "g_grad_norm": optax.global_norm(grads)}

    def train_step(state: GANState, batch: Batch, rng: jax.Array) -> tuple[GANState, Metrics]:
        x = batch["x"]
        labels = batch.get("y") if spec.num_classes else None
        step = state.step
        key = jax.random.fold_in(rng, step)
        d_keys = jax.random.split(jax.random.fold_in(key, 0), spec.n_critic)
        g_key = jax.random.fold_in(key, 1)

        def critic(carry, d_key):
            st, g_stats = carry
            st, g_stats, m, skip_g = d_update(st, g_stats, x, labels, d_key)
            return (st, g_stats), (m, skip_g)

        if spec.n_critic == 1:
            (state, g_stats), (d_metrics, skip_g) = critic((state, state.g_batch_stats), d_keys[0])
            d_bad = ~jnp.isfinite(d_metrics["d_loss"])
        else:
            (state, g_stats), (d_all, skips) = lax.scan(
                critic, (state, state.g_batch_stats), d_keys
            )
            d_bad = ~jnp.all(jnp.isfinite(d_all["d_loss"]))
            d_metrics, skip_g = jax.tree.map(lambda m: m[-1], (d_all, skips))
        state, g_metrics = g_update(state, g_stats, x, labels, g_key, skip_g)

        g_bad = ~jnp.isfinite(g_metrics["g_loss"])
        first = (state.diverged_step < 0) & (d_bad | g_bad)
        state = state.replace(
            step=step + 1,
            diverged_step=jnp.where(first, step, state.diverged_step),
            diverged_net=jnp.where(
                first, jnp.where(d_bad, DISCRIMINATOR, GENERATOR), state.diverged_net
            ),
        )
        metrics = pmean({**d_metrics, **g_metrics})
        if spec.skip_margin > 0:
            metrics["d_skips"] = state.d_skips.astype(jnp.float32)
            metrics["g_skips"] = state.g_skips.astype(jnp.float32)
        if spec.adaptive_l2 is not None:
            metrics["d_l2_weight"] = state.d_l2_weight
        return state, metrics

    return train_step


def make_multi_step(train_step: Callable[..., tuple[Any, Metrics]]) -> Callable[..., Any]:
    """Run `k` train steps in one dispatch with `lax.scan` over batches stacked on axis 0.

    Works for any task's step `(state, batch, rng, *constants)`.

    Small models are dispatch-bound on CPU; scanning amortises the Python/dispatch cost. The
    returned metrics are averaged over the k steps.
    """

    def multi_step(state: Any, batches: Batch, rng: jax.Array, *constants: Any):
        def body(st, batch):
            return train_step(st, batch, rng, *constants)

        state, metrics = lax.scan(body, state, batches)
        return state, jax.tree.map(lambda m: jnp.mean(m, axis=0), metrics)

    return multi_step
