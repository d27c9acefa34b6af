"""Orbax checkpoints in `WORKDIR/checkpoints`: periodic, final, keep-N, async, auto-resume.

The state is saved as a plain nested dict (`flax.serialization.to_state_dict`), so a checkpoint
can be restored with a template (exact `GANState` back, for resuming) or without one (nested
dicts, enough to sample a generator in a notebook).
"""

from __future__ import annotations

import os

import jax
import orbax.checkpoint as ocp
from flax import serialization

from gan_jax.state import GANState


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
        self._manager.save(step, args=ocp.args.StandardSave(serialization.to_state_dict(state)))

    def restore(self, template: GANState, step: int | None = None) -> GANState:
        """Restore `step` (default: latest) into the structure, dtypes and shardings of
        `template`."""
        step = self.latest_step() if step is None else step
        target = jax.tree.map(
            ocp.utils.to_shape_dtype_struct, serialization.to_state_dict(template)
        )
        restored = self._manager.restore(step, args=ocp.args.StandardRestore(target))
        return serialization.from_state_dict(template, restored)

    def wait(self) -> None:
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()
