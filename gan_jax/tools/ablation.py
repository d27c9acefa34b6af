"""Ablations: the cross product of sweep values × seeds, each a normal run in its own workdir.

A sweep is `FIELD=V1,V2,...` over any config field. A value may carry extra overrides in
brackets, applied together with it:
`loss=bce,wgan[stabilizers.regularizer=gp;stabilizers.d_batchnorm=False]` (the label stays
`wgan[...]`). Several sweeps form a grid. Each run is
`python -m experiments.run` in a subprocess (isolated, restartable), so rerunning an ablation
skips finished runs and resumes interrupted ones through the trainer's own auto-resume.

Results: `results.csv` (one row per run), `results.md` (one row per sweep value: mean ± sample
std over seeds and how many runs diverged), `results.png` (bars with ±1 std).
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Sequence

from gan_jax.errors import ConfigError
from gan_jax.platform.files import write_json_atomic

STATUS_FILE = "status.json"
DEFAULT_2D_METRICS = ("modes", "hq_fraction", "reverse_kl")
DEFAULT_EVAL_METRICS = ("fid", "kid", "precision", "recall", "class_accuracy")
DEFAULT_METRICS = ("d_loss", "g_loss", "d_real", "d_fake")


@dataclasses.dataclass(frozen=True)
class SweepValue:
    label: str
    overrides: tuple[str, ...]  # "--config.FIELD=VALUE" flags


@dataclasses.dataclass(frozen=True)
class Run:
    labels: tuple[tuple[str, str], ...]  # (sweep field, value label)
    seed: int
    overrides: tuple[str, ...]

    @property
    def name(self) -> str:
        parts = [f"{k}={v}" for k, v in self.labels] + [f"seed={self.seed}"]
        return re.sub(r"[^A-Za-z0-9._=-]+", "_", ",".join(parts))


def _split_values(text: str) -> list[str]:
    """Split on commas that are not inside [...]."""
    values, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += ch
    values.append(current)
    return values


def parse_sweep(text: str) -> tuple[str, list[SweepValue]]:
    """`FIELD=V1,V2[F=X;G=Y],...` -> (FIELD, values)."""
    field, sep, rest = text.partition("=")
    if not sep or not field or not rest:
        raise ConfigError(f"--sweep {text!r} is not FIELD=V1,V2,...; e.g. --sweep loss=bce,hinge")
    values = []
    for raw in _split_values(rest):
        match = re.fullmatch(r"([^\[\]]+)(?:\[(.*)\])?", raw.strip())
        if not match:
            raise ConfigError(f"--sweep {field}: cannot parse value {raw!r}")
        value, extra = match.group(1), match.group(2)
        overrides = [f"--config.{field}={value}"]
        for item in filter(None, (extra or "").split(";")):
            key, eq, val = item.partition("=")
            if not eq:
                raise ConfigError(f"--sweep {field}: {item!r} in {raw!r} is not FIELD=VALUE")
            overrides.append(f"--config.{key.strip()}={val.strip()}")
        values.append(SweepValue(raw.strip(), tuple(overrides)))
    return field, values


def plan(sweeps: Sequence[tuple[str, list[SweepValue]]], seeds: int) -> list[Run]:
    """All (value combination, seed) runs, seeds innermost."""
    fields = [field for field, _ in sweeps]
    runs = []
    for combo in itertools.product(*(values for _, values in sweeps)):
        overrides = tuple(o for value in combo for o in value.overrides)
        labels = tuple(zip(fields, (v.label for v in combo), strict=True))
        runs.extend(Run(labels, seed, overrides) for seed in range(seeds))
    return runs


def run_status(run_dir: str) -> str:
    """'done', 'diverged', 'failed' (crashed earlier; will be retried) or 'new'."""
    if os.path.exists(os.path.join(run_dir, "metrics.json")):
        return "done"
    path = os.path.join(run_dir, STATUS_FILE)
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)["status"]
    return "new"


def execute(run: Run, run_dir: str, config_arg: str, common: Sequence[str]) -> str:
    """Train one run (resuming if it was interrupted); return its status.

    Exit status 2 from the trainer is a user error shared by every run: it is raised.
    """
    os.makedirs(run_dir, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "experiments.run",
        f"--config={config_arg}",
        f"--workdir={run_dir}",
        *common,
        *run.overrides,
        f"--config.seed={run.seed}",
    ]
    with open(os.path.join(run_dir, "log.txt"), "a") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    if proc.returncode == 2:
        with open(os.path.join(run_dir, "log.txt")) as f:
            errors = [line for line in f if line.startswith("error:")]
        raise ConfigError((errors[-1][len("error: ") :] if errors else "run failed").strip())
    status = {0: "done", 1: "diverged"}.get(proc.returncode, "failed")
    if status != "done":
        write_json_atomic(
            {"status": status, "returncode": proc.returncode}, os.path.join(run_dir, STATUS_FILE)
        )
    return status


def collect(workdir: str, runs: Sequence[Run]) -> list[dict]:
    """One row per run: its labels, seed, status and final metrics."""
    rows = []
    for run in runs:
        run_dir = os.path.join(workdir, run.name)
        row = {**dict(run.labels), "seed": run.seed, "status": run_status(run_dir)}
        if row["status"] == "done":
            with open(os.path.join(run_dir, "metrics.json")) as f:
                row.update(json.load(f))
        rows.append(row)
    return rows


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarize(rows: list[dict], fields: Sequence[str], metrics: Sequence[str]) -> list[dict]:
    """Per sweep-value combination: run count, diverged count, and for each metric
    (mean, sample std, number of finished runs without a finite value)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[f] for f in fields), []).append(row)
    out = []
    for key, members in groups.items():
        done = [r for r in members if r["status"] == "done"]
        entry = {
            **dict(zip(fields, key, strict=True)),
            "runs": len(members),
            "done": len(done),
            "diverged": sum(r["status"] == "diverged" for r in members),
        }
        for m in metrics:
            # metrics.json stores non-finite values (e.g. reverse KL with no HQ sample) as null.
            values = [float(r[m]) for r in done if r.get(m) is not None]
            entry[m] = (*mean_std(values), len(done) - len(values)) if values else None
        out.append(entry)
    return out


def choose_metrics(rows: list[dict], requested: Sequence[str] | None) -> list[str]:
    if requested:
        return list(requested)
    present = {k for r in rows for k in r}
    if "modes" in present:
        defaults = DEFAULT_2D_METRICS
    elif present & set(DEFAULT_EVAL_METRICS):  # runs that evaluated: their quality metrics
        defaults = DEFAULT_EVAL_METRICS
    else:
        defaults = DEFAULT_METRICS
    return [m for m in defaults if m in present]


def _fmt(metric: str, value: tuple[float, float, int] | None) -> str:
    """`mean ± std`, with `(+k non-finite)` when k finished runs had no finite value."""
    if value is None:
        return "–"
    mean, std, nonfinite = value
    text = (
        f"{100 * mean:.1f} ± {100 * std:.1f}%"
        if metric == "hq_fraction"
        else (f"{mean:.3g} ± {std:.2g}")
    )
    return text + (f" (+{nonfinite} non-finite)" if nonfinite else "")


def markdown_table(summary: list[dict], fields: Sequence[str], metrics: Sequence[str]) -> str:
    header = [*fields, "runs", "diverged", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for e in summary:
        cells = [str(e[f]) for f in fields] + [str(e["runs"]), str(e["diverged"])]
        cells += [_fmt(m, e[m]) for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results(
    workdir: str, rows: list[dict], fields: Sequence[str], metrics: Sequence[str]
) -> str:
    """Write results.csv, results.md and results.png; return the markdown table."""
    from gan_jax.pictures.charts import bar_chart
    from gan_jax.pictures.grids import save_png

    columns = list(dict.fromkeys(k for r in rows for k in r))
    tmp = os.path.join(workdir, ".results.csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, os.path.join(workdir, "results.csv"))
    summary = summarize(rows, fields, metrics)
    table = markdown_table(summary, fields, metrics)
    tmp = os.path.join(workdir, ".results.md.tmp")
    with open(tmp, "w") as f:
        f.write(table)
    os.replace(tmp, os.path.join(workdir, "results.md"))
    labels = [",".join(str(e[f]) for f in fields) for e in summary]
    panels = [(m, [e[m][:2] if e[m] else None for e in summary]) for m in metrics[:3]]
    save_png(bar_chart(labels, panels), os.path.join(workdir, "results.png"))
    return table
