"""The `GANLoss` interface, the loss registry and the `get` factory.

A loss is a frozen dataclass whose fields are its options, so an instance is hashable (usable as a
static argument to `jax.jit`) and fully described by its name and options. The registry maps each
class's `name` to the class; `get` validates user-supplied names and options and raises
`ConfigError` with a one-line message, because both come straight from configs and flags.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar, TypeVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from gan_jax.errors import ConfigError

_REGISTRY: dict[str, type[GANLoss]] = {}

_LossT = TypeVar("_LossT", bound="type[GANLoss]")


def flatten_logits(logits: ArrayLike, what: str) -> jax.Array:
    """Return raw D outputs of shape (B,) or (B, 1) as a float32 vector of shape (B,).

    Losses are computed in float32 even when the networks run in bfloat16, since softplus and
    squared errors lose most of their precision in 8 mantissa bits.
    """
    x = jnp.asarray(logits)
    if x.ndim == 1 or (x.ndim == 2 and x.shape[1] == 1):
        return x.reshape(-1).astype(jnp.float32)
    raise ValueError(f"{what} must have shape (B,) or (B, 1), got {x.shape}")


@dataclasses.dataclass(frozen=True)
class GANLoss(abc.ABC):
    """A pair of discriminator and generator objectives on raw discriminator outputs.

    Subclasses set the class attributes below, implement `_discriminator` and `_generator` on
    flattened float32 logits, and are decorated with `@register` and
    `@dataclasses.dataclass(frozen=True)`; their dataclass fields are the loss's options.
    """

    name: ClassVar[str]
    """Registry key, as written in configs."""
    logistic: ClassVar[bool]
    """True when D's output is the logit of P(real), so sigmoid(D) is a meaningful probability."""
    needs_real_for_generator: ClassVar[bool] = False
    """True when the generator loss depends on D(real); otherwise the train step may skip it."""

    def discriminator_loss(self, real_logits: ArrayLike, fake_logits: ArrayLike) -> jax.Array:
        """Scalar float32 loss that the discriminator minimises."""
        real = flatten_logits(real_logits, "real_logits")
        fake = flatten_logits(fake_logits, "fake_logits")
        return self._discriminator(real, fake)

    def generator_loss(self, real_logits: ArrayLike | None, fake_logits: ArrayLike) -> jax.Array:
        """Scalar float32 loss that the generator minimises.

        `real_logits` may be None unless `needs_real_for_generator`; it is not passed on to
        losses that do not declare the need, so they cannot depend on it by accident.
        """
        fake = flatten_logits(fake_logits, "fake_logits")
        if not self.needs_real_for_generator:
            return self._generator(None, fake)
        if real_logits is None:
            raise ValueError(f"loss {self.name!r} needs real_logits for the generator loss")
        return self._generator(flatten_logits(real_logits, "real_logits"), fake)

    @abc.abstractmethod
    def _discriminator(self, real: jax.Array, fake: jax.Array) -> jax.Array:
        """Discriminator loss on float32 logits of shape (B,)."""

    @abc.abstractmethod
    def _generator(self, real: jax.Array | None, fake: jax.Array) -> jax.Array:
        """Generator loss on float32 logits of shape (B,); `real` is None for non-relativistic."""


def register(cls: _LossT) -> _LossT:
    """Class decorator adding a frozen-dataclass `GANLoss` subclass to the registry under `name`."""
    if not (isinstance(cls, type) and issubclass(cls, GANLoss)):
        raise TypeError(f"{cls!r} is not a GANLoss subclass")
    params = cls.__dict__.get("__dataclass_params__")
    if params is None or not params.frozen:
        raise TypeError(
            f"{cls.__name__} must be decorated with @dataclasses.dataclass(frozen=True)"
        )
    name = cls.__dict__.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} must define a class attribute `name`")
    if not isinstance(getattr(cls, "logistic", None), bool):
        raise TypeError(f"{cls.__name__} must define a class attribute `logistic: bool`")
    if name in _REGISTRY:
        raise ValueError(f"loss name {name!r} is already registered by {_REGISTRY[name].__name__}")
    _REGISTRY[name] = cls
    return cls


def names() -> list[str]:
    """Sorted names of all registered losses."""
    return sorted(_REGISTRY)


def get(name: str, **options: Any) -> GANLoss:
    """Build the loss registered as `name` with the given options.

    Raises:
      ConfigError: the name is unknown, an option does not exist, or an option value is invalid.
    """
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ConfigError(f"unknown loss {name!r}; choose one of: {', '.join(names())}")
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    for option in options:
        if option not in valid:
            choices = ", ".join(valid) if valid else "none"
            raise ConfigError(f"loss {name!r} has no option {option!r}; valid options: {choices}")
    return cls(**options)
