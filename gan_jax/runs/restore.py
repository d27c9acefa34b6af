"""Reading runs back without their training code: run folders, checkpoint steps, and orbax
partial restores of chosen subtrees as host numpy arrays.

A run folder holds `config.json`, `model.json` and `checkpoints/STEP/`. Restores here read only
the top-level entries asked for (e.g. the generator's weights, not the optimizer state), need
no template (the tree structure comes from the checkpoint's metadata) and return numpy arrays,
so the device layout the checkpoint was written with (8 TPU cores, 2 GPUs) does not matter:
it loads on a single CPU.
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
from etils import epath

from gan_jax.config import migrate
from gan_jax.errors import CheckpointError
from gan_jax.runs.run_files import CONFIG_FILE, MODEL_FILE

CHECKPOINTS = "checkpoints"
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


def read_run_files(run_dir: str) -> tuple[ml_collections.ConfigDict, dict[str, Any]]:
    """The run's config (renamed fields moved, `gan_jax.config.migrate`) and its model.json
    ({data_shape, num_classes})."""
    files = {}
    for name in (CONFIG_FILE, MODEL_FILE):
        path = os.path.join(run_dir, name)
        if not os.path.exists(path):
            raise CheckpointError(
                f"{run_dir} has no {name}; it is not a gan_jax run folder (copy the run's "
                f"{CONFIG_FILE} and {MODEL_FILE} next to its {CHECKPOINTS}/ folder)"
            )
        with open(path) as f:
            files[name] = json.load(f)
    return ml_collections.ConfigDict(migrate(files[CONFIG_FILE])), files[MODEL_FILE]


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
    except FileNotFoundError as e:
        raise CheckpointError(f"cannot read checkpoint {item.parent}: {e}") from None
    finally:
        handler.close()
