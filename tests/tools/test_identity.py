"""`experiments.bench.identity`: the checkpoint digest sees one changed element and ignores how
the files were written, compare names what differs and fails, and the harness gives ring8 the
same digest twice (so a difference between trees is the code's, not the harness's)."""

import json
import os

import numpy as np
import orbax.checkpoint as ocp
from helpers import ROOT

from experiments.bench import identity


def _text(path):
    with open(path) as f:
        return f.read()


def _checkpoint(workdir, tree, step=2):
    """A run folder with `tree` as its final checkpoint, laid out as a training run's."""
    path = os.path.join(workdir, "checkpoints", str(step), "default")
    ocp.PyTreeCheckpointer().save(path, tree)
    with open(os.path.join(workdir, "metrics.json"), "w") as f:
        json.dump({"step": step, "g_loss": 0.5}, f)
    return workdir


def _state(value=0.0):
    kernel = np.arange(6, dtype=np.float32).reshape(2, 3)
    kernel[1, 2] += value
    return {"g_params": {"kernel": kernel, "bias": np.zeros(3, np.float32)}, "step": np.int32(2)}


def test_digest_sees_one_element_and_ignores_rewrites(tmp_path):
    first = identity.digest_workdir(_checkpoint(str(tmp_path / "a"), _state()))
    again = identity.digest_workdir(_checkpoint(str(tmp_path / "b"), _state()))
    changed = identity.digest_workdir(_checkpoint(str(tmp_path / "c"), _state(1e-6)))
    assert first["digest"] == again["digest"] and first["arrays"] == again["arrays"]
    assert first["metrics"] == {"step": 2, "g_loss": 0.5}
    assert changed["digest"] != first["digest"]
    differing = [p for p in first["arrays"] if first["arrays"][p] != changed["arrays"][p]]
    assert differing == ["/checkpoints/2/default/g_params/kernel"]
    # Same bytes under another dtype or shape are another array.
    base, _ = identity.tree_hash({"x": np.zeros(4, np.float32)})
    assert base != identity.tree_hash({"x": np.zeros(4, np.int32)})[0]
    assert base != identity.tree_hash({"x": np.zeros((2, 2), np.float32)})[0]


def _result(path, entries, skips=None):
    with open(path, "w") as f:
        json.dump({"entries": entries, "skips": skips or {}, "failures": {}, "env": {}}, f)
    return str(path)


def test_compare_names_the_differing_entry_and_fails(tmp_path, capsys):
    same = {"digest": "d1", "arrays": {"/k": "float32 [2] aa"}, "metrics": {"g_loss": 0.5}}
    other = {"digest": "d2", "arrays": {"/k": "float32 [2] bb"}, "metrics": {"g_loss": 0.25}}
    a = _result(tmp_path / "a.json", {"ring8/1dev": same, "grid25/pmap": same, "old/1dev": same})
    b = _result(
        tmp_path / "b.json",
        {"ring8/1dev": same, "grid25/pmap": other, "new/1dev": same},
        skips={"vae/pmap": "the tree rejects it"},
    )
    assert identity.main(["compare", a, b]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS grid25/pmap" in out and "DIFFERS ring8" not in out
    assert "/k: float32 [2] aa vs float32 [2] bb" in out and "g_loss: 0.5 vs 0.25" in out
    assert "only in A: old/1dev" in out and "only in B: new/1dev" in out
    assert "vae/pmap: the tree rejects it" in out
    assert identity.main(["compare", a, a]) == 0


def test_harness_digests_a_real_run_and_compares_it(tmp_path):
    """One real pass (ring8, 1 device): the entry holds the final step's arrays and metrics and
    the pinned environment; a pass equals itself. (Training is deterministic: the resume tests
    show it; the digest's sensitivity is the test above.)"""
    out = str(tmp_path / "run.json")
    assert identity.main(["--tree", ROOT, "--out", out, "--only=^ring8$", "--modes=1dev"]) == 0
    first = json.loads(_text(out))
    entry = first["entries"]["ring8/1dev"]
    assert len(entry["digest"]) == 64 and entry["metrics"]["step"] == 2
    assert "/checkpoints/2/default/step" in entry["arrays"]
    assert first["env"]["XLA_FLAGS"] == identity.XLA_FLAGS and first["env"]["commit"]
    assert identity.main(["compare", out, out]) == 0
