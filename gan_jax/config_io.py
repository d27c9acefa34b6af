"""The run's config on disk: `WORKDIR/config.json` (the config) and `WORKDIR/model.json` (the
data shape and classes the model was built for), so a workdir alone rebuilds the generator."""

from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any

import ml_collections
from absl import logging

from gan_jax.distributed import is_primary

CONFIG_FILE = "config.json"
MODEL_FILE = "model.json"


def finite_or_none(obj: Any) -> Any:
    """`obj` with non-finite floats (in dicts, recursively) replaced by None: standard JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    return obj


def write_json_atomic(obj: Any, path: str) -> None:
    """Write JSON to a temp file beside `path`, then rename: a crash never leaves half a file.

    Non-finite floats become `null` so the file stays standard JSON. In a multi-process run
    only process 0 writes (every process may call this; see `gan_jax.distributed`).
    """
    if not is_primary():
        return
    obj = finite_or_none(obj)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp_", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def save_run_files(
    config: ml_collections.ConfigDict, workdir: str, data_shape: tuple[int, ...], num_classes: int
) -> None:
    """Write config.json and model.json; on a resumed run, warn about fields that changed.

    Only process 0 of a multi-process run does this (the others would repeat the warnings).
    """
    if not is_primary():
        return
    new = json.loads(config.to_json_best_effort())
    path = os.path.join(workdir, CONFIG_FILE)
    if os.path.exists(path):
        with open(path) as f:
            old = _flatten(json.load(f))
        changed = {
            k: (old.get(k), v)
            for k, v in _flatten(new).items()
            if old.get(k) != v and k != "train.num_steps"
        }
        for key, (before, after) in sorted(changed.items()):
            logging.warning("Config changed since the run started: %s %r -> %r", key, before, after)
    write_json_atomic(new, path)
    write_json_atomic(
        {"data_shape": list(data_shape), "num_classes": num_classes},
        os.path.join(workdir, MODEL_FILE),
    )


def load_config(workdir: str) -> ml_collections.ConfigDict:
    """The config a run in `workdir` was started with."""
    with open(os.path.join(workdir, CONFIG_FILE)) as f:
        return ml_collections.ConfigDict(json.load(f))
