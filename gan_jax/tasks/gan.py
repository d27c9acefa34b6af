"""The GAN task (`config.task` absent or 'gan'): `train_and_evaluate(config, workdir)`.

`GANTask` builds data, models, loss, optimizers and stabilizers from the config and checks every
config block (each by the package that uses it) before anything is written; the one training
loop (`gan_jax.training.loop.train`) then runs it: resume, the jitted (or pmapped) step,
progress pictures from a fixed noise batch (`training.monitor`), periodic evaluations
(`training.evals`), checkpoints, history and `metrics.json`.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import jax
import ml_collections

from gan_jax import config as config_lib
from gan_jax import data as data_lib
from gan_jax import losses, models, pictures, tasks
from gan_jax.core import augment, augmentation, optim, stabilizers, terms
from gan_jax.core.spec import GANSpec, extensions_init
from gan_jax.core.state import NET_NAMES, GANState, init_state
from gan_jax.core.step import make_train_step
from gan_jax.errors import ConfigError, DataError, TrainingDiverged
from gan_jax.evaluation import settings as eval_settings
from gan_jax.evaluation.evaluator import Evaluator
from gan_jax.models import packing
from gan_jax.runs.export import GeneratorExport
from gan_jax.tasks.base import TaskBase
from gan_jax.training import loop
from gan_jax.training.evals import EvalHook
from gan_jax.training.monitor import Monitor
from gan_jax.training.parallel import PARALLEL_MODES, select_devices

CHART_PANELS = (
    ("losses", ("d_loss", "g_loss")),
    ("mean D output", ("d_real", "d_fake")),
)
BCE_CHART_PANELS = (
    ("losses", ("d_loss", "g_loss"), {"hline": pictures.BCE_GUIDES}),
    *CHART_PANELS[1:],
)
_SCHEDULE = ("num_steps", "log_every", "sample_every", "checkpoint_every")


def validate_train(config: ml_collections.ConfigDict) -> None:
    """The `train` block, and the schedule's fit with `steps_per_dispatch` and the evals (a
    task's config may lack `n_critic` and the evals' `every`: `gan_jax.tasks.reads`)."""
    tc = config.train
    for field in (*_SCHEDULE, "n_critic", "steps_per_dispatch", "keep_checkpoints", "num_samples"):
        if field in tc:
            config_lib.positive(tc[field], f"train.{field}")
    spd = tc.steps_per_dispatch
    for field, value in [(f"train.{f}", tc[f]) for f in _SCHEDULE] + [
        ("evals.every", config.evals.get("every", 0))
    ]:
        if value % spd:
            raise ConfigError(
                f"config.{field}={value} must be a multiple of "
                f"config.train.steps_per_dispatch={spd}"
            )


def validate_shared(config: ml_collections.ConfigDict, optimizers: tuple[str, ...]) -> None:
    """The blocks GAN and VAE runs share: devices, data, the `optimizers`, evals, train and
    D's packs."""
    if config.num_devices < 0:
        raise ConfigError(f"config.num_devices={config.num_devices} must be >= 0 (0 = all devices)")
    data_lib.validate(config.data)
    for net in optimizers:
        optim.validate(config[net], net)
    eval_settings.validate(config.evals)
    validate_train(config)
    pack, devices = packing.pack_size(config.model), select_devices(config.num_devices)
    packing.check_batch(pack, config.data.batch_size, len(devices))


def validate(config: ml_collections.ConfigDict) -> None:
    """Check every block of a GAN config once, each by the package that uses it; the `model`,
    `loss` and `stabilizers` blocks are checked when `build_spec` builds them."""
    config_lib.choice(config.parallel, PARALLEL_MODES, "parallel")
    validate_shared(config, ("g_optimizer", "d_optimizer"))
    augment.parse_policy(config.augment.policy)


def build_spec(config: ml_collections.ConfigDict, data_shape: tuple[int, ...]) -> GANSpec:
    """Networks, loss, optimizers and stabilizers for `config` on data of shape `data_shape`."""
    st = config.stabilizers
    generator, discriminator = models.build(config.model, data_shape, st)
    options = {k: v for k, v in config.loss_options.to_dict().items() if v is not None}
    loss = losses.get(config.loss, **options)
    stabilizers.validate(st, config.loss, loss.logistic)
    num_steps, n_critic = config.train.num_steps, config.train.n_critic
    return GANSpec(
        generator=generator,
        discriminator=discriminator,
        loss=loss,
        g_tx=optim.make_optimizer(config.g_optimizer, num_steps * config.train.get("n_gen", 1)),
        d_tx=optim.make_optimizer(config.d_optimizer, num_steps * n_critic),
        latent_dim=config.model.latent_dim,
        num_classes=config.model.num_classes,
        n_critic=n_critic,
        n_gen=config.train.get("n_gen", 1),
        ema_decay=st.ema_decay,
        skip_margin=st.skip_margin,
        skip_rule=st.skip_rule,
        augment=augmentation.from_policy(augment.validate(config.augment, data_shape)),
        adaptive_l2=st if st.adaptive_l2 else None,
        d_terms=terms.make("d", st.regularizer, st.regularizer_weight, st.regularizer_interval),
        g_terms=terms.make(
            "g", st.g_regularizer, st.g_regularizer_weight, st.g_regularizer_interval
        ),
    )


def create_state(spec: GANSpec, data_shape: tuple[int, ...], seed: int) -> GANState:
    """Initialise the state in one jitted call (cheaper than eager init on CPU)."""
    init = functools.partial(
        init_state,
        generator=spec.generator,
        discriminator=spec.discriminator,
        g_tx=spec.g_tx,
        d_tx=spec.d_tx,
        latent_dim=spec.latent_dim,
        data_shape=data_shape,
        num_classes=spec.num_classes,
        ema=spec.ema_decay > 0,
        extensions=extensions_init(spec),
    )
    return jax.jit(init)(jax.random.fold_in(jax.random.PRNGKey(seed), 0))


def _check_labels(config: ml_collections.ConfigDict, source: Any) -> None:
    wanted = config.model.num_classes
    if wanted and not source.num_classes:
        raise DataError(
            f"config.model.num_classes={wanted} but {source.name} has no labels; "
            "use a labelled source or set --config.model.num_classes=0"
        )
    if wanted and source.num_classes > wanted:
        raise DataError(
            f"{source.name} has {source.num_classes} classes but config.model.num_classes="
            f"{wanted}; set --config.model.num_classes={source.num_classes}"
        )


class GANTask(TaskBase):
    """A GAN run: everything is built and checked here, before the loop writes anything."""

    title = "GAN"
    chart_panels = CHART_PANELS

    def __init__(self, config: ml_collections.ConfigDict, workdir: str) -> None:
        validate(config)
        super().__init__(config, workdir)
        # Training reads `data.limit` images (all when 0); evaluation reads the whole dataset.
        full = data_lib.make_source(config.data)
        self.source = data_lib.limit(full, config.data.get("limit", 0))
        self.data_shape = tuple(self.source.data_shape)
        _check_labels(config, self.source)
        self.spec = build_spec(config, self.data_shape)
        if self.spec.loss.logistic:  # BCE losses: guide lines at log 2 and 2 log 2
            self.chart_panels = BCE_CHART_PANELS
        self.runner = self.make_runner(
            functools.partial(make_train_step, self.spec),
            config.parallel,
            config.train.steps_per_dispatch,
        )
        # A missing feature network stops the run here, before anything is written.
        self.evals = (
            EvalHook(
                Evaluator(config, full, self.spec.generator, self.spec.num_classes),
                config.evals,
                workdir,
            )
            if config.evals.every
            else None
        )
        self._monitor: Monitor | None = None

    def num_classes(self) -> int:
        return self.config.model.num_classes

    def init_state(self) -> GANState:
        return create_state(self.spec, self.data_shape, self.config.seed)

    def networks(self, state: GANState) -> dict[str, Any]:
        return {"generator": state.g_params, "discriminator": state.d_params}

    def generator_export(self) -> GeneratorExport:
        weights = "g_ema_params" if self.spec.ema_decay > 0 else "g_params"
        return GeneratorExport(weights, "g_batch_stats")

    def check_health(self, state: GANState, metrics: dict[str, float]) -> None:
        bad_step = int(jax.device_get(state.diverged_step).reshape(-1)[0])
        if bad_step >= 0:
            net = NET_NAMES[int(jax.device_get(state.diverged_net).reshape(-1)[0])]
            raise TrainingDiverged(
                f"the {net} loss became non-finite at step {bad_step} "
                f"(latest d_loss={metrics.get('d_loss')}, g_loss={metrics.get('g_loss')}); "
                "lower the learning rates or try another loss"
            )

    def pictures(self, step: int, state: GANState, writer: Any) -> dict[str, float]:
        if self._monitor is None:
            tc, spec = self.config.train, self.spec
            self._monitor = Monitor(
                spec.generator,
                self.source,
                spec.latent_dim,
                spec.num_classes,
                tc.num_samples,
                self.config.seed,
                self.workdir,
            )
        return self._monitor.write(step, state, writer)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Train (or resume) the GAN described by `config` in `workdir`; return the final metrics."""
    workdir = os.path.expanduser(workdir)
    return loop.train(GANTask(tasks.resolved(config), workdir), workdir)
