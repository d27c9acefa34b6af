"""The config schema: every field a run reads, with its default, in one place — except the
`model` block's family fields, which each model family declares beside its networks
(`gan_jax.models.family`).

Each file in `experiments/configs/` starts from `base_config()` and overrides what it needs, so
`--config.x=y` works for every field listed here and a typo fails loudly (the dict is locked).
Each block is checked by the package that uses it (`data.validate`, `core.optim.validate`,
`core.stabilizers.validate`, `models.build`, `evaluation.settings.validate`, the task in
`gan_jax.tasks`), once, before a run writes anything; `gan_jax.errors` phrases the errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import ml_collections
from ml_collections import config_dict

from gan_jax.data import data_config
from gan_jax.errors import ConfigError, choice, non_negative, positive
from gan_jax.models import family

__all__ = [
    "ADDED",
    "RENAMED",
    "NotRead",
    "apply_variant",
    "base_config",
    "drop",
    "locate",
    "choice",
    "migrate",
    "non_negative",
    "optimizer_config",
    "positive",
    "stabilizers_config",
    "register_unread",
    "tiny",
    "unread",
]

# config.task of the built-in tasks other than the GAN (GAN configs have none); the tasks by
# name are `gan_jax.tasks`.
ENCODER_TASK = "encoder"  # encoder runs; their schema: encoder/config.py
VAE_TASK = "vae"  # VAE and VAE/GAN runs; their schema: vae/config.py
PROGAN_TASK = "progan"  # progressive-growing runs; their schema: progan/config.py


def optimizer_config(
    lr: float = 2e-4, b1: float = 0.5, b2: float = 0.999
) -> ml_collections.ConfigDict:
    """One network's optimizer: optax `name` with its learning-rate schedule.

    `schedule`: constant | linear (decay to `final_lr_fraction`·lr at the last step) | cosine;
    `warmup_steps` of linear warm-up precede it. `clip_norm` > 0 clips the global gradient norm,
    `clip_value` > 0 each gradient entry.
    """
    return ml_collections.ConfigDict(
        {
            "name": "adam",
            "lr": lr,
            "b1": b1,
            "b2": b2,
            "eps": 1e-8,
            "decay": 0.9,  # rmsprop's averaging constant
            "momentum": 0.0,  # sgd / rmsprop momentum
            "weight_decay": 0.0,
            "schedule": "constant",
            "warmup_steps": 0,
            "final_lr_fraction": 0.0,
            "clip_norm": 0.0,
            "clip_value": 0.0,  # > 0 clips each gradient entry to [-v, v] (the Keras seed)
        }
    )


def stabilizers_config() -> ml_collections.ConfigDict:
    """Every GAN stabilizer, each one switch (`gan_jax.core.stabilizers`, `core.regularizers`,
    `models.regularized`); the defaults turn them all off except D's BatchNorm."""
    return ml_collections.ConfigDict(
        {
            "ema_decay": 0.0,  # > 0: EMA of G's weights inside the step; samples use it
            "regularizer": "none",  # none | r1 (weight = gamma) | gp (weight = lambda)
            "regularizer_weight": 10.0,
            "regularizer_interval": 1,  # > 1: lazy regularization (StyleGAN2)
            "g_regularizer": "none",  # none | orthogonal (BigGAN; weight = beta): G's loss term
            "g_regularizer_weight": 1e-4,
            "g_regularizer_interval": 1,
            "skip_margin": 0.0,  # torch-faces margin-based update skipping (0 = off; seed: 0.3)
            "skip_rule": "either",  # either (the post's rule) | both (gan_jax <= 0.2)
            "adaptive_l2": False,  # adaptive L2 penalty on D driven by G's loss
            "l2_band_low": 0.9,
            "l2_band_high": 1.3,
            "l2_step": 1e-5,
            "l2_max": 1e-2,
            "d_spectral_norm": False,  # spectral normalization of every D layer (Miyato 2018)
            "d_dropout": 0.0,  # dropout after D's hidden activations (the Keras/Torch seeds)
            "d_batchnorm": True,  # BN in D's hidden blocks (DCGAN); off for exact R1/GP
        }
    )


# Fields renamed when the stabilizers were grouped (0.1 -> 0.2): old dotted name -> new one. The
# old names still work for this release, on the command line (`experiments.cli`, with a warning)
# and in the config.json of runs written before (`migrate`).
RENAMED = {
    "ema_decay": "stabilizers.ema_decay",
    "regularizer.name": "stabilizers.regularizer",
    "regularizer.weight": "stabilizers.regularizer_weight",
    "regularizer.interval": "stabilizers.regularizer_interval",
    **{
        f"balance.{k}": f"stabilizers.{k}"
        for k in ("skip_margin", "adaptive_l2", "l2_band_low", "l2_band_high", "l2_step", "l2_max")
    },
    **{f"model.{k}": f"stabilizers.{k}" for k in ("d_spectral_norm", "d_dropout", "d_batchnorm")},
}


# Fields added since the stabilizers were grouped, with the value that does what runs written
# before them did (`skip_rule`: those runs skipped only when both errors passed the margin). An
# old config.json gets them from `migrate`, so such a run resumes unchanged and without a
# "Config changed" warning.
ADDED = {
    "stabilizers.skip_rule": "both",
    "model.pack": 1,
    "augment.policy": "",
    "model.latent_prior": "normal",
    "model.data_range": "auto",
    "model.init": "default",
    "model.g_dropout": 0.0,
    "model.dropout_kind": "element",
    "model.d_pool": "stride",
    "train.n_gen": 1,
    "data.limit": 0,
    "model.d_num_layers": 0,
    "model.d_maxout": 0,
    "model.g_batchnorm": False,
    "stabilizers.g_regularizer": "none",
    "stabilizers.g_regularizer_weight": 1e-4,
    "stabilizers.g_regularizer_interval": 1,
}


def migrate(tree: dict[str, Any]) -> dict[str, Any]:
    """A config as a run wrote it (config.json) with renamed fields moved to their new names.

    A run written before the `stabilizers` block gets one built from its old fields, and GAN-family
    runs get the `ADDED` fields they lack; configs of other tasks (no old field) are returned
    unchanged. Emptied old blocks are dropped. The `model` block keeps only its family's fields
    (`family.prune`: runs written before families had schemas stored every family's).
    """
    out = json.loads(json.dumps(tree))
    for old, new in RENAMED.items():
        head, _, leaf = old.rpartition(".")
        parent = out.get(head) if head else out
        if not isinstance(parent, dict) or leaf not in parent:
            continue
        value = parent.pop(leaf)
        block, field = new.split(".")
        out.setdefault(block, {})[field] = value
        if head and not parent:
            del out[head]
    if isinstance(out.get("stabilizers"), dict):  # a GAN-family run: fill fields added since
        for name, value in ADDED.items():
            block, field = name.split(".")
            out.setdefault(block, {}).setdefault(field, value)
    if isinstance(out.get("model"), dict) and "name" in out["model"]:
        out["model"] = family.prune(out["model"])
    return out


# Fields of `base_config()` a task does not read (dotted field or block -> what to use instead):
# its config builder drops them (`drop`), so its config is its schema; `gan_jax.tasks.reads`
# refuses them on the command line and in hand-built configs. Each task's config module
# registers its table here (`register_unread`), so that a run's config.json written before the
# table existed reads back without them (`gan_jax.runs.run_files.recorded_config`).
NotRead = Mapping[str, str]
_UNREAD: dict[str, Callable[[Any], NotRead]] = {}


def register_unread(task: str, fields: Callable[[Any], NotRead]) -> None:
    """Declare what configs of `task` do not read: `fields(config)` (a ConfigDict or a
    config.json dict) gives the table."""
    _UNREAD[task] = fields


def unread(config: Any) -> NotRead:
    """The fields the task of `config` does not read; {} for a task that registered none."""
    fields = _UNREAD.get(config.get("task"))
    return fields(config) if fields else {}


def locate(tree: Any, dotted: str) -> tuple[Any, str]:
    """(the block holding `dotted`'s leaf or None, the leaf's name)."""
    *path, leaf = dotted.split(".")
    node = tree
    for part in path:
        node = node.get(part) if hasattr(node, "get") else None
        if node is None:
            break
    return node, leaf


def drop(config: Any, fields: NotRead) -> Any:
    """`config` (a ConfigDict or a config.json dict) without `fields`; absent ones are skipped."""
    for name in fields:
        node, leaf = locate(config, name)
        if node is not None and leaf in node:
            del node[leaf]
    return config


def base_config() -> ml_collections.ConfigDict:
    """Defaults shared by every experiment config."""
    c = ml_collections.ConfigDict()
    c.seed = 0

    # The model family (`model.name`) and its fields: each family declares its own beside its
    # networks (`gan_jax.models.family`; docs/configs.md). Here every family's fields are unset
    # placeholders, resolved to the chosen family's when the run starts.
    c.model = family.union_block()

    c.loss = "bce"
    # Options of the chosen loss; None = the loss's default. Declared here so that
    # `--config.loss_options.NAME=VALUE` works on the locked config; setting an option the chosen
    # loss does not have is an error, never silently ignored.
    c.loss_options = ml_collections.ConfigDict({"real_label": config_dict.placeholder(float)})
    c.loss_options.drift = config_dict.placeholder(float)  # wgan: ε·E D(x)² (ProGAN, ε = 0.001)

    c.data = data_config()  # the data block's fields and docs: gan_jax.data.data_config

    c.g_optimizer = optimizer_config()
    c.d_optimizer = optimizer_config()

    c.train = ml_collections.ConfigDict()
    c.train.num_steps = 10_000
    c.train.n_critic = 1
    c.train.n_gen = 1  # G updates per step, after the n_critic D updates (the Keras intro's advice)
    c.train.steps_per_dispatch = 1
    c.train.log_every = 100
    c.train.sample_every = 1000
    c.train.checkpoint_every = 1000
    c.train.keep_checkpoints = 3
    c.train.num_samples = 64

    c.stabilizers = stabilizers_config()

    # Periodic evaluation during training (gan_jax/evaluation/evaluator.py; `experiments.evaluate`
    # reads the same block). Metrics: the names in gan_jax/evaluation/registry.py: fid, kid,
    # pr (precision/recall), dc (density/coverage), pixel_chi2, is, class (conditional accuracy +
    # predicted-label histogram), modes (2-D mixtures); 'auto' picks by domain. Features:
    # classifier (a small CNN trained on the dataset) | inception (the FID InceptionV3) | auto
    # (classifier for grayscale or <= 32 px images).
    c.evals = ml_collections.ConfigDict(
        {
            "every": 0,  # steps between evaluations (0 = off); runs at the last step too
            "metrics": "auto",
            "features": "auto",
            "num_samples": 5000,  # generated samples per evaluation (2-D mixtures: 2,500)
            "num_real": 5000,  # real examples for the reference statistics
            "batch_size": 250,  # images per feature-network call
            "best_metric": "",  # e.g. fid: keep the best checkpoint in WORKDIR/best ('' = off)
        }
    )

    # DiffAugment on everything D sees (gan_jax.core.augment): '' = off, or a comma-separated
    # subset of color,translation,cutout (the paper's choice for small datasets: all three).
    c.augment = ml_collections.ConfigDict({"policy": ""})

    c.parallel = "sharded"
    c.num_devices = 0  # 0 = all local devices
    return c


def tiny(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Shrink a config so it trains 2 steps on a CPU in seconds (CI and smoke tests)."""
    for field in ("g_width", "d_width"):
        width = family.value(config.model, field)
        if width is not None:
            config.model[field] = min(width, 8)
    config.model.latent_dim = min(config.model.latent_dim, 8)
    config.data.batch_size = 8
    config.train.num_steps = 2
    config.train.steps_per_dispatch = 1
    config.train.log_every = 1
    config.train.sample_every = 2
    config.train.checkpoint_every = 2
    config.train.num_samples = 8
    config.evals.every = 0  # a smoke run skips periodic evaluation (tests enable it explicitly)
    config.evals.best_metric = ""
    config.evals.num_samples = min(config.evals.num_samples, 64)
    config.evals.num_real = min(config.evals.num_real, 64)
    config.evals.batch_size = min(config.evals.batch_size, 32)
    return config


def apply_variant(
    config: ml_collections.ConfigDict,
    arg: str | None,
    variants: dict[str, Callable[[ml_collections.ConfigDict], object]] | None = None,
) -> ml_collections.ConfigDict:
    """Apply the `NAME:arg` variants of a config file; `tiny` is available everywhere.

    Several variants combine with commas (`celeba64:tiny,ralsgan`).
    """
    table = {"tiny": tiny, **(variants or {})}
    for name in filter(None, (arg or "").split(",")):
        if name not in table:
            raise ConfigError(
                f"unknown config variant {name!r}; choose one of: {', '.join(sorted(table))}"
            )
        table[name](config)
    return config
