"""Reading runs back without their training code: run folders, checkpoint steps, and orbax
partial restores of chosen subtrees as host numpy arrays.

A run folder holds `config.json`, `model.json` and `checkpoints/STEP/`. Restores here read only
the top-level entries asked for (e.g. the generator's weights, not the optimizer state), need
no template (the tree structure comes from the checkpoint's metadata) and return numpy arrays,
so the device layout the checkpoint was written with (8 TPU cores, 2 GPUs) does not matter:
it loads on a single CPU.

A damaged checkpoint (unreadable metadata or arrays) is a one-line CheckpointError naming its
folder; `read_intact` (what `gan_jax.load` uses when no step is asked for) warns about it and
reads the newest checkpoint that is intact instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from etils import epath

from gan_jax.errors import CheckpointError
from gan_jax.runs.checkpoint import describe_failure, quiet_failed_reads
from gan_jax.runs.run_files import CONFIG_FILE, MODEL_FILE, recorded_config

CHECKPOINTS = "checkpoints"


class DamagedCheckpoint(CheckpointError):
    """A checkpoint's files cannot be read (truncated, bit-flipped, empty metadata)."""


_ITEM = "default"  # the item name `ocp.CheckpointManager` gives a single saved pytree


def resolve_run(path: str | os.PathLike) -> tuple[str, int | None]:
    """(run folder, step or None) for a run folder, its `checkpoints/` or a `checkpoints/STEP`."""
    full = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isdir(full):
        raise CheckpointError(
            f"{os.fspath(path)!r} is not a folder; pass a run's workdir or one of its "
            "checkpoints/STEP folders"
        )
    name, parent = os.path.basename(full), os.path.dirname(full)
    if name.isdigit() and os.path.basename(parent) == CHECKPOINTS:
        return os.path.dirname(parent), int(name)
    if name == CHECKPOINTS:
        return parent, None
    return full, None


def read_run_files(
    run_dir: str, step: int | None = None
) -> tuple[ml_collections.ConfigDict, dict[str, Any]]:
    """The run's config in force for the checkpoint of `step` (default: the latest; renamed
    fields moved, resumes' changes applied: `gan_jax.runs.run_files.recorded_config`) and its
    model.json ({data_shape, num_classes})."""
    for name in (CONFIG_FILE, MODEL_FILE):
        if not os.path.exists(os.path.join(run_dir, name)):
            raise CheckpointError(
                f"{run_dir} has no {name}; it is not a gan_jax run folder (copy the run's "
                f"{CONFIG_FILE} and {MODEL_FILE} next to its {CHECKPOINTS}/ folder)"
            )
    try:
        config = recorded_config(run_dir, step)
        with open(os.path.join(run_dir, MODEL_FILE)) as f:
            model = json.load(f)
    except ValueError as e:  # JSONDecodeError: a damaged or hand-edited file
        raise CheckpointError(f"cannot read the run files of {run_dir}: {e}") from None
    return ml_collections.ConfigDict(config), model


def checkpoint_steps(run_dir: str) -> list[int]:
    """Sorted steps of the finished checkpoints in `run_dir/checkpoints` (empty if none)."""
    directory = os.path.join(run_dir, CHECKPOINTS)
    if not os.path.isdir(directory):
        return []
    return sorted(ocp.utils.checkpoint_steps(directory))


def pick_step(run_dir: str, step: int | None) -> int:
    """`step` if it was saved, the latest step when `step` is None; else CheckpointError."""
    steps = checkpoint_steps(run_dir)
    if not steps:
        raise CheckpointError(
            f"{run_dir} has no checkpoints in {CHECKPOINTS}/; train it first (or point to the "
            "workdir the run wrote)"
        )
    if step is None:
        return steps[-1]
    if step not in steps:
        raise CheckpointError(
            f"{run_dir} has no checkpoint for step {step}; saved steps: "
            f"{', '.join(map(str, steps))}"
        )
    return step


def read_subtrees(
    run_dir: str, step: int, choose: Callable[[dict[str, Any]], list[str]]
) -> dict[str, Any]:
    """Restore the top-level entries `choose(metadata_tree)` names, as numpy arrays.

    `choose` sees the checkpoint's tree of array metadata (shapes, dtypes), so callers can pick
    entries by what the checkpoint holds (e.g. EMA weights when they are not empty).
    """
    item = epath.Path(run_dir) / CHECKPOINTS / str(step) / _ITEM
    quiet_failed_reads()
    handler = ocp.PyTreeCheckpointHandler()
    try:
        tree = handler.metadata(item).tree
        wanted = {}
        for key in choose(tree):
            if key not in tree:
                raise CheckpointError(
                    f"checkpoint {item.parent} has no {key!r}; it holds: {', '.join(sorted(tree))}"
                )
            wanted[key] = tree[key]
        restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), wanted)
        return handler.restore(
            item,
            args=ocp.args.PyTreeRestore(
                item=wanted, restore_args=restore_args, partial_restore=True
            ),
        )
    except CheckpointError:
        raise
    except Exception as e:  # orbax/tensorstore raise many types for damaged files
        raise DamagedCheckpoint(
            f"checkpoint {item.parent} is unreadable ({describe_failure(e)}); pass step= to load "
            "another one"
        ) from None
    finally:
        handler.close()


def read_intact(
    run_dir: str, step: int | None, choose: Callable[[dict[str, Any]], list[str]]
) -> tuple[int, dict[str, Any]]:
    """(step, `read_subtrees(...)`) for `step`; with `step` None, for the newest checkpoint
    that reads, after one warning per damaged newer one. None intact: CheckpointError."""
    if step is not None:
        return step, read_subtrees(run_dir, pick_step(run_dir, step), choose)
    pick_step(run_dir, None)  # no checkpoints at all: its error
    for candidate in reversed(checkpoint_steps(run_dir)):
        try:
            return candidate, read_subtrees(run_dir, candidate, choose)
        except DamagedCheckpoint as e:
            logging.warning("Skipping an unreadable checkpoint: %s", e)
    raise CheckpointError(
        f"no checkpoint of {run_dir} is readable (every one in {CHECKPOINTS}/ is damaged); "
        "retrain the run"
    )
