"""Orbax checkpoints in `WORKDIR/checkpoints`: periodic, final, keep-N, async, auto-resume.

The state is saved as a plain nested dict (`flax.serialization.to_state_dict`), so a checkpoint
can be restored with a template (exact `GANState` back, for resuming) or without one (nested
dicts, enough to sample a generator in a notebook).

Damage control (what orbax gives, and what is added here):

* orbax writes each step into `STEP.orbax-checkpoint-tmp*` and renames it when complete, so an
  interrupted save never looks like a checkpoint; `cleanup_tmp_directories` deletes such
  leftovers when a run opens its checkpoints, and `discard_partial` right after a failed save
  (a full disk must not stay full of half a checkpoint);
* `mismatches` compares a template with a checkpoint's metadata (tree, shapes, dtypes) without
  reading the arrays, so a config that changes parameter shapes is reported before anything is
  written;
* a state field added since a checkpoint was written restores empty when the new state holds
  nothing there either (`GANState.extensions` of runs without stateful hooks): old runs resume;
* a checkpoint whose metadata or arrays cannot be read (truncated or bit-flipped tensor files,
  an empty `_METADATA`) raises `UnreadableCheckpoint`; the loop then falls back to the previous
  one and `quarantine` moves the damaged folder to `WORKDIR/checkpoints_unreadable/` (kept for
  inspection, and out of the way of the step that is trained and saved again).
"""

from __future__ import annotations

import os
import shutil
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
from etils import epath
from flax import serialization

from gan_jax.core.state import GANState
from gan_jax.platform.distributed import is_primary

CHECKPOINTS = "checkpoints"
UNREADABLE = "checkpoints_unreadable"
TMP_SUFFIX = ".orbax-checkpoint-tmp"  # orbax's name for a save in progress
_ITEM = "default"  # the item name `ocp.CheckpointManager` gives a single saved pytree


class UnreadableCheckpoint(Exception):
    """A checkpoint's files are damaged; the message names its folder and the first error."""


def _ignore_closed_loop(previous):
    def hook(unraisable) -> None:
        e = unraisable.exc_value
        if not (isinstance(e, RuntimeError) and str(e) == "Event loop is closed"):
            previous(unraisable)

    hook.gan_jax = True
    return hook


def quiet_failed_reads() -> None:
    """After a failed read, tensorstore still completes the other reads of that restore and
    hands each result to orbax's event loop, which is already closed: dozens of
    `RuntimeError: Event loop is closed` tracebacks through `sys.unraisablehook`, after the
    one-line error. Called before every restore, this drops exactly those (installed once, for
    the rest of the process); every other unraisable exception still reaches the previous
    hook."""
    if not getattr(sys.unraisablehook, "gan_jax", False):
        sys.unraisablehook = _ignore_closed_loop(sys.unraisablehook)


def describe_failure(e: BaseException) -> str:
    """`Type: first line of the message` of a failed read."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:300]


def _leaves(tree) -> dict[str, tuple[tuple[int, ...], str]]:
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {
        jax.tree_util.keystr(path): (tuple(np.shape(v)), str(np.dtype(v.dtype))) for path, v in flat
    }


def _shape(leaf: tuple[tuple[int, ...], str] | None) -> str:
    return "absent" if leaf is None else f"{leaf[0]} {leaf[1]}"


def mismatches(workdir: str, step: int, template: GANState) -> list[str]:
    """`entry: saved SHAPE dtype -> now SHAPE dtype` for every array of `template` that the
    checkpoint of `step` in `workdir` holds with another shape or dtype, or not at all (and the
    reverse). Reads only the metadata; raises UnreadableCheckpoint when that is damaged."""
    item = epath.Path(workdir) / CHECKPOINTS / str(step) / _ITEM
    quiet_failed_reads()
    handler = ocp.PyTreeCheckpointHandler()
    try:
        saved = _leaves(handler.metadata(item).tree)
    except Exception as e:  # orbax/tensorstore raise many types for damaged files
        raise UnreadableCheckpoint(f"{item.parent} ({describe_failure(e)})") from None
    finally:
        handler.close()
    now = _leaves(serialization.to_state_dict(template))
    return [
        f"{key}: saved {_shape(saved.get(key))} -> now {_shape(now.get(key))}"
        for key in sorted(saved.keys() | now.keys(), key=lambda k: ("opt_state" in k, k))
        if saved.get(key) != now.get(key)
    ]


class Checkpointer:
    """A thin wrapper over `ocp.CheckpointManager` for `GANState` (and other task states)."""

    def __init__(self, workdir: str, keep: int) -> None:
        self.workdir = os.path.abspath(workdir)
        self.directory = os.path.join(self.workdir, CHECKPOINTS)
        self._closed = False
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(
                max_to_keep=keep, create=True, cleanup_tmp_directories=True
            ),
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
        `template`; raises UnreadableCheckpoint when its files are damaged."""
        step = self.latest_step() if step is None else step
        target = jax.tree.map(
            ocp.utils.to_shape_dtype_struct, serialization.to_state_dict(template)
        )
        quiet_failed_reads()
        try:
            added = _added_empty_fields(os.path.join(self.directory, str(step), _ITEM), target)
            target = {k: v for k, v in target.items() if k not in added}
            restored = self._manager.restore(step, args=ocp.args.StandardRestore(target))
            restored.update({k: {} for k in added})
        except Exception as e:  # orbax/tensorstore raise many types for damaged files
            raise UnreadableCheckpoint(
                f"{os.path.join(self.directory, str(step))} ({describe_failure(e)})"
            ) from None
        return serialization.from_state_dict(template, _local_to_numpy(restored))

    def quarantine(self, step: int) -> str:
        """Move the damaged checkpoint of `step` to `WORKDIR/checkpoints_unreadable/STEP`."""
        source = os.path.join(self.directory, str(step))
        target = os.path.join(self.workdir, UNREADABLE, str(step))
        if is_primary() and os.path.exists(source):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(source, target)
        self._manager.reload()
        return target

    def discard_partial(self) -> None:
        """Delete the temporary folders of saves that did not complete (e.g. disk full)."""
        if not is_primary() or not os.path.isdir(self.directory):
            return
        for name in os.listdir(self.directory):
            if TMP_SUFFIX in name:
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

    def wait(self) -> None:
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Wait for the last save and release orbax's threads (again: a no-op)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._manager.wait_until_finished()
        finally:
            self._manager.close()


def _added_empty_fields(item: str, target: dict) -> set[str]:
    """Top-level fields of `target` that hold no array and that the checkpoint `item` lacks
    (added to the state since it was written)."""
    empty = {k for k, v in target.items() if not jax.tree.leaves(v)}
    if not empty:
        return set()
    handler = ocp.PyTreeCheckpointHandler()
    try:
        saved = handler.metadata(epath.Path(item)).tree
    finally:
        handler.close()
    return {k for k in empty if k not in saved}


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
