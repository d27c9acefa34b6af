"""Starting a run safely: the checks and the restore the training loop does before it trains.

* `finished_metrics`: a finished run's rerun returns its metrics and writes nothing (so it
  works on a read-only folder); config changes it cannot apply are named in one warning;
* `workdir_lock`: process 0 holds the workdir lock (`gan_jax.platform.lock`) for the run, and
  every process learns whether it got it;
* `restore_intact`: before anything is written, the state the config builds is compared with
  the newest checkpoint's metadata (a config that changes the saved shapes is a one-line
  ConfigError naming the changed fields, old -> new); then the newest intact checkpoint is
  restored, damaged newer ones getting one warning each and moved aside
  (`Checkpointer.quarantine`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

import jax
import ml_collections
from absl import logging

from gan_jax.errors import CheckpointError, ConfigError, WorkdirLocked
from gan_jax.platform.distributed import is_primary
from gan_jax.platform.lock import WorkdirLock
from gan_jax.runs.checkpoint import Checkpointer, UnreadableCheckpoint, mismatches
from gan_jax.runs.restore import checkpoint_steps
from gan_jax.runs.run_files import (
    METRICS_FILE,
    QUIET_CHANGES,
    config_changes,
    config_json,
    describe_changes,
    recorded_config,
)


def finished_metrics(
    config: ml_collections.ConfigDict, workdir: str, start: int
) -> dict[str, float] | None:
    """A finished run's metrics (its folder left untouched, so this works read-only too), or
    None. Config changes cannot apply to a finished run: they are named in one warning."""
    if start < config.train.num_steps or not os.path.exists(os.path.join(workdir, METRICS_FILE)):
        return None
    logging.info("Already trained for %d steps; nothing to do", start)
    recorded = recorded_config(workdir)
    changes = recorded and config_changes(recorded, config_json(config))
    if changes:
        logging.warning(
            "The run is finished; these config changes have no effect: %s",
            describe_changes(changes),
        )
    with open(os.path.join(workdir, METRICS_FILE)) as f:
        return json.load(f)


def _agree(ok: bool) -> bool:
    """True when `ok` on every process (a one-int all-gather in multi-process runs)."""
    if jax.process_count() == 1:
        return ok
    import numpy as np
    from jax.experimental import multihost_utils

    return bool(np.min(multihost_utils.process_allgather(np.int32(ok))))


@contextlib.contextmanager
def workdir_lock(workdir: str) -> Iterator[None]:
    """Process 0 holds the workdir lock; every process learns whether it got it."""
    lock, error = WorkdirLock(workdir), None
    if is_primary():
        try:
            lock.acquire()
        except (WorkdirLocked, OSError) as e:
            error = e
    if not _agree(error is None):
        raise error or WorkdirLocked(f"process 0 could not lock {workdir}; see its error")
    try:
        yield
    finally:
        lock.release()


def _mismatch_error(workdir: str, step: int, config: Any, diffs: list[str]) -> ConfigError:
    recorded = recorded_config(workdir, step) or {}
    changes = {
        k: v
        for k, v in config_changes(recorded, config_json(config)).items()
        if k not in QUIET_CHANGES
    }
    fields = (
        f"the config changed ({describe_changes(changes)})"
        if changes
        else "the data or model gives other shapes"
    )
    return ConfigError(
        f"cannot resume {workdir} from step {step}: {fields}, which changes the saved state "
        f"({'; '.join(diffs[:2])}{' ...' if len(diffs) > 2 else ''}); rerun with the run's "
        "config or train in a new --workdir"
    )


def restore_intact(
    config: ml_collections.ConfigDict, workdir: str, checkpointer: Checkpointer, template: Any
) -> tuple[Any, int]:
    """(state, step) from the newest intact checkpoint, after checking that it fits `template`
    (nothing is written before that check); damaged newer ones get one warning each and are
    moved to `checkpoints_unreadable/` once the restore has succeeded."""
    damaged: list[tuple[int, str]] = []
    for step in reversed(checkpoint_steps(workdir)):
        try:
            diffs = mismatches(workdir, step, template)
            if diffs:
                raise _mismatch_error(workdir, step, config, diffs)
            state = checkpointer.restore(template, step)
        except UnreadableCheckpoint as e:
            damaged.append((step, str(e)))
            continue
        for bad, why in damaged:
            moved = checkpointer.quarantine(bad)
            logging.warning(
                "Skipped the unreadable checkpoint %s; resuming from step %d (moved it to %s)",
                why,
                step,
                moved,
            )
        return state, step
    raise CheckpointError(
        f"no checkpoint in {checkpointer.directory} is readable (newest: {damaged[0][1]}); "
        "move that folder away to start the run over, or train in a new --workdir"
    )
