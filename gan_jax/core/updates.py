"""The pieces of the train step: network passes, D's and G's losses and updates, stabilizers.

`gan_jax.core.step.make_train_step` composes them: `n_critic` calls of `d_update`, then
`g_update`, G's EMA (`gan_jax.core.ema`), `update_d_l2_weight` and `record_divergence`. Each piece
is a pure function of the `GANSpec`, a `DeviceAxis` (identity on one device, collectives under
pmap) and arrays, so it can be jitted and tested on its own. The spec's extension points enter
here: its augmentation hook wherever D sees images (`augmented`), its D terms in `d_loss`
(`d_regularizers`), its G terms in `g_update`; the state they carry is read from and written to
`GANState.extensions`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from gan_jax.core import augment
from gan_jax.core.device_axis import DeviceAxis
from gan_jax.core.sampling import latent_sampler
from gan_jax.core.spec import GANSpec
from gan_jax.core.stabilizers import (
    adapt_l2_weight,
    discriminator_errors,
    keep_if,
    l2_of_weights,
    skip_decisions,
)
from gan_jax.core.state import DISCRIMINATOR, GENERATOR, GANState, Params
from gan_jax.core.terms import DInputs, GInputs, apply_terms
from gan_jax.models.packing import pack_of

Metrics = dict[str, jax.Array]


class DOutputs(NamedTuple):
    """What D's loss computes besides the value it is differentiated for."""

    batch_stats: Params  # D's BatchNorm statistics after its passes on real and fake data
    real_logits: jax.Array  # D's outputs on the global batch (gathered over devices)
    fake_logits: jax.Array
    loss: jax.Array  # the adversarial loss alone, without L2 or penalty
    penalty: jax.Array  # Σ of D's terms, unweighted (0 when none, or between lazy steps)
    term_states: dict[str, Any]  # the D terms' states after this pass


def generate(
    generator: nn.Module, params: Params, batch_stats: Params, z: jax.Array, labels: Any
) -> tuple[jax.Array, Params]:
    """G's training-mode forward pass: (samples, updated BatchNorm statistics)."""
    return _train_apply(generator, params, batch_stats, z, labels, {})


def discriminate(
    discriminator: nn.Module,
    params: Params,
    batch_stats: Params,
    x: jax.Array,
    labels: Any,
    dropout_key: jax.Array,
) -> tuple[jax.Array, Params]:
    """D's training-mode forward pass (dropout on, statistics updated): (outputs, statistics)."""
    return _train_apply(discriminator, params, batch_stats, x, labels, {"dropout": dropout_key})


def _uniform(axis: DeviceAxis):
    """`(key, n) -> (local n,)` uniforms drawn for the global batch, this device's slice."""
    return lambda k, n: axis.per_example(jax.random.uniform, k, n)


def augmented(
    spec: GANSpec, axis: DeviceAxis, x: jax.Array, key: jax.Array, stream: int, aug_state: Any
) -> jax.Array:
    """What D sees of `x`: the spec's augmentation hook applied with the key of `stream`
    (`augment.REAL` or `augment.FAKE`) and the hook's state, or `x` itself when there is no
    hook. The per-image draws are made for the global batch and sliced per device."""
    if spec.augment is None:
        return x
    return spec.augment.apply(x, key, stream, _uniform(axis), aug_state)


def _terms_state(state: GANState) -> dict[str, Any]:
    return state.extensions.get("terms", {})


def _with_terms(state: GANState, term_states: dict[str, Any]) -> GANState:
    """`state` with the stateful terms' new states (stateless terms keep none)."""
    kept = {k: v for k, v in term_states.items() if jax.tree.leaves(v)}
    if not kept:
        return state
    return state.replace(extensions={**state.extensions, "terms": {**_terms_state(state), **kept}})


def _train_apply(
    module: nn.Module,
    params: Params,
    batch_stats: Params,
    inputs: jax.Array,
    labels: Any,
    rngs: dict[str, jax.Array],
) -> tuple[jax.Array, Params]:
    """`module` in training mode: (outputs, its BatchNorm statistics after this pass)."""
    out, new = module.apply(
        {"params": params, "batch_stats": batch_stats},
        inputs,
        labels,
        train=True,
        mutable=["batch_stats"],
        rngs=rngs,
    )
    return out, new.get("batch_stats", batch_stats)


def d_regularizers(
    spec: GANSpec,
    axis: DeviceAxis,
    d_params: Params,
    d_stats: Params,
    x: jax.Array,
    fake: jax.Array,
    labels: Any,
    key: jax.Array,
    step: jax.Array,
    term_states: dict[str, Any],
    augment_key: jax.Array | None = None,
    aug_state: Any = None,
) -> tuple[jax.Array, jax.Array, dict[str, Any]]:
    """D's terms (`spec.d_terms`, e.g. R1 or GP): (Σ weight·value, Σ value, their states).

    Each term is computed on its own lazy schedule (`gan_jax.core.terms`); its per-example
    draws (GP's mixing weights) are made for the global batch, like the latent noise. D's inputs
    go through the same augmentation as the real pass of `d_loss` (key `augment_key`), and
    gradients are taken with respect to the raw inputs. With a packed D (`model.pack` = m) the
    terms see D's packed inputs: gradient norms are taken over each pack of m samples and GP
    mixes each pack with one weight.
    """
    eps_key, drop_key = jax.random.split(key)
    pack = pack_of(spec.discriminator)
    sample_shape = x.shape[1:]

    def d_fn(packs: jax.Array) -> jax.Array:
        inputs = packs.reshape((-1, *sample_shape))
        if augment_key is not None:
            inputs = augmented(spec, axis, inputs, augment_key, augment.REAL, aug_state)
        return discriminate(spec.discriminator, d_params, d_stats, inputs, labels, drop_key)[0]

    # (B, *S) -> (B/m, m, *S): one row per pack, so the penalty's per-row norms are per pack.
    x_packs = x.reshape((x.shape[0] // pack, pack, *sample_shape)) if pack > 1 else x
    inputs = DInputs(d_fn, x_packs, fake.reshape(x_packs.shape), eps_key, _uniform(axis))
    return apply_terms(spec.d_terms, inputs, term_states, step)


def d_loss(
    spec: GANSpec,
    axis: DeviceAxis,
    d_params: Params,
    state: GANState,
    x: jax.Array,
    fake: jax.Array,
    labels: Any,
    dropout_key: jax.Array,
    penalty_key: jax.Array,
) -> tuple[jax.Array, DOutputs]:
    """D's objective at `d_params`: the loss on real `x` and generated `fake`, plus the adaptive
    L2 term (weight `state.d_l2_weight`) and D's weighted terms (`d_regularizers`).

    Returns (total, DOutputs); `d_update` differentiates the total. D's outputs are gathered
    over devices before the loss so that batch-mean losses see the global batch. With an
    augmentation hook, D sees T(x) and T(fake) drawn from `penalty_key`'s REAL / FAKE streams;
    with packing, one output per pack.
    """
    D = spec.discriminator
    aug_state = state.extensions.get("augment")
    seen_x = augmented(spec, axis, x, penalty_key, augment.REAL, aug_state)
    seen_fake = augmented(spec, axis, fake, penalty_key, augment.FAKE, aug_state)
    real_logits, stats = discriminate(D, d_params, state.d_batch_stats, seen_x, labels, dropout_key)
    fake_logits, stats = discriminate(
        D, d_params, stats, seen_fake, labels, jax.random.fold_in(dropout_key, 1)
    )
    real_all, fake_all = axis.gather(real_logits), axis.gather(fake_logits)
    value = spec.loss.discriminator_loss(real_all, fake_all)
    total, reg, term_states = value, jnp.zeros((), jnp.float32), _terms_state(state)
    if spec.adaptive_l2 is not None:
        total = total + state.d_l2_weight * l2_of_weights(d_params)
    if spec.d_terms:
        aug_key = penalty_key if spec.augment is not None else None
        weighted, reg, term_states = d_regularizers(
            spec,
            axis,
            d_params,
            stats,
            x,
            fake,
            labels,
            penalty_key,
            state.step,
            term_states,
            aug_key,
            aug_state,
        )
        total = total + weighted
    return total, DOutputs(stats, real_all, fake_all, value, reg, term_states)


def skip_flags(
    spec: GANSpec, real_logits: jax.Array, fake_logits: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """(skip_d, skip_g): margin-based update skipping from D's outputs on the global batch
    (`gan_jax.core.stabilizers`); both False when `spec.skip_margin` is 0."""
    if spec.skip_margin <= 0:
        off = jnp.zeros((), bool)
        return off, off
    errors = discriminator_errors(real_logits, fake_logits)
    return skip_decisions(*errors, spec.skip_margin, spec.skip_rule)


def _mean_output(logits: jax.Array, logistic: bool) -> jax.Array:
    """Mean D output, as a probability when D's output is a logit."""
    return jnp.mean(jax.nn.sigmoid(logits) if logistic else logits)


def d_accuracy(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """D's accuracy as a real/fake classifier (the Keras intro's `acc`): the fraction of real
    samples with logit > 0 and generated ones with logit < 0, over both halves of the batch."""
    hits = jnp.sum(real_logits > 0) + jnp.sum(fake_logits < 0)
    return hits / (real_logits.size + fake_logits.size)


def d_update(
    spec: GANSpec,
    axis: DeviceAxis,
    state: GANState,
    g_stats: Params,
    x: jax.Array,
    labels: Any,
    key: jax.Array,
) -> tuple[GANState, Params, Metrics, jax.Array]:
    """One discriminator update on real batch `x` against fresh samples of the current G.

    G runs in training mode to make the samples, so its BatchNorm statistics move: they are
    threaded through as `g_stats` (returned updated) rather than written to the state, which
    `g_update` does once per step. D's gradients are averaged over devices before `spec.d_tx`.
    When D is too good (see `skip_flags`) its parameters, optimizer state and statistics stay
    bit-identical and `d_skips` counts the skip. The augmentation hook's state then moves by
    D's outputs on the real batch (`Augmentation.update`), and stateful D terms keep theirs.

    Returns (state, g_stats, metrics, skip_g); `skip_g` says whether G's next update is skipped.
    """
    z_key, drop_key, reg_key = jax.random.split(key, 3)
    drop_key = axis.device_key(drop_key)
    z = axis.per_example(latent_sampler(spec.generator), z_key, x.shape[0], spec.latent_dim)
    fake, g_stats = generate(spec.generator, state.g_params, g_stats, z, labels)
    fake = lax.stop_gradient(fake)

    def loss_fn(d_params: Params) -> tuple[jax.Array, DOutputs]:
        return d_loss(spec, axis, d_params, state, x, fake, labels, drop_key, reg_key)

    (_, out), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.d_params)
    grads = axis.pmean(grads)
    updates, d_opt_state = spec.d_tx.update(grads, state.d_opt_state, state.d_params)
    new = (optax.apply_updates(state.d_params, updates), d_opt_state, axis.pmean(out.batch_stats))
    skip_d, skip_g = skip_flags(spec, out.real_logits, out.fake_logits)
    if spec.skip_margin > 0:
        new = keep_if(skip_d, (state.d_params, state.d_opt_state, state.d_batch_stats), new)
    state = state.replace(
        d_params=new[0],
        d_opt_state=new[1],
        d_batch_stats=new[2],
        d_skips=state.d_skips + skip_d.astype(jnp.int32),
    )
    state = _with_terms(state, out.term_states)
    if "augment" in state.extensions:
        moved = spec.augment.update(state.extensions["augment"], out.real_logits, state.step)
        state = state.replace(extensions={**state.extensions, "augment": moved})
    metrics = {
        "d_loss": out.loss,
        "d_real": _mean_output(out.real_logits, spec.loss.logistic),
        "d_fake": _mean_output(out.fake_logits, spec.loss.logistic),
        "d_grad_norm": optax.global_norm(grads),
    }
    if spec.loss.logistic:
        metrics["d_accuracy"] = d_accuracy(out.real_logits, out.fake_logits)
    if spec.d_terms:
        metrics["d_penalty"] = axis.pmean(out.penalty)
    if spec.augment is not None:
        metrics.update(spec.augment.metrics(state.extensions.get("augment")))
    return state, g_stats, metrics, skip_g


def g_loss(
    spec: GANSpec,
    axis: DeviceAxis,
    g_params: Params,
    state: GANState,
    g_stats: Params,
    z: jax.Array,
    x: jax.Array,
    labels: Any,
    dropout_key: jax.Array,
    augment_key: jax.Array | None = None,
) -> tuple[jax.Array, Params]:
    """G's objective at `g_params` against the current D: (loss, G's updated statistics).

    D runs in training mode (dropout on) but its statistics updates are dropped: only G learns
    here. Real data goes through D only for losses that need it (relativistic ones). With an
    augmentation hook, D sees T(fake) and T(x) drawn from `augment_key`'s FAKE / REAL streams,
    and G's gradient flows through T.
    """
    D = spec.discriminator
    aug_state = state.extensions.get("augment")
    fake, stats = generate(spec.generator, g_params, g_stats, z, labels)
    if augment_key is not None:
        fake = augmented(spec, axis, fake, augment_key, augment.FAKE, aug_state)
    fake_logits, _ = discriminate(D, state.d_params, state.d_batch_stats, fake, labels, dropout_key)
    real_logits = None
    if spec.loss.needs_real_for_generator:
        seen_x = (
            x
            if augment_key is None
            else augmented(spec, axis, x, augment_key, augment.REAL, aug_state)
        )
        real_logits, _ = discriminate(
            D,
            state.d_params,
            state.d_batch_stats,
            seen_x,
            labels,
            jax.random.fold_in(dropout_key, 1),
        )
        real_logits = axis.gather(real_logits)
    return spec.loss.generator_loss(real_logits, axis.gather(fake_logits)), stats


def g_update(
    spec: GANSpec,
    axis: DeviceAxis,
    state: GANState,
    g_stats: Params,
    x: jax.Array,
    labels: Any,
    key: jax.Array,
    skip_g: jax.Array,
) -> tuple[GANState, Metrics]:
    """One generator update through the current D; D's parameters are not touched.

    G's gradients are averaged over devices before `spec.g_tx`. When `skip_g` (D too bad, see
    `skip_flags`) G's parameters and optimizer state stay bit-identical and `g_skips` counts the
    skip; G's BatchNorm statistics (`g_stats` from the D updates, moved once more here) are
    stored either way. G's terms (`spec.g_terms`) are added to its loss on their schedules;
    `g_loss` in the metrics stays the adversarial loss alone.
    """
    z_key, drop_key = jax.random.split(key)
    drop_key = axis.device_key(drop_key)
    z = axis.per_example(latent_sampler(spec.generator), z_key, x.shape[0], spec.latent_dim)

    aug_key = key if spec.augment is not None else None
    term_states = _terms_state(state)

    def loss_fn(g_params: Params):
        value, stats = g_loss(spec, axis, g_params, state, g_stats, z, x, labels, drop_key, aug_key)
        if not spec.g_terms:
            return value, (stats, value, None, term_states)

        def g_fn(params: Params, latents: jax.Array) -> jax.Array:
            return generate(spec.generator, params, g_stats, latents, labels)[0]

        inputs = GInputs(g_params, g_fn, z, jax.random.fold_in(key, 2))
        weighted, penalty, states = apply_terms(spec.g_terms, inputs, term_states, state.step)
        return value + weighted, (stats, value, penalty, states)

    (_, (g_stats, value, penalty, term_states)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state.g_params
    )
    grads = axis.pmean(grads)
    updates, g_opt_state = spec.g_tx.update(grads, state.g_opt_state, state.g_params)
    g_params = optax.apply_updates(state.g_params, updates)
    if spec.skip_margin > 0:
        g_params, g_opt_state = keep_if(
            skip_g, (state.g_params, state.g_opt_state), (g_params, g_opt_state)
        )
    state = state.replace(
        g_params=g_params,
        g_opt_state=g_opt_state,
        g_batch_stats=axis.pmean(g_stats),
        g_skips=state.g_skips + skip_g.astype(jnp.int32),
    )
    metrics = {"g_loss": value, "g_grad_norm": optax.global_norm(grads)}
    if spec.g_terms:
        metrics["g_penalty"] = axis.pmean(penalty)
    return _with_terms(state, term_states), metrics


def update_d_l2_weight(spec: GANSpec, state: GANState, g_loss_value: jax.Array) -> GANState:
    """Move D's adaptive L2 weight by one step of the band rule on G's loss (a no-op when
    `spec.adaptive_l2` is None): D gets more weight decay while it is winning."""
    if spec.adaptive_l2 is None:
        return state
    return state.replace(
        d_l2_weight=adapt_l2_weight(state.d_l2_weight, g_loss_value, spec.adaptive_l2)
    )


def record_divergence(state: GANState, d_losses: jax.Array, g_loss_value: jax.Array) -> GANState:
    """Record the first step whose loss was not finite, and which network's.

    `d_losses` holds this step's D losses (one per critic update). Only the first bad step is
    kept: the host reads `diverged_step` when it logs, so the hot loop never syncs to check.
    """
    d_bad = ~jnp.all(jnp.isfinite(d_losses))
    g_bad = ~jnp.isfinite(g_loss_value)
    first = (state.diverged_step < 0) & (d_bad | g_bad)
    return state.replace(
        diverged_step=jnp.where(first, state.step, state.diverged_step),
        diverged_net=jnp.where(
            first, jnp.where(d_bad, DISCRIMINATOR, GENERATOR), state.diverged_net
        ),
    )
