"""The ablation runner: sweep parsing, planning, statistics, and an end-to-end image ablation."""

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

from gan_jax.errors import ConfigError
from gan_jax.tools import ablation


def test_parse_sweep_with_bracketed_overrides():
    field, values = ablation.parse_sweep(
        "loss=bce,wgan[regularizer.name=gp;train.n_critic=5],hinge"
    )
    assert field == "loss"
    assert [v.label for v in values] == [
        "bce",
        "wgan[regularizer.name=gp;train.n_critic=5]",
        "hinge",
    ]
    assert values[1].overrides == (
        "--config.loss=wgan",
        "--config.regularizer.name=gp",
        "--config.train.n_critic=5",
    )
    for bad in ["loss", "loss=", "=bce", "loss=bce,wgan[regularizer.name]"]:
        with pytest.raises(ConfigError):
            ablation.parse_sweep(bad)


def test_plan_is_the_cross_product_with_unique_names():
    runs = ablation.plan(
        [
            ablation.parse_sweep("loss=bce,hinge"),
            ablation.parse_sweep("g_optimizer.lr=1e-4,2e-4,5e-4"),
        ],
        seeds=2,
    )
    assert len(runs) == 2 * 3 * 2
    assert len({r.name for r in runs}) == len(runs)
    r = runs[-1]
    assert r.labels == (("loss", "hinge"), ("g_optimizer.lr", "5e-4")) and r.seed == 1
    assert "--config.g_optimizer.lr=5e-4" in r.overrides


def test_summary_statistics_are_mean_and_sample_std():
    rows = [
        {
            "loss": "bce",
            "seed": 0,
            "status": "done",
            "modes": 8.0,
            "hq_fraction": 0.9,
            "reverse_kl": 0.1,
        },
        {
            "loss": "bce",
            "seed": 1,
            "status": "done",
            "modes": 6.0,
            "hq_fraction": 0.7,
            "reverse_kl": None,
        },
        {"loss": "bce", "seed": 2, "status": "diverged"},
    ]
    (entry,) = ablation.summarize(rows, ["loss"], ["modes", "hq_fraction", "reverse_kl"])
    assert (entry["runs"], entry["done"], entry["diverged"]) == (3, 2, 1)
    mean, std, nonfinite = entry["modes"]
    assert mean == 7.0 and std == pytest.approx(np.std([8, 6], ddof=1)) and nonfinite == 0
    assert entry["reverse_kl"] == (0.1, 0.0, 1)
    table = ablation.markdown_table([entry], ["loss"], ["modes", "hq_fraction", "reverse_kl"])
    assert "| bce | 3 | 1 | 7 ± 1.4 | 80.0 ± 14.1% | 0.1 ± 0 (+1 non-finite) |" in table


def _fake_trainer(monkeypatch, returncode, message):
    """`ablation.execute`'s `python -m experiments.run` replaced by a process that prints
    `message` and exits with `returncode` (1 is what a diverged run exits with; see
    tests/experiments/test_cli.py)."""
    calls = []

    def run(cmd, stdout, stderr, text):
        calls.append(cmd)
        stdout.write(f"I1129 training...\n{message}\n")
        return subprocess.CompletedProcess(cmd, returncode)

    monkeypatch.setattr(ablation.subprocess, "run", run)
    return calls


def test_diverged_run_gets_its_own_status_and_table_column(tmp_path, monkeypatch):
    (bce,) = ablation.plan([ablation.parse_sweep("loss=bce")], seeds=1)
    hinge0, hinge1 = ablation.plan([ablation.parse_sweep("loss=hinge")], seeds=2)
    dirs = {run: str(tmp_path / run.name) for run in (bce, hinge0, hinge1)}
    for run in (bce, hinge0):  # finished runs: their metrics.json
        os.makedirs(dirs[run])
        with open(os.path.join(dirs[run], "metrics.json"), "w") as f:
            f.write('{"step": 4, "d_loss": %s, "g_loss": 1.0}' % (0.5 if run is bce else 0.25))

    calls = _fake_trainer(monkeypatch, 1, "error: the generator loss became non-finite at step 3")
    assert ablation.execute(hinge1, dirs[hinge1], "ring8:tiny", ["--config.x=1"]) == "diverged"
    assert calls[0][1:4] == ["-m", "experiments.run", "--config=ring8:tiny"]
    assert calls[0][-2:] == ["--config.loss=hinge", "--config.seed=1"]
    with open(os.path.join(dirs[hinge1], ablation.STATUS_FILE)) as f:
        assert json.load(f) == {"status": "diverged", "returncode": 1}
    assert ablation.run_status(dirs[hinge1]) == "diverged"  # not retried by a rerun

    rows = ablation.collect(str(tmp_path), [bce, hinge0, hinge1])
    assert [r["status"] for r in rows] == ["done", "done", "diverged"]
    assert "d_loss" not in rows[2]
    table = ablation.write_results(str(tmp_path), rows, ["loss"], ["d_loss"])
    assert "| bce | 1 | 0 | 0.5 ± 0 |" in table
    assert "| hinge | 2 | 1 | 0.25 ± 0 |" in table  # the diverged run counted, not averaged
    with open(tmp_path / "results.csv") as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["done", "done", "diverged"]


@pytest.mark.parametrize("returncode, status", [(-9, "failed"), (0, "done")])
def test_killed_runs_are_failed_and_retried(tmp_path, monkeypatch, returncode, status):
    (run,) = ablation.plan([ablation.parse_sweep("loss=bce")], seeds=1)
    _fake_trainer(monkeypatch, returncode, "")
    assert ablation.execute(run, str(tmp_path), "ring8:tiny", []) == status
    written = os.path.exists(tmp_path / ablation.STATUS_FILE)
    assert written == (status == "failed")
    # A crashed run is "failed": the ablation's rerun trains it again (it is not done/diverged).
    assert ablation.run_status(str(tmp_path)) == ("failed" if status == "failed" else "new")


def test_user_error_in_a_run_is_raised_with_its_error_line(tmp_path, monkeypatch):
    (run,) = ablation.plan([ablation.parse_sweep("loss=bce")], seeds=1)
    _fake_trainer(monkeypatch, 2, "error: unknown loss 'nope'")
    with pytest.raises(ConfigError, match="^unknown loss 'nope'$"):
        ablation.execute(run, str(tmp_path), "ring8:tiny", [])


def _ablate(workdir, source):
    cmd = [
        sys.executable,
        "-m",
        "experiments.ablate",
        "--config=mnist_dcgan:tiny",
        "--sweep=loss=bce,hinge",
        "--seeds=2",
        "--jobs=2",
        f"--workdir={workdir}",
        f"--config.data.source={source}",
        "--config.train.num_steps=4",
        "--config.train.checkpoint_every=2",
        "--config.train.sample_every=4",
    ]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_image_ablation_end_to_end_and_resume(tmp_path):
    data = tmp_path / "digits.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x_train=rng.integers(0, 256, (32, 28, 28, 1), dtype=np.uint8))
    workdir = tmp_path / "abl"
    result = _ablate(workdir, f"npz:{data}")
    assert result.returncode == 0, result.stdout + result.stderr
    with open(workdir / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"done"}
    assert {(r["loss"], r["seed"]) for r in rows} == {
        ("bce", "0"),
        ("bce", "1"),
        ("hinge", "0"),
        ("hinge", "1"),
    }
    md = (workdir / "results.md").read_text()
    assert md.count("\n| bce |") == 1 and md.count("\n| hinge |") == 1
    assert (workdir / "results.png").exists()
    assert "| loss | runs | diverged |" in result.stdout

    # Interrupt one run after its step-2 checkpoint: only that run trains again, from step 2.
    victim = workdir / "loss=hinge_seed=1"
    os.remove(victim / "metrics.json")
    shutil.rmtree(victim / "checkpoints" / "4")
    finished = {
        p: os.path.getmtime(p / "metrics.json")
        for p in workdir.iterdir()
        if p.is_dir() and p != victim
    }
    result = _ablate(workdir, f"npz:{data}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 runs, 3 already finished" in result.stdout
    assert "Resumed from step 2" in (victim / "log.txt").read_text()
    assert (victim / "metrics.json").exists()
    assert all(os.path.getmtime(p / "metrics.json") == t for p, t in finished.items())


def test_user_error_stops_the_ablation_with_status_2(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "experiments.ablate",
        "--config=ring8:tiny",
        "--sweep=loss=nope,bce",
        "--seeds=2",
        f"--workdir={tmp_path}",
    ]
    result = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )
    assert result.returncode == 2
    assert "error: unknown loss 'nope'" in result.stderr
    assert not (tmp_path / "loss=bce_seed=1").exists()  # queued runs were not started
