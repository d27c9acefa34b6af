"""An ablation's evaluation curves: each metric over the training step, per sweep value.

A final number answers "which is better at the end"; limited-data studies ask how quality
evolves — whether D starts to memorise the training set and FID turns back up, and whether
augmentation delays that. The runs' periodic evaluations (`config.evals.every`) are already in
each run's `history.jsonl`; this module gathers them over seeds: `curves.png` (one panel per
metric, one line per sweep value: the mean over seeds) and `curves.md` (the numbers behind the
chart, mean ± sample std and the number of seeds at each step).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

from gan_jax.platform.files import write_bytes_atomic
from gan_jax.tools.ablation import mean_std

Curves = dict[str, dict[str, dict[int, list[float]]]]  # label -> metric -> step -> seed values


def _history(run_dir: str) -> list[dict[str, Any]]:
    path = os.path.join(run_dir, "history.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_curves(workdir: str, runs: Sequence[Any], metrics: Sequence[str]) -> Curves:
    """`label -> metric -> step -> [value per seed]` from the runs' histories (finite values;
    a step logged twice, as after a resume, counts once per run: the last row wins)."""
    curves: Curves = {}
    for run in runs:
        label = ",".join(value for _, value in run.labels)
        per_run: dict[str, dict[int, float]] = {}
        for row in _history(os.path.join(workdir, run.name)):
            for metric in metrics:
                value = row.get(metric)
                if isinstance(value, (int, float)) and math.isfinite(value):
                    per_run.setdefault(metric, {})[int(row["step"])] = float(value)
        by_metric = curves.setdefault(label, {})
        for metric, points in per_run.items():
            for step, value in points.items():
                by_metric.setdefault(metric, {}).setdefault(step, []).append(value)
    return curves


def _mean_std(values: list[float]) -> str:
    """`mean ± sample std` (the mean alone for one seed), with `ablation.mean_std`."""
    mean, std = mean_std(values)
    return f"{mean:.4g}" if len(values) < 2 else f"{mean:.4g} ± {std:.2g}"


def markdown(curves: Curves, field: str, metrics: Sequence[str]) -> str:
    """One row per (sweep value, evaluated step): each metric's mean ± std over seeds."""
    header = [field, "step", "seeds", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, by_metric in curves.items():
        steps = sorted({s for points in by_metric.values() for s in points})
        for step in steps:
            cells = [by_metric.get(m, {}).get(step) for m in metrics]
            seeds = max((len(c) for c in cells if c), default=0)
            shown = [_mean_std(c) if c else "–" for c in cells]
            lines.append("| " + " | ".join([label, str(step), str(seeds), *shown]) + " |")
    return "\n".join(lines) + "\n"


def chart(curves: Curves, metrics: Sequence[str]) -> Any:
    """uint8 RGB image: one panel per metric, one line (mean over seeds) per sweep value."""
    from gan_jax.pictures.charts import line_chart

    panels = []
    for metric in metrics:
        series = {}
        for label, by_metric in curves.items():
            points = sorted(by_metric.get(metric, {}).items())
            series[label] = ([s for s, _ in points], [sum(v) / len(v) for _, v in points])
        panels.append((f"{metric} (mean over seeds)", series))
    return line_chart(panels)


def write_curves(
    workdir: str, runs: Sequence[Any], fields: Sequence[str], metrics: Sequence[str]
) -> str:
    """Write WORKDIR/curves.png and curves.md when the runs logged evaluations; return the
    markdown ('' when there is nothing to draw). Only evaluation metrics (the keys of
    `gan_jax.evaluation.registry`) are drawn: training losses, logged every few steps, are not
    curves of an evaluation."""
    from gan_jax.evaluation.registry import directions
    from gan_jax.pictures.grids import save_png

    evaluated = directions()
    curves = read_curves(workdir, runs, [m for m in metrics if m in evaluated])
    present = [m for m in metrics if any(m in by_metric for by_metric in curves.values())]
    if not present:
        return ""
    text = markdown(curves, ",".join(fields), present)
    write_bytes_atomic(text.encode(), os.path.join(workdir, "curves.md"))
    save_png(chart(curves, present), os.path.join(workdir, "curves.png"))
    return text
