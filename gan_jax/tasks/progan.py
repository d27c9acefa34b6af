"""Progressive-growing training (`config.task = 'progan'`) as a task of the one training loop.

`ProGANTask` gives `gan_jax.training.loop.train` a `PhaseRunner`: a `StepRunner` that keeps the
host's step count and runs, for every step, the step compiled for that step's phase (level,
fade-in or not; `gan_jax.progan.schedule`) in one sharded placement. The parameter tree
holds every level's layers from the start, so checkpoints have one shape for the whole run and
a run killed anywhere, inside a fade-in too, resumes exactly (α is a function of the step).

Pictures: `WORKDIR/samples/step_XXXXXX.png` (a fixed noise batch at the resolution being
trained, upscaled to the final size so `progress.gif` shows the growth) and
`WORKDIR/resolutions/RxR.png` (the latest samples at each resolution the run has passed, at
that resolution). Samples use G's EMA weights.
"""

from __future__ import annotations

import math
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import config as config_lib
from gan_jax import data as data_lib
from gan_jax import losses, models, pictures
from gan_jax.core import optim
from gan_jax.core.sampling import fixed_latents
from gan_jax.errors import ConfigError
from gan_jax.models import progan as model_lib
from gan_jax.progan.config import NOT_READ, TASK, resolve_schedule
from gan_jax.progan.schedule import Phase, Schedule
from gan_jax.progan.step import ProGANState, make_step
from gan_jax.runs.export import GeneratorExport
from gan_jax.tasks.base import TaskBase
from gan_jax.training.parallel import Placement, Runner, StepRunner, placement, select_devices

RESOLUTIONS_DIR = "resolutions"


def validate(config: ml_collections.ConfigDict) -> None:
    """The blocks a ProGAN run reads; errors name the field and the fix."""
    if config.get("task") != TASK:
        raise ConfigError(f"config.task={config.get('task')!r}: a progan run needs task={TASK!r}")
    data_lib.validate(config.data)
    for net in ("g_optimizer", "d_optimizer"):
        optim.validate(config[net], net)
    tc, pc = config.train, config.progan
    config_lib.positive(tc.log_every, "train.log_every")
    config_lib.positive(tc.num_samples, "train.num_samples")
    for field in ("num_steps", "sample_every", "checkpoint_every"):
        config_lib.non_negative(tc[field], f"train.{field}", "derived from the schedule")
    config_lib.non_negative(pc.gp_weight, "progan.gp_weight")
    if not 0.0 <= pc.ema_decay < 1.0:
        raise ConfigError(f"config.progan.ema_decay={pc.ema_decay} must be in [0, 1)")
    if config.loss != "wgan":
        raise ConfigError(f"config.loss={config.loss!r}: progan trains with 'wgan' (WGAN-GP)")


class PhaseRunner(StepRunner):
    """The loop's `runner` for a schedule of per-phase steps (see the module docstring).

    It counts the steps it runs from the state it placed, so it knows the next step's phase
    without reading the device; each phase's step is compiled on first use, in the same
    placement.
    """

    def __init__(self, step_for: Any, schedule: Schedule, layout: Placement) -> None:
        super().__init__(layout)
        self._step_for, self.schedule = step_for, schedule
        self._runners: dict[Phase, Runner] = {}
        self.next_step = 0

    def place_state(self, state: ProGANState) -> ProGANState:
        self.next_step = int(jax.device_get(state.step))
        return super().place_state(state)

    def step(self, state: ProGANState, batch: Any, rng: jax.Array) -> tuple[Any, Any]:
        phase = self.schedule.phase(self.next_step)
        if phase not in self._runners:
            step = self._step_for(phase)
            self._runners[phase] = Runner(lambda *_: step, self.placement)
        self.next_step += 1
        return self._runners[phase].step(state, batch, rng)


class ProGANTask(TaskBase):
    """A progressive-growing run: built and checked here, before the loop writes anything."""

    title = "ProGAN"
    finite_metrics = ("d_loss", "g_loss")
    divergence_hint = "lower the learning rates or raise progan.gp_weight"

    chart_panels = (
        ("losses", ("d_loss", "g_loss")),
        ("mean D output", ("d_real", "d_fake")),
        ("growth", ("alpha",)),
    )

    @classmethod
    def not_read(cls, config: Any) -> dict[str, str]:
        return NOT_READ

    def __init__(self, config: ml_collections.ConfigDict, workdir: str) -> None:
        super().__init__(config, workdir)
        validate(config)
        self.source = self.open_source()
        self.data_shape = tuple(self.source.data_shape)
        if config.model.name != model_lib.FAMILY.name:
            raise ConfigError(
                f"config.model.name={config.model.name!r}: progan runs train "
                f"model.name={model_lib.FAMILY.name!r}; remove it"
            )
        self.generator, self.discriminator = models.build(config.model, self.data_shape)
        options = {k: v for k, v in config.loss_options.to_dict().items() if v is not None}
        self.loss = losses.get(config.loss, **options)
        self.schedule = resolve_schedule(config, self.generator.levels)
        tc = config.train
        if self.schedule.phase_steps % tc.sample_every:
            raise ConfigError(
                f"config.train.sample_every={tc.sample_every} must divide the "
                f"{self.schedule.phase_steps} steps of a phase (progan.phase_images / "
                "data.batch_size), so every resolution is sampled"
            )
        self.g_tx = optim.make_optimizer(config.g_optimizer, tc.num_steps)
        self.d_tx = optim.make_optimizer(config.d_optimizer, tc.num_steps)
        layout = placement("sharded", select_devices(config.num_devices))
        self.runner = PhaseRunner(self._make_step, self.schedule, layout)
        self.runner.check_batch_size(config.data.batch_size)
        self._init = jax.jit(self._init_state)  # compiled once per task
        self._z = fixed_latents(config.seed, tc.num_samples, config.model.latent_dim)
        self._sample = jax.jit(
            lambda params, z, level, alpha: self.generator.apply(
                {"params": params}, z, level=level, alpha=alpha
            ),
            static_argnums=2,
        )

    def _make_step(self, phase: Phase):
        pc = self.config.progan
        return make_step(
            self.generator,
            self.discriminator,
            self.g_tx,
            self.d_tx,
            self.loss,
            self.config.model.latent_dim,
            pc.gp_weight,
            pc.ema_decay,
            phase,
            self.schedule.phase_steps,
        )

    def init_state(self) -> ProGANState:
        return self._init(jax.random.PRNGKey(self.config.seed))

    def _init_state(self, rng: jax.Array) -> ProGANState:
        """Every level's weights (see `gan_jax.models.progan`) and the optimizers' states."""
        g_key, d_key = jax.random.split(rng)
        z = jnp.zeros((1, self.config.model.latent_dim), jnp.float32)
        x = jnp.zeros((1, *self.data_shape), jnp.float32)
        g_params = self.generator.init(g_key, z)["params"]
        d_params = self.discriminator.init(d_key, x)["params"]
        return ProGANState(
            step=jnp.zeros((), jnp.int32),
            g_params=g_params,
            d_params=d_params,
            g_opt_state=self.g_tx.init(g_params),
            d_opt_state=self.d_tx.init(d_params),
            g_ema_params=g_params,
            g_batch_stats={},
        )

    def networks(self, state: ProGANState) -> dict[str, Any]:
        return {"generator": state.g_params, "discriminator": state.d_params}

    def details(self) -> str:
        s = self.schedule
        return (
            f"{self.data_shape[0]}px, {s.levels} levels, {s.phase_steps} steps per phase, "
            f"fully grown at step {s.grown_steps}"
        )

    def generator_export(self) -> GeneratorExport:
        return GeneratorExport("g_ema_params", None)

    def pictures(self, step: int, state: ProGANState, writer: Any) -> dict[str, float]:
        """Samples of the fixed noise batch at the level (and α) of the step just run."""
        before = max(step - 1, 0)
        phase, alpha = self.schedule.phase(before), self.schedule.alpha(before)
        fade = None if phase.fade_start is None else np.float32(alpha)
        images = np.asarray(self._sample(state.g_ema_params, self._z, phase.level, fade))
        ncols = math.ceil(math.sqrt(len(images)))
        native = pictures.image_grid(images, ncols=ncols)
        r = phase.resolution
        pictures.save_png(native, os.path.join(self.workdir, RESOLUTIONS_DIR, f"{r}x{r}.png"))
        scale = self.data_shape[0] // r
        big = np.repeat(np.repeat(images, scale, axis=1), scale, axis=2)
        self.write_picture(step, pictures.image_grid(big, ncols=ncols), writer)
        return {}
