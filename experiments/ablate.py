"""Run an ablation: sweep values × seeds, then a table of mean ± std per sweep value.

    python -m experiments.ablate --config=ring8 --sweep loss=bce,bce_smoothed,ralsgan,rahinge \
        --seeds=5 --workdir=runs/abl [--jobs=2] [--config.x=y ...]

`--sweep FIELD=V1,V2` may be given several times (a grid); a value can carry extra overrides:
`--sweep 'loss=bce,wgan[stabilizers.regularizer=gp;stabilizers.d_batchnorm=False]'`.
`--config.x=y` flags apply to every run. Rerunning skips finished runs and resumes interrupted
ones. Writes
WORKDIR/results.csv, results.md, results.png and prints the table; runs with periodic evaluations
(`config.evals.every`) also get WORKDIR/curves.png and curves.md, each metric over the step per
sweep value (`gan_jax.tools.curves`). WORKDIR/ablation.json records the first invocation's
command, date, code version and machine.

`--collect_only` trains nothing and tabulates the runs that have finished (a stopped ablation).
`--results_page=docs/results.md --results_section=NAME` also writes the table into that page's
section NAME with its provenance (`gan_jax.tools.results`); `--published=pacgan_grid25
--labels=1:GAN,4:PacGAN4` puts it beside a published table.
"""

from __future__ import annotations

import os
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor

from absl import app, flags

from experiments.cli import apply_cpu_flags, fail, resolve_config_path
from gan_jax.errors import UserError
from gan_jax.tools import ablation, curves, results

_CONFIG = flags.DEFINE_string("config", None, "Config name or path, optionally with :ARG.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Ablation directory (one sub-workdir per run).")
_SWEEP = flags.DEFINE_multi_string("sweep", [], "FIELD=V1,V2,... (repeat for a grid).")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds per sweep value (config.seed = 0..N-1).")
_JOBS = flags.DEFINE_integer("jobs", 1, "Runs trained at the same time (worker processes).")
_METRICS = flags.DEFINE_list("metrics", [], "Metrics in the table (default: by config kind).")
_COLLECT = flags.DEFINE_bool(
    "collect_only", False, "Train nothing: tabulate the runs that have finished."
)
_PAGE = flags.DEFINE_string("results_page", "", "Markdown page to write the table into.")
_SECTION = flags.DEFINE_string("results_section", "", "Section name in --results_page.")
_TITLE = flags.DEFINE_string("results_title", "", "Section heading (default: the config).")
_PUBLISHED = flags.DEFINE_string("published", "", "Published table to compare with.")
_LABELS = flags.DEFINE_string("labels", "", "VALUE:NAME row names for --published.")
flags.mark_flags_as_required(["config", "workdir"])


def _command() -> str:
    """This invocation as a shell command (`python -m experiments.ablate ...`)."""
    return " ".join(["python -m experiments.ablate", *(shlex.quote(a) for a in sys.argv[1:])])


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
        if _PAGE.value and not _SECTION.value:
            raise UserError("--results_page needs --results_section=NAME")
        labels = results.parse_labels(_LABELS.value)
        print(f"{len(runs)} runs, {len(runs) - len(todo)} already finished", flush=True)
        if _COLLECT.value:
            todo = []
        if todo:
            results.record_provenance(workdir, _command(), os.path.dirname(__file__))

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
        metrics = ablation.choose_metrics(rows, _METRICS.value)
        table = ablation.write_results(workdir, rows, fields, metrics)
        curve_text = curves.write_curves(workdir, runs, fields, metrics)
        if _PAGE.value:
            title = _TITLE.value or f"{_CONFIG.value}: {', '.join(fields)}"
            image = results.copy_chart(workdir, _PAGE.value, _SECTION.value) if curve_text else ""
            text = results.ablation_section(
                workdir,
                rows,
                fields,
                metrics,
                title,
                _PUBLISHED.value,
                labels,
                curves=curve_text,
                image=image,
            )
            results.write_section(_PAGE.value, _SECTION.value, text)
            print(f"wrote section {_SECTION.value!r} of {_PAGE.value}")
    except UserError as e:
        fail(str(e), 2)
    print(table)
    print(f"wrote {workdir}/results.csv, results.md, results.png")


def run() -> None:
    apply_cpu_flags()  # before JAX starts here; the training subprocesses inherit XLA_FLAGS
    overrides = [a for a in sys.argv[1:] if a.startswith("--config.")]
    argv = [a for a in sys.argv if not a.startswith("--config.")]
    app.run(lambda args: main(args, overrides), argv=argv)


if __name__ == "__main__":
    run()
