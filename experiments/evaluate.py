"""Evaluate a trained GAN's checkpoint without retraining.

    python -m experiments.evaluate --workdir=runs/mnist
    python -m experiments.evaluate --workdir=runs/mnist --step=2000 --metrics=fid,kid,pr --json
    python -m experiments.evaluate --workdir=runs/ring8            # modes, hq_fraction, reverse_kl

Prints a table of the metrics (`--json`: one JSON object as the last line, with the keys of the
run's `metrics.json`) and writes them with pictures to `WORKDIR/eval/step_XXXXXX/`. Metrics and
feature networks default to the run's `config.evals` block (a read-only run folder is reported
before scoring, exit status 3); the metrics, their keys and what
they need are listed in gan_jax/evaluation/registry.py. `--results_page=docs/results.md
--results_section=NAME` also writes them, with the command, date, code version and machine, into
that page's section NAME (`gan_jax.tools.results`).
"""

from __future__ import annotations

import json
import os
import shlex
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from experiments.cli import exit_on_errors, fail, run_app  # noqa: E402
from gan_jax.evaluation.registry import names  # noqa: E402
from gan_jax.platform.files import check_writable, finite_or_none  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "The run folder (or one of its checkpoints).")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step to evaluate (default: the latest).")
_METRICS = flags.DEFINE_string("metrics", None, f"Comma-separated: {','.join(names())} or auto.")
_NUM = flags.DEFINE_integer("num_samples", None, "Generated samples (default: config.evals).")
_FEATURES = flags.DEFINE_enum(
    "features", None, ["auto", "classifier", "inception"], "Feature network for fid/kid/pr/is."
)
_JSON = flags.DEFINE_bool("json", False, "Also print the results as one JSON object (last line).")
_PAGE = flags.DEFINE_string("results_page", "", "Markdown page to write the results into.")
_SECTION = flags.DEFINE_string("results_section", "", "Section name in --results_page.")
_TITLE = flags.DEFINE_string("results_title", "", "Section heading (default: the run's name).")
flags.mark_flags_as_required(["workdir"])


def table(result: dict) -> str:
    head = f"step {result['step']}: {result['num_samples']} samples, features: {result['features']}"
    rows = [(k, v) for k, v in result.items() if k not in ("step", "features", "num_samples")]
    width = max(len(k) for k, _ in rows) if rows else 0
    return "\n".join([head, *(f"  {k:<{width}}  {v:.6g}" for k, v in rows)])


def _write_section(run_dir: str, result: dict) -> None:
    """The results in section --results_section of --results_page, with their provenance."""
    from gan_jax.runs.run_files import recorded_config
    from gan_jax.tools import results

    command = " ".join(["python -m experiments.evaluate", *map(shlex.quote, sys.argv[1:])])
    text = results.evaluation_section(
        _TITLE.value or f"`{os.path.basename(run_dir)}`",
        command,
        result,
        recorded_config(run_dir, result["step"]) or {},
        os.path.dirname(os.path.abspath(__file__)),
    )
    results.write_section(_PAGE.value, _SECTION.value, text)
    print(f"wrote section {_SECTION.value!r} of {_PAGE.value}", flush=True)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}; see --help", 2)
    if _NUM.value is not None and _NUM.value < 2:
        fail(f"--num_samples={_NUM.value} must be >= 2", 2)
    if bool(_PAGE.value) != bool(_SECTION.value):
        fail("--results_page and --results_section go together; give both", 2)
    from gan_jax.evaluation.offline import evaluate_checkpoint
    from gan_jax.runs.restore import resolve_run
    from gan_jax.runs.run_files import EVAL_DIR

    with exit_on_errors("the evaluation"):
        run_dir, _ = resolve_run(_WORKDIR.value)
        check_writable(os.path.join(run_dir, EVAL_DIR))  # fail before scoring, not after
        result = evaluate_checkpoint(
            _WORKDIR.value, _STEP.value, _METRICS.value, _NUM.value, _FEATURES.value
        )
    print(table(result), flush=True)
    if _PAGE.value:
        _write_section(run_dir, result)
    if _JSON.value:
        print(json.dumps(finite_or_none(result)), flush=True)


def run() -> None:
    run_app(main)


if __name__ == "__main__":
    run()
