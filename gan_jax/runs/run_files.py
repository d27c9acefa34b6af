"""The run's config on disk: `WORKDIR/config.json` (the config the run started with),
`WORKDIR/config_history.jsonl` (the fields each resume changed) and `WORKDIR/model.json` (the
data shape and classes the model was built for), so a workdir alone rebuilds the generator.

`config.json` is written once, when the run starts, and never rewritten: a resume that fails
(or diverges) cannot damage it. A resume with a changed config (a longer schedule, another
learning rate) appends one row `{"step": S, "changes": {"FIELD": [OLD, NEW], ...}}` to the
history once its checkpoint has been restored; `recorded_config` replays the rows, so readers
see the config in force (`gan_jax.load`, `experiments.evaluate`, the next resume's comparison).
"""

from __future__ import annotations

import json
import os
from typing import Any

import ml_collections
import orbax.checkpoint as ocp
from absl import logging

from gan_jax.config import drop, migrate, unread
from gan_jax.platform.distributed import is_primary
from gan_jax.platform.files import finite_or_none, write_bytes_atomic, write_json_atomic
from gan_jax.runs.export import GeneratorExport

CONFIG_FILE = "config.json"
CONFIG_HISTORY = "config_history.jsonl"
MODEL_FILE = "model.json"
METRICS_FILE = "metrics.json"  # the final metrics of a run
EVAL_DIR = "eval"  # pictures and scores of evaluations (periodic and `experiments.evaluate`)
QUIET_CHANGES = ("train.num_steps",)  # extending a run is the point of resuming it: no warning


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *path, leaf = dotted.split(".")
    for part in path:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def _latest_step(workdir: str) -> int:
    directory = os.path.join(workdir, "checkpoints")
    steps = ocp.utils.checkpoint_steps(directory) if os.path.isdir(directory) else []
    return max(steps, default=0)


def config_json(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """`config` as the JSON-ready nested dict the run files hold."""
    return json.loads(config.to_json_best_effort())


def history_rows(run_dir: str) -> list[dict[str, Any]]:
    path = os.path.join(run_dir, CONFIG_HISTORY)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def recorded_config(run_dir: str, step: int | None = None) -> dict[str, Any] | None:
    """The config in force for the checkpoint of `step` (default: the latest): config.json with
        renamed fields moved (`gan_jax.config.migrate`) and the history's changes made at resumes
        before `step`, without the fields its task does not read (`gan_jax.config.unread`: an older
    run's config.json has them). None when the folder has no config.json."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        config = migrate(json.load(f))
    for row in history_rows(run_dir):
        if step is None or row["step"] < step:
            for key, (_, new) in row["changes"].items():
                _set(config, key, new)
    # Fields the task does not read, written by runs from before its config dropped them.
    return drop(config, unread(config))


def config_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{FIELD: (old value, new value)} for the fields whose values differ (dotted names)."""
    old_flat, new_flat = _flatten(old), _flatten(finite_or_none(new))
    return {
        k: (old_flat.get(k), new_flat.get(k))
        for k in sorted(old_flat.keys() | new_flat.keys())
        if old_flat.get(k) != new_flat.get(k)
    }


def describe_changes(changes: dict[str, tuple[Any, Any]], limit: int = 6) -> str:
    """`model.g_width 64 -> 16, data.image_size 28 -> 64` (the first `limit`)."""
    parts = [f"{k} {old!r} -> {new!r}" for k, (old, new) in list(changes.items())[:limit]]
    more = len(changes) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def save_run_files(
    config: ml_collections.ConfigDict,
    workdir: str,
    data_shape: tuple[int, ...],
    num_classes: int,
    step: int | None = None,
    generator: GeneratorExport | None = None,
) -> None:
    """Write config.json and model.json when the run starts; on a resume at `step` (default:
    the latest checkpoint's, the one just restored), append the changed fields to
    config_history.jsonl (warning about each, but the schedule's length). model.json holds the
    data shape, the classes and the task's generator export (`gan_jax.runs.export`).

    Only process 0 of a multi-process run does this (the others would repeat the warnings).
    """
    if not is_primary():
        return
    new = config_json(config)
    old = recorded_config(workdir)
    if old is None:
        write_json_atomic(new, os.path.join(workdir, CONFIG_FILE))
    else:
        changes = config_changes(old, new)
        for key, (before, after) in changes.items():
            if key not in QUIET_CHANGES:
                logging.warning(
                    "Config changed since the run started: %s %r -> %r", key, before, after
                )
        if changes:
            if step is None:
                step = _latest_step(workdir)
            rows = history_rows(workdir)
            rows.append({"step": int(step), "changes": {k: list(v) for k, v in changes.items()}})
            text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
            write_bytes_atomic(text.encode(), os.path.join(workdir, CONFIG_HISTORY))
    model_path = os.path.join(workdir, MODEL_FILE)
    if not os.path.exists(model_path):
        model = {"data_shape": list(data_shape), "num_classes": num_classes}
        if generator is not None:
            model["generator"] = generator.to_json()
        write_json_atomic(model, model_path)
