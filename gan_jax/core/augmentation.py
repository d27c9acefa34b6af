"""The train step's augmentation hook: what D sees of the images, and the state that steers it.

An `Augmentation` is applied to everything D sees, real and generated, in D's and G's updates
(`gan_jax.core.updates.augmented`), with per-image draws made for the global batch
(`uniform(key, n)`), so it is the same on one device, under pmap and sharded jit. It may carry
state that adapts during training (ADA's augmentation probability p, Karras et al. 2020b):
`init_state()` gives it, `update(state, real_logits, step)` moves it after each D update from D's
outputs on the (global) real batch, and the step keeps it in the train state
(`GANState.extensions['augment']`), so it is checkpointed, logged through `metrics(state)` and
resumed exactly. `DiffAugment` (`gan_jax.core.augment`) is the stateless one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

import jax

from gan_jax.core import augment

Uniform = Callable[..., jax.Array]


class Augmentation(Protocol):
    """See the module docstring."""

    def init_state(self) -> Any: ...

    def apply(
        self, x: jax.Array, key: jax.Array, stream: int, uniform: Uniform, state: Any
    ) -> jax.Array: ...

    def update(self, state: Any, real_logits: jax.Array, step: jax.Array) -> Any: ...

    def metrics(self, state: Any) -> dict[str, jax.Array]: ...


@dataclasses.dataclass(frozen=True)
class DiffAugment:
    """DiffAugment's ops `policy` (Zhao et al. 2020; `gan_jax.core.augment`), no state. The
    stream (`augment.REAL` / `augment.FAKE`) picks the key, as the module docstring there says."""

    policy: tuple[str, ...]

    def init_state(self) -> Any:
        return {}

    def apply(
        self, x: jax.Array, key: jax.Array, stream: int, uniform: Uniform, state: Any
    ) -> jax.Array:
        return augment.diff_augment(x, self.policy, augment.augment_key(key, stream), uniform)

    def update(self, state: Any, real_logits: jax.Array, step: jax.Array) -> Any:
        return state

    def metrics(self, state: Any) -> dict[str, jax.Array]:
        return {}


def from_policy(policy: tuple[str, ...]) -> DiffAugment | None:
    """The hook of a DiffAugment policy (None when the policy is empty: no augmentation)."""
    return DiffAugment(tuple(policy)) if policy else None
