"""The train step: one pure function `(state, batch, rng) -> (state, metrics)`.

It does `n_critic` discriminator updates, then `n_gen` generator updates (the order the seeds
use, and Haiku's GAN example; n_gen > 1 is the Keras intro's "train the generator more often"),
all on the same real batch, each with fresh noise. `rng` is the run's base key: the step folds
in `state.step`, so calling it with the same key every step gives fresh, reproducible noise.

This module holds the composition (`critic_updates`, `make_train_step`, `make_multi_step`) of a
`gan_jax.core.spec.GANSpec`, whose extension points (regularizer terms on either side, the
augmentation hook, EMA) say what a family or stabilizer adds; the pieces it composes, each
testable on its own, are in `gan_jax.core.updates`: `d_update` (with `d_loss`, `d_regularizers`,
`skip_flags`), `g_update` (with `g_loss`), `update_d_l2_weight` and `record_divergence`, and G's
EMA is `gan_jax.core.ema.update_g_ema`.

The same function runs on one device, under `jax.jit` over a sharded batch, and inside
`jax.pmap` (pass `axis_name`); everything that differs between them is in one
`gan_jax.core.device_axis.DeviceAxis`. Under pmap it is written so that the result does not
depend on the device count: latent noise is drawn for the global batch and each device takes its
slice, D's outputs are all-gathered before the loss (relativistic losses use batch means), and
gradients are averaged with `lax.pmean`. BatchNorm is the exception: under pmap each device
normalizes its own shard (per-GPU BN), while the sharded jit path normalizes over the global
batch. Dropout masks also differ: each pmap device draws its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from gan_jax.core.device_axis import DeviceAxis
from gan_jax.core.ema import update_g_ema
from gan_jax.core.spec import GANSpec
from gan_jax.core.state import GANState, Params
from gan_jax.core.updates import (
    Metrics,
    d_update,
    g_update,
    record_divergence,
    update_d_l2_weight,
)

Batch = dict[str, jax.Array]
StepFn = Callable[[GANState, Batch, jax.Array], tuple[GANState, Metrics]]


def critic_updates(
    spec: GANSpec,
    axis: DeviceAxis,
    state: GANState,
    x: jax.Array,
    labels: Any,
    key: jax.Array,
) -> tuple[GANState, Params, Metrics, jax.Array, jax.Array]:
    """`spec.n_critic` D updates on the same real batch, each with its own key (from `key`);
    more than one runs as a `lax.scan`, so the step compiles the update once.

    Returns (state, G's BatchNorm statistics, the last update's metrics, every update's D loss,
    the last update's skip_g).
    """
    d_keys = jax.random.split(key, spec.n_critic)

    def critic(carry: tuple[GANState, Params], d_key: jax.Array):
        st, g_stats = carry
        st, g_stats, m, skip_g = d_update(spec, axis, st, g_stats, x, labels, d_key)
        return (st, g_stats), (m, skip_g)

    if spec.n_critic == 1:
        (state, g_stats), (metrics, skip_g) = critic((state, state.g_batch_stats), d_keys[0])
        return state, g_stats, metrics, metrics["d_loss"], skip_g
    (state, g_stats), (all_metrics, skips) = lax.scan(critic, (state, state.g_batch_stats), d_keys)
    metrics, skip_g = jax.tree.map(lambda m: m[-1], (all_metrics, skips))
    return state, g_stats, metrics, all_metrics["d_loss"], skip_g


def generator_updates(
    spec: GANSpec,
    axis: DeviceAxis,
    state: GANState,
    g_stats: Params,
    x: jax.Array,
    labels: Any,
    key: jax.Array,
    skip_g: jax.Array,
) -> tuple[GANState, Metrics]:
    """`spec.n_gen` G updates on the same real batch (G's BatchNorm statistics carried from one
    to the next); one uses `key` itself, more split it and run as a `lax.scan`. Returns the
    state and the last update's metrics. A margin skip (`skip_g`) skips all of them."""
    if spec.n_gen == 1:
        return g_update(spec, axis, state, g_stats, x, labels, key, skip_g)

    def gen(carry: tuple[GANState, Params], g_key: jax.Array):
        st, stats = carry
        st, m = g_update(spec, axis, st, stats, x, labels, g_key, skip_g)
        return (st, st.g_batch_stats), m

    keys = jax.random.split(key, spec.n_gen)
    (state, _), all_metrics = lax.scan(gen, (state, g_stats), keys)
    return state, jax.tree.map(lambda m: m[-1], all_metrics)


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
    axis = DeviceAxis(axis_name, num_devices, latent_sharding)

    def train_step(state: GANState, batch: Batch, rng: jax.Array) -> tuple[GANState, Metrics]:
        x = batch["x"]
        labels = batch.get("y") if spec.num_classes else None
        key = jax.random.fold_in(rng, state.step)
        d_key, g_key = jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)
        state, g_stats, d_metrics, d_losses, skip_g = critic_updates(
            spec, axis, state, x, labels, d_key
        )
        state, g_metrics = generator_updates(spec, axis, state, g_stats, x, labels, g_key, skip_g)
        state = update_g_ema(state, spec.ema_decay)
        state = update_d_l2_weight(spec, state, g_metrics["g_loss"])
        state = record_divergence(state, d_losses, g_metrics["g_loss"])
        state = state.replace(step=state.step + 1)
        metrics = axis.pmean({**d_metrics, **g_metrics})
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
