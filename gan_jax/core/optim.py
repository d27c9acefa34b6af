"""Optimizers for G and D, built from their config blocks (`gan_jax.config.optimizer_config`)."""

from __future__ import annotations

import ml_collections
import optax

from gan_jax.config import choice, optimizer_config, positive
from gan_jax.errors import ConfigError

OPTIMIZERS = ("adam", "rmsprop", "sgd")
SCHEDULES = ("constant", "linear", "cosine")


# The fields each optimizer reads beyond lr, weight_decay, the schedule and the clips.
OWN_FIELDS = {
    "adam": ("b1", "b2", "eps"),
    "rmsprop": ("decay", "eps", "momentum"),
    "sgd": ("momentum",),
}


def validate(opt: ml_collections.ConfigDict, field: str) -> None:
    """Check one optimizer block (`g_optimizer`, `d_optimizer`, an encoder's `optimizer`): a
    field the chosen optimizer or schedule does not read must keep its default
    (`gan_jax.config.optimizer_config`)."""
    choice(opt.name, OPTIMIZERS, f"{field}.name")
    choice(opt.schedule, SCHEDULES, f"{field}.schedule")
    positive(opt.lr, f"{field}.lr")
    defaults = optimizer_config()
    unread = {f for fields in OWN_FIELDS.values() for f in fields} - set(OWN_FIELDS[opt.name])
    for name in sorted(unread):
        if name in opt and opt[name] != defaults[name]:
            users = " or ".join(k for k, fields in OWN_FIELDS.items() if name in fields)
            raise ConfigError(
                f"config.{field}.{name}={opt[name]!r} is not read by {opt.name}; set "
                f"--config.{field}.name={users} or remove it"
            )
    if opt.schedule == "constant" and opt.final_lr_fraction != defaults.final_lr_fraction:
        raise ConfigError(
            f"config.{field}.final_lr_fraction={opt.final_lr_fraction} is not read by the "
            f"constant schedule; set --config.{field}.schedule=linear (or cosine) or remove it"
        )


def learning_rate_schedule(opt: ml_collections.ConfigDict, num_updates: int) -> optax.Schedule:
    """Warm-up followed by constant, linear-decay or cosine-decay learning rate."""
    decay_steps = max(num_updates - opt.warmup_steps, 1)
    final = opt.lr * opt.final_lr_fraction
    if opt.schedule == "constant":
        main = optax.constant_schedule(opt.lr)
    elif opt.schedule == "linear":
        main = optax.linear_schedule(opt.lr, final, decay_steps)
    else:
        main = optax.cosine_decay_schedule(opt.lr, decay_steps, alpha=opt.final_lr_fraction)
    if opt.warmup_steps <= 0:
        return main
    warmup = optax.linear_schedule(0.0, opt.lr, opt.warmup_steps)
    return optax.join_schedules([warmup, main], [opt.warmup_steps])


def make_optimizer(
    opt: ml_collections.ConfigDict, num_updates: int
) -> optax.GradientTransformation:
    """One network's optax transformation: optional clipping (value, then global norm), then
    adam/rmsprop/sgd. `weight_decay` is AdamW's decoupled decay for adam, and for sgd/rmsprop
    the classic L2 term wd·params added to the (clipped) gradient, as torch's optimizers do.

    `num_updates` is how many times this optimizer steps in the whole run (D steps `n_critic`
    times per train step), so decaying schedules end exactly at the last update.
    """
    lr = learning_rate_schedule(opt, num_updates)
    if opt.name == "adam":
        if opt.weight_decay:
            tx = optax.adamw(lr, b1=opt.b1, b2=opt.b2, eps=opt.eps, weight_decay=opt.weight_decay)
        else:
            tx = optax.adam(lr, b1=opt.b1, b2=opt.b2, eps=opt.eps)
    else:
        if opt.name == "rmsprop":
            tx = optax.rmsprop(lr, decay=opt.decay, eps=opt.eps, momentum=opt.momentum or None)
        else:
            tx = optax.sgd(lr, momentum=opt.momentum or None)
        if opt.weight_decay:  # L2 decay added to the gradient, as torch's SGD/RMSprop do
            tx = optax.chain(optax.add_decayed_weights(opt.weight_decay), tx)
    if opt.clip_norm > 0:
        tx = optax.chain(optax.clip_by_global_norm(opt.clip_norm), tx)
    if opt.get("clip_value", 0.0) > 0:
        tx = optax.chain(optax.clip(opt.clip_value), tx)
    return tx
