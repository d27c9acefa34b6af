"""Orbax checkpoints in `WORKDIR/checkpoints`: periodic, final, keep-N, async, auto-resume.

The state is saved as a plain nested dict (`flax.serialization.to_state_dict`), so a checkpoint
can be restored with a template (exact `GANState` back, for resuming) or without one (nested
dicts, enough to sample a generator in a notebook).
"""

from __future__ import annotations

import os

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import serialization

from gan_jax.core.state import GANState


class Checkpointer:
    """A thin wrapper over `ocp.CheckpointManager` for `GANState`."""

    def __init__(self, workdir: str, keep: int) -> None:
        self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        )

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, state: GANState) -> None:
        """Start an async save of `state` at `step` (no-op if that step is already saved)."""
        if step in self._manager.all_steps():
            return
        tree = _local_to_numpy(serialization.to_state_dict(state))
        self._manager.save(step, args=ocp.args.StandardSave(tree))

    def restore(self, template: GANState, step: int | None = None) -> GANState:
        """Restore `step` (default: latest) into the structure, dtypes and shardings of
        `template`."""
        step = self.latest_step() if step is None else step
        target = jax.tree.map(
            ocp.utils.to_shape_dtype_struct, serialization.to_state_dict(template)
        )
        restored = self._manager.restore(step, args=ocp.args.StandardRestore(target))
        return serialization.from_state_dict(template, _local_to_numpy(restored))

    def wait(self) -> None:
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()


def _local_to_numpy(tree: dict) -> dict:
    """In a multi-process run, process-local `jax.Array`s become numpy; else `tree` unchanged.

    Orbax writes a `jax.Array` collectively, from the processes that hold its shards, and
    refuses a process-local one (`pmap`'s per-device replica, see `Runner.host_state`, or a
    state restored into a single-device template); such an array holds the same value on every
    process, so it is saved as numpy, which process 0 writes. Restored the same way, it carries
    no device commitment, so `Runner.place_state` can lay it out over every process's devices
    (a committed single-device array would need a cross-host transfer, which CPU and GPU
    backends refuse).
    """
    if jax.process_count() == 1:
        return tree
    return jax.tree.map(
        lambda x: np.asarray(x) if isinstance(x, jax.Array) and x.is_fully_addressable else x,
        tree,
    )
