"""Trainable tasks by name: what `config.task` picks and `experiments.run` trains.

Built in (`None`, a config without `task`, is a GAN):

* `gan` (`gan_jax.tasks.gan`): every GAN config, any model family, loss and stabilizer;
* `encoder` (`gan_jax.tasks.encoder`): DIGITS' encoder for a trained generator;
* `vae` (`gan_jax.tasks.vae`): the Torch faces post's VAE and VAE/GAN;
* `progan` (`gan_jax.tasks.progan`): progressive growing (Karras et al. 2018).

A new task is a `gan_jax.tasks.base.TaskBase` subclass registered with `register(name, cls)`
from its own module (a test file, a user's package): no table here needs an edit. Built-in
tasks are imported on first use, so naming one does not import the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import ml_collections

from gan_jax.errors import ConfigError
from gan_jax.models import family

GAN = "gan"
_BUILTIN = {
    GAN: "gan_jax.tasks.gan:GANTask",
    "encoder": "gan_jax.tasks.encoder:EncoderTask",
    "vae": "gan_jax.tasks.vae:VAETask",
    "progan": "gan_jax.tasks.progan:ProGANTask",
}
_REGISTERED: dict[str, type] = {}


def register(name: str, task_class: type) -> None:
    """Make `config.task = name` train `task_class` (a `TaskBase` subclass)."""
    _REGISTERED[name] = task_class


def unregister(name: str) -> None:
    """Forget a task registered with `register` (a test's or a notebook's own)."""
    _REGISTERED.pop(name, None)


def names() -> list[str]:
    return sorted({*_BUILTIN, *_REGISTERED})


def task_class(name: str | None) -> type:
    """The class of `config.task = name` (None: a GAN); ConfigError naming the choices."""
    name = GAN if name is None else name
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in _BUILTIN:
        raise ConfigError(f"unknown config.task {name!r}; choose one of: {', '.join(names())}")
    module, cls = _BUILTIN[name].split(":")
    return getattr(importlib.import_module(module), cls)


def resolved(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A copy of `config` whose `model` block holds only its family's fields, unset ones at
    the family's defaults (`gan_jax.models.family.resolve`): what the run reads and what its
    config.json shows. ConfigError for a field set for another family."""
    if "model" not in config:
        return config
    out = config.copy_and_resolve_references()
    with out.unlocked():
        out.model = family.resolve(config.model)
    if config.is_locked:
        out.lock()
    return out


def build(config: ml_collections.ConfigDict, workdir: str) -> Any:
    """The task of `config`, built and checked: nothing is written before it returns."""
    config = resolved(config)
    return task_class(config.get("task"))(config, workdir)


def train(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Train (or resume) the run `config` describes in `workdir`; its final metrics."""
    from gan_jax.training import loop

    return loop.train(build(config, workdir), workdir)


def trainer(name: str | None) -> Callable[[ml_collections.ConfigDict, str], dict[str, float]]:
    """`train` for configs of task `name` (checked now, so a bad name fails before any work)."""
    task_class(name)
    return train
