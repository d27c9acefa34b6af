"""The results page: sections replaced in place, provenance kept from the first invocation, the
table beside published numbers, and the `experiments.results` command."""

import csv
import json

import numpy as np
import pytest
from helpers import run_module

from gan_jax.errors import UserError
from gan_jax.tools import results


def test_write_section_replaces_only_its_own_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nprose before\n")
    results.write_section(str(page), "a", "first A")
    results.write_section(str(page), "b", "B text")
    results.write_section(str(page), "a", "second A\nline 2")
    text = page.read_text()
    assert text == (
        "# Title\n\nprose before\n\n"
        "<!-- results:a -->\nsecond A\nline 2\n<!-- /results:a -->\n\n"
        "<!-- results:b -->\nB text\n<!-- /results:b -->\n"
    )
    with pytest.raises(ValueError):
        results.write_section(str(page), "bad name", "x")


def test_provenance_is_recorded_once(tmp_path):
    first = results.record_provenance(str(tmp_path), "python -m experiments.ablate A", ".")
    second = results.record_provenance(str(tmp_path), "python -m experiments.ablate B", ".")
    assert first == second == results.read_provenance(str(tmp_path))
    assert first["command"].endswith(" A") and "jax" in first["machine"]
    assert set(first) == {"command", "started", "code_version", "machine"}


def _write_ablation(workdir, values):
    """results.csv of a model.pack ablation: {label: [(modes, hq, kl), ...]} plus a metrics.json
    per run (for the finished date)."""
    rows = []
    for label, runs in values.items():
        for seed, (modes, hq, kl) in enumerate(runs):
            rows.append(
                {
                    "model.pack": label,
                    "seed": seed,
                    "status": "done",
                    "modes": modes,
                    "hq_fraction": hq,
                    "reverse_kl": kl,
                }
            )
            run_dir = workdir / f"{label}_{seed}"
            run_dir.mkdir(parents=True)
            (run_dir / "metrics.json").write_text(json.dumps({"modes": modes}))
    with open(workdir / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


VALUES = {
    "1": [(12, 0.95, 0.8), (14, 0.93, 0.7), (13, 0.94, 0.75)],
    "4[data.batch_size=400]": [(25, 0.90, 0.05), (24, 0.92, 0.07)],
}


def test_table_beside_published_numbers(tmp_path):
    _write_ablation(tmp_path, VALUES)
    rows = results.read_rows(str(tmp_path), ["model.pack"])
    text = results.ablation_section(
        str(tmp_path),
        rows,
        ["model.pack"],
        ["modes"],
        "grid",
        "pacgan_grid25",
        {"1": "GAN", "4": "PacGAN4"},
        {"command": "CMD", "code_version": "abc123", "machine": "M"},
    )
    hq = np.array([0.90, 0.92]) * 100
    gan_modes = np.array([12, 14, 13])
    assert f"| PacGAN4 | 2 | 24.5 ± 0.71 | {hq.mean():.1f} ± {hq.std(ddof=1):.1f}% |" in text
    assert f"| GAN | 3 | {gan_modes.mean():.3g} ± {gan_modes.std(ddof=1):.2g} |" in text
    assert "| 24.8 ± 0.2 | 93.6 ± 0.6% | 0.04 ± 0.01 |" in text  # PacGAN4, published
    assert "| VEEGAN | – | – | – | – | 24.6 | 40.0% | – |" in text
    order = [text.index(f"| {name} |") for name in ("GAN", "VEEGAN", "PacGAN2", "PacGAN4")]
    assert order == sorted(order)  # the published table's row order
    assert "| PacGAN2 | – | – | – | – | 23.8 ± 0.7 |" in text
    assert "CMD" in text and "`abc123`" in text and "- machine: M" in text
    with pytest.raises(UserError, match="unknown published table"):
        results.ablation_section(str(tmp_path), rows, ["model.pack"], [], "t", "nope", {}, {})


def test_results_command_writes_the_page(tmp_path):
    workdir = tmp_path / "abl"
    workdir.mkdir()
    _write_ablation(workdir, VALUES)
    page = tmp_path / "results.md"
    page.write_text("kept\n")
    args = [f"--workdir={workdir}", f"--page={page}", "--section=grid", "--fields=model.pack"]
    result = run_module("experiments.results", *args, "--command=python -m X", "--code_version=v1")
    assert result.returncode == 0, result.stderr[-2000:]
    text = page.read_text()
    assert text.startswith("kept\n\n<!-- results:grid -->\n### grid\n")
    assert "python -m X" in text and "`v1`" in text
    assert "| 4[data.batch_size=400] | 2 | 0 | 24.5 ± 0.71 |" in text
    bad = run_module("experiments.results", f"--workdir={tmp_path}", "--section=g", "--fields=x")
    assert bad.returncode == 2 and "results.csv does not exist" in bad.stderr


def test_ablate_collect_only_writes_the_page_without_training(tmp_path):
    workdir, page = tmp_path / "abl", tmp_path / "page.md"
    for pack, modes in (("1", 12.0), ("2", 20.0)):
        run_dir = workdir / f"model.pack={pack}_seed=0"
        run_dir.mkdir(parents=True)
        metrics = {"modes": modes, "hq_fraction": 0.9, "reverse_kl": 0.5}
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
    result = run_module(
        "experiments.ablate",
        "--config=ring8",
        f"--workdir={workdir}",
        "--sweep=model.pack=1,2,4",
        "--seeds=1",
        "--collect_only",
        f"--results_page={page}",
        "--results_section=pack",
        "--published=pacgan_ring8",
        "--labels=1:GAN,2:PacGAN2,4:PacGAN4",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (workdir / "model.pack=4_seed=0").exists()  # nothing trained
    text = page.read_text()
    assert "| GAN | 1 | 12 ± 0 | 90.0 ± 0.0% |" in text
    assert "| PacGAN4 | 0 | – | – | – | 7.8 ± 0.1 |" in text


def test_pages_show_commands_without_the_machines_paths():
    from gan_jax.tools.results import provenance_lines, shareable

    command = (
        "python -m experiments.ablate --workdir=/home/me/runs/abl "
        "--config.data.source=npz:/data/sets/mnist.npz --config.data.source=folder:~/faces"
    )
    assert shareable(command) == (
        "python -m experiments.ablate --workdir=runs/abl "
        "--config.data.source=npz:PATH/mnist.npz --config.data.source=folder:PATH/faces"
    )
    assert shareable("python -m x --workdir=runs/abl") == "python -m x --workdir=runs/abl"
    assert shareable("`data.source=npz:/d/mnist.npz`, `seed=0`") == (
        "`data.source=npz:PATH/mnist.npz`, `seed=0`"
    )
    assert "/home/me" not in provenance_lines({"command": command}, "today")
