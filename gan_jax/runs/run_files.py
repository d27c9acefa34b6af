"""The run's config on disk: `WORKDIR/config.json` (the config) and `WORKDIR/model.json` (the
data shape and classes the model was built for), so a workdir alone rebuilds the generator."""

from __future__ import annotations

import json
import os
from typing import Any

import ml_collections
from absl import logging

from gan_jax.config import migrate
from gan_jax.platform.distributed import is_primary
from gan_jax.platform.files import write_json_atomic

CONFIG_FILE = "config.json"
MODEL_FILE = "model.json"
METRICS_FILE = "metrics.json"  # the final metrics of a run
EVAL_DIR = "eval"  # pictures and scores of evaluations (periodic and `experiments.evaluate`)


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
            old = _flatten(migrate(json.load(f)))
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
