"""The ProGAN config schema (`config.task = 'progan'`): `base_config()` plus a `progan` block.

Paper defaults (Karras et al. 2018, Sec. A.1): Adam(lr 0.001, β1 = 0, β2 = 0.99, ε = 1e-8) for
both networks, WGAN-GP with λ = 10 and ε-drift 0.001, one critic step per G step, G's EMA with
β = 0.999, 600k images per fade-in and per stable phase, 512-d z, fmap_base 8192 and at most
512 channels. `experiments/configs/progan_*.py` start from `progan_config(image_size)`.

The fields of `base_config()` a ProGAN run does not read (`NOT_READ`: the GAN stabilizers and
augmentation, extra G/D updates, the other placement, periodic evaluations) are removed, so the
config is the schema (`gan_jax.tasks.reads`); the `progan` block has its own EMA and penalty.
"""

from __future__ import annotations

import ml_collections

from gan_jax.config import PROGAN_TASK, base_config, drop, optimizer_config, register_unread
from gan_jax.progan.schedule import Schedule

TASK = PROGAN_TASK  # config.task of progressive-growing configs

_ONE_UPDATE = "a ProGAN step is one D and one G update"
NOT_READ = {
    "stabilizers": "the GAN stabilizers; its gradient penalty is --config.progan.gp_weight",
    "stabilizers.ema_decay": "G's weight average is --config.progan.ema_decay",
    "augment": "ProGAN trains without augmentation",
    "train.n_critic": _ONE_UPDATE,
    "train.n_gen": _ONE_UPDATE,
    "train.steps_per_dispatch": "ProGAN dispatches one step at a time",
    "parallel": "ProGAN runs in 'sharded' placement (jit + sharding)",
    "evals.every": "ProGAN runs are scored after training: python -m experiments.evaluate",
    "evals.best_metric": "it needs periodic evaluations, which ProGAN runs do not have",
}


register_unread(TASK, lambda config: NOT_READ)


def progan_config(image_size: int, phase_images: int = 600_000) -> ml_collections.ConfigDict:
    """The paper's ProGAN at `image_size` pixels, without the fields it does not read."""
    c = drop(base_config(), NOT_READ)
    c.task = TASK
    c.model.name = "progan"
    c.model.latent_dim = 512
    c.model.g_width = 512  # fmap_max of G: channels at level l are min(fmap_base / 2^(l+1), this)
    c.model.d_width = 512
    c.model.fmap_base = 8192
    c.loss = "wgan"
    c.loss_options.drift = 0.001
    c.g_optimizer = optimizer_config(lr=1e-3, b1=0.0, b2=0.99)
    c.d_optimizer = optimizer_config(lr=1e-3, b1=0.0, b2=0.99)
    c.data.image_size = image_size
    c.data.channels = 3
    c.data.batch_size = 16
    c.progan = ml_collections.ConfigDict(
        {
            "phase_images": phase_images,  # images per fade-in and per stable phase
            "gp_weight": 10.0,  # λ of the gradient penalty
            "ema_decay": 0.999,  # G's weight average, used for samples
            "final_phases": 1,  # phases at the last level after its fade-in
        }
    )
    # 0 = derived from the schedule when the run starts (`resolve_schedule`).
    c.train.num_steps = 0
    c.train.sample_every = 0
    c.train.checkpoint_every = 0
    c.train.log_every = 100
    c.train.num_samples = 36
    return c


def resolve_schedule(c: ml_collections.ConfigDict, levels: int) -> Schedule:
    """The run's schedule; fills the fields left 0: `train.num_steps` (fully grown plus
    `progan.final_phases` phases), `train.sample_every` and `train.checkpoint_every` (half a
    phase, so every resolution and every fade-in is sampled and checkpointed)."""
    schedule = Schedule.from_images(levels, c.progan.phase_images, c.data.batch_size)
    if not c.train.num_steps:
        c.train.num_steps = schedule.grown_steps + c.progan.final_phases * schedule.phase_steps
    half = max(1, schedule.phase_steps // 2)
    for field in ("sample_every", "checkpoint_every"):
        if not c.train[field]:
            c.train[field] = half
    return schedule


def tiny(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """4 → 8 px, 4-channel nets, 2 steps per phase (6 steps): a CPU-seconds smoke run."""
    c.data.image_size = 8
    c.data.batch_size = 4
    c.model.latent_dim = 8
    c.model.g_width = c.model.d_width = 4
    c.model.fmap_base = 16
    c.progan.phase_images = 8
    c.train.num_steps = 0
    c.train.sample_every = 2
    c.train.checkpoint_every = 3
    c.train.log_every = 1
    c.train.num_samples = 4
    return c
