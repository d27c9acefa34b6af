"""Evaluation curves of an ablation (`gan_jax.tools.curves`) and their place in a results page."""

import json

import numpy as np
from PIL import Image

from gan_jax.tools import ablation, curves
from tests.helpers import run_module

SWEEP = "augment.policy=none,color+cutout"


def _write_runs(workdir, histories):
    """histories: {(policy, seed): [history rows]}; each run is finished with a metrics.json."""
    for (policy, seed), rows in histories.items():
        run = ablation.Run((("augment.policy", policy),), seed, ())
        run_dir = workdir / run.name  # 'color+cutout' is spelled color_cutout in the folder name
        run_dir.mkdir(parents=True)
        (run_dir / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        last = {k: v for r in rows for k, v in r.items() if k != "step"}
        (run_dir / "metrics.json").write_text(json.dumps(last))


HISTORIES = {
    ("none", 0): [
        {"step": 100, "d_loss": 0.5},  # a training row: no evaluation metric
        {"step": 500, "fid": 10.0, "class_accuracy": 0.8},
        {"step": 1000, "fid": 99.0},  # replaced by the row logged again after a resume
        {"step": 1000, "fid": 20.0, "class_accuracy": 0.7},
    ],
    ("none", 1): [
        {"step": 500, "fid": 12.0, "class_accuracy": 0.9},
        {"step": 1000, "fid": 24.0, "class_accuracy": float("nan")},
    ],
    ("color+cutout", 0): [{"step": 500, "fid": 8.0, "class_accuracy": 0.85}],
    ("color+cutout", 1): [{"step": 500, "fid": 6.0, "class_accuracy": 0.95}],
}


def test_curves_average_seeds_per_step(tmp_path):
    _write_runs(tmp_path, HISTORIES)
    runs = ablation.plan([ablation.parse_sweep(SWEEP)], seeds=2)
    got = curves.read_curves(str(tmp_path), runs, ["fid", "class_accuracy"])
    assert got["none"]["fid"] == {500: [10.0, 12.0], 1000: [20.0, 24.0]}
    assert got["none"]["class_accuracy"] == {500: [0.8, 0.9], 1000: [0.7]}  # NaN skipped
    assert got["color+cutout"]["fid"] == {500: [8.0, 6.0]}
    text = curves.markdown(got, "augment.policy", ["fid", "class_accuracy"])
    assert "| none | 500 | 2 | 11 ± 1.4 | 0.85 ± 0.071 |" in text
    assert "| none | 1000 | 2 | 22 ± 2.8 | 0.7 |" in text
    assert "| color+cutout | 500 | 2 | 7 ± 1.4 | 0.9 ± 0.071 |" in text


def test_only_evaluation_metrics_are_drawn(tmp_path):
    _write_runs(tmp_path, HISTORIES)
    runs = ablation.plan([ablation.parse_sweep(SWEEP)], seeds=2)
    text = curves.write_curves(str(tmp_path), runs, ["augment.policy"], ["d_loss", "fid"])
    assert text.splitlines()[0] == "| augment.policy | step | seeds | fid |"
    assert "| none | 100 |" not in text  # the training row of step 100 is not an evaluation


def test_runs_without_evaluations_draw_nothing(tmp_path):
    _write_runs(tmp_path, {("none", 0): [{"step": 100, "d_loss": 0.5}]})
    runs = ablation.plan([ablation.parse_sweep("augment.policy=none")], seeds=1)
    assert curves.write_curves(str(tmp_path), runs, ["augment.policy"], ["fid"]) == ""
    assert not (tmp_path / "curves.png").exists()


def test_ablate_puts_the_curves_in_the_page(tmp_path):
    workdir, page = tmp_path / "abl", tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    _write_runs(workdir, HISTORIES)
    result = run_module(
        "experiments.ablate",
        "--config=mnist_cgan_1k",
        f"--workdir={workdir}",
        f"--sweep={SWEEP}",
        "--seeds=2",
        "--collect_only",
        f"--results_page={page}",
        "--results_section=limited",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = page.read_text()
    assert "| augment.policy | runs | diverged | fid | class_accuracy |" in text  # eval metrics
    assert "![evaluation curves](results_limited.png)" in text
    assert "| none | 1000 | 2 | 22 ± 2.8 | 0.7 |" in text
    chart = np.asarray(Image.open(page.parent / "results_limited.png"))
    assert chart.ndim == 3 and chart.shape[0] > 100 and chart.std() > 0
    assert (workdir / "curves.md").read_text() in text
