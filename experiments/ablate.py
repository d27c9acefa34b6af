"""Run an ablation: sweep values × seeds, then a table of mean ± std per sweep value.

    python -m experiments.ablate --config=ring8 --sweep loss=bce,bce_smoothed,ralsgan,rahinge \
        --seeds=5 --workdir=runs/abl [--jobs=2] [--config.x=y ...]

`--sweep FIELD=V1,V2` may be given several times (a grid); a value can carry extra overrides:
`--sweep 'loss=bce,wgan[stabilizers.regularizer=gp;stabilizers.d_batchnorm=False]'`.
`--config.x=y` flags apply to every run. Rerunning skips finished runs and resumes interrupted
ones. Writes
WORKDIR/results.csv, results.md, results.png and prints the table.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from absl import app, flags

from experiments.cli import fail, resolve_config_path
from gan_jax.errors import UserError
from gan_jax.tools import ablation

_CONFIG = flags.DEFINE_string("config", None, "Config name or path, optionally with :ARG.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Ablation directory (one sub-workdir per run).")
_SWEEP = flags.DEFINE_multi_string("sweep", [], "FIELD=V1,V2,... (repeat for a grid).")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds per sweep value (config.seed = 0..N-1).")
_JOBS = flags.DEFINE_integer("jobs", 1, "Runs trained at the same time (worker processes).")
_METRICS = flags.DEFINE_list("metrics", [], "Metrics in the table (default: by config kind).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str], overrides: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}", 2)
    try:
        if not _SWEEP.value:
            raise UserError("give at least one --sweep FIELD=V1,V2,...")
        if _SEEDS.value < 1 or _JOBS.value < 1:
            raise UserError("--seeds and --jobs must be >= 1")
        config_arg = resolve_config_path(_CONFIG.value)
        sweeps = [ablation.parse_sweep(s) for s in _SWEEP.value]
        runs = ablation.plan(sweeps, _SEEDS.value)
        workdir = os.path.abspath(_WORKDIR.value)
        todo = [
            r
            for r in runs
            if ablation.run_status(os.path.join(workdir, r.name)) not in ("done", "diverged")
        ]
        print(f"{len(runs)} runs, {len(runs) - len(todo)} already finished", flush=True)

        def train(run: ablation.Run) -> None:
            status = ablation.execute(run, os.path.join(workdir, run.name), config_arg, overrides)
            print(f"  {run.name}: {status}", flush=True)

        pool = ThreadPoolExecutor(_JOBS.value)
        try:
            list(pool.map(train, todo))
        finally:  # on a user error, don't start the queued runs
            pool.shutdown(wait=True, cancel_futures=True)
        rows = ablation.collect(workdir, runs)
        fields = [field for field, _ in sweeps]
        table = ablation.write_results(
            workdir, rows, fields, ablation.choose_metrics(rows, _METRICS.value)
        )
    except UserError as e:
        fail(str(e), 2)
    print(table)
    print(f"wrote {workdir}/results.csv, results.md, results.png")


def run() -> None:
    overrides = [a for a in sys.argv[1:] if a.startswith("--config.")]
    argv = [a for a in sys.argv if not a.startswith("--config.")]
    app.run(lambda args: main(args, overrides), argv=argv)


if __name__ == "__main__":
    run()
