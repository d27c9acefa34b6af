"""`DeviceAxis`: the only place the train step differs between one device, jit and pmap.

The step's pieces (`gan_jax.core.updates`) are written once and call these four methods where
data crosses devices. With `name=None` (one device, or `jax.jit` over a sharded batch, where
XLA partitions the global computation itself) they are the identity, plain draws and the given
key. Inside `jax.pmap(..., axis_name=name)` they gather, average, slice and fold in the device
index, so that a pmapped step reproduces the 1-device result (BatchNorm and dropout aside, see
`gan_jax.core.step`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

Sampler = Callable[..., jax.Array]  # jax.random.normal / uniform: (key, shape, dtype) -> array


@dataclasses.dataclass(frozen=True)
class DeviceAxis:
    """The pmap axis the step runs over, or none.

    Attributes:
      name: the pmap axis name when the step runs inside `jax.pmap`, else None.
      size: the number of devices on that axis (only used with `name`).
      latent_sharding: on the jit path, the sharding to place per-example noise with (the
        batch's sharding), so G's forward pass is data-parallel like D's.
    """

    name: str | None = None
    size: int = 1
    latent_sharding: jax.sharding.Sharding | None = None

    def gather(self, x: jax.Array) -> jax.Array:
        """`x` for the global batch: every device's rows concatenated along axis 0.

        D's outputs go through this before the loss, because relativistic losses take batch
        means and the skip rule takes mean errors over the whole batch.
        """
        return x if self.name is None else lax.all_gather(x, self.name, tiled=True)

    def pmean(self, tree: Any) -> Any:
        """The mean of `tree` over devices (gradients, BatchNorm statistics, metrics), so every
        device applies the same update and reports the same numbers."""
        return tree if self.name is None else lax.pmean(tree, self.name)

    def per_example(
        self, sample: Sampler, key: jax.Array, local_batch: int, *shape: int
    ) -> jax.Array:
        """Noise of shape `(local_batch, *shape)` for this device's examples.

        Under pmap the draw is made for the global batch and each device takes its slice, so the
        values do not depend on the number of devices.
        """
        if self.name is None:
            out = sample(key, (local_batch, *shape), jnp.float32)
            if self.latent_sharding is not None:
                out = lax.with_sharding_constraint(out, self.latent_sharding)
            return out
        out = sample(key, (local_batch * self.size, *shape), jnp.float32)
        return lax.dynamic_slice_in_dim(out, lax.axis_index(self.name) * local_batch, local_batch)

    def device_key(self, key: jax.Array) -> jax.Array:
        """A key of this device's own, for dropout: masks drawn with it differ per device under
        pmap (and so differ from 1 device's masks)."""
        return key if self.name is None else jax.random.fold_in(key, lax.axis_index(self.name))
