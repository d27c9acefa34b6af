"""The encoder task's config schema (`config.task = 'encoder'`), its `tiny` variant and checks.

An encoder run is started like a GAN run, `python -m experiments.run --config=NAME
--workdir=E --config.generator_workdir=W`; `experiments.run` dispatches on `config.task`. The
generator's architecture comes from its run, so this schema has no model fields. `data` fields
left unset (None) take the generator run's values, so by default the encoder trains on the
images the generator was trained on.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from gan_jax.config import ENCODER_TASK, optimizer_config
from gan_jax.core import optim
from gan_jax.errors import ConfigError

TASK = ENCODER_TASK


def encoder_config() -> ml_collections.ConfigDict:
    """Defaults shared by the encoder configs in `experiments/configs/*_encoder.py`."""
    c = ml_collections.ConfigDict()
    c.task = TASK
    c.seed = 0
    c.generator_workdir = ""  # the GAN run whose generator is inverted (required)
    c.generator_step = 0  # its checkpoint to use; 0 = the latest

    c.data = ml_collections.ConfigDict(
        {
            "source": config_dict.placeholder(str),  # None = the generator run's source
            "image_size": config_dict.placeholder(int),
            "crop": config_dict.placeholder(int),
            "channels": config_dict.placeholder(int),
            "tfds_data_dir": config_dict.placeholder(str),
            "batch_size": 64,
        }
    )
    c.optimizer = optimizer_config(lr=2e-4, b1=0.5)
    c.encoder = ml_collections.ConfigDict(
        {
            # > 0 adds w * mean (E(G(z)) - z)^2 on generated pairs to the pixel loss.
            "latent_loss_weight": 0.0,
            # Start E's body from the run's trained discriminator (else random init).
            "init_from_discriminator": True,
        }
    )
    c.train = ml_collections.ConfigDict(
        {
            "num_steps": 5000,
            "log_every": 100,
            "sample_every": 1000,
            "checkpoint_every": 1000,
            "keep_checkpoints": 3,
            "num_samples": 32,  # images shown with their reconstructions
        }
    )
    c.num_devices = 0  # 0 = all local devices
    return c


def tiny(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """2 steps on batches of 8, for CI and smoke tests."""
    config.data.batch_size = 8
    config.train.update(num_steps=2, log_every=1, sample_every=2, checkpoint_every=2, num_samples=8)
    return config


def validate(config: ml_collections.ConfigDict) -> None:
    """Raise ConfigError (naming the field and the fix) for values nothing else checks."""
    if not config.generator_workdir:
        raise ConfigError(
            "config.generator_workdir is not set; pass --config.generator_workdir=W, the "
            "workdir of the GAN run whose generator the encoder inverts"
        )
    if config.generator_step < 0:
        raise ConfigError(
            f"config.generator_step={config.generator_step} must be >= 0 (0 = latest)"
        )
    if config.encoder.latent_loss_weight < 0:
        raise ConfigError(
            f"config.encoder.latent_loss_weight={config.encoder.latent_loss_weight} must be >= 0"
        )
    for field in config.train:
        if config.train[field] <= 0:
            raise ConfigError(f"config.train.{field}={config.train[field]} must be > 0")
    if config.data.batch_size <= 0:
        raise ConfigError(f"config.data.batch_size={config.data.batch_size} must be > 0")
    optim.validate(config.optimizer, "optimizer")
    if config.num_devices < 0:
        raise ConfigError(f"config.num_devices={config.num_devices} must be >= 0 (0 = all)")
