"""A run folder written before the restructure (tests/fixtures/legacy_run.md says how) still
loads with `gan_jax.load` and resumes with `experiments.run`, to the same numbers the old code
produced: the restructure kept behaviour, checkpoints and run files compatible."""

import json
import shutil

import numpy as np
from helpers import ROOT, run_module

import gan_jax
from gan_jax.config import migrate
from gan_jax.runs.restore import read_run_files

LEGACY = f"{ROOT}/tests/fixtures/legacy_run"
STABILIZERS = (
    "--config.stabilizers.ema_decay=0.9",
    "--config.stabilizers.regularizer=r1",
    "--config.stabilizers.regularizer_weight=1",
    "--config.stabilizers.d_batchnorm=false",
    "--config.stabilizers.skip_margin=0.1",
    "--config.stabilizers.skip_rule=both",  # the old runs' rule (`migrate` records it)
)


def _expected():
    with np.load(f"{ROOT}/tests/fixtures/legacy_run_expected.npz") as f:
        return {k: f[k] for k in f.files}


def test_old_run_files_are_migrated_to_the_stabilizers_block():
    with open(f"{LEGACY}/config.json") as f:
        old = json.load(f)
    assert "balance" in old and "regularizer" in old and "d_batchnorm" in old["model"]
    config, _ = read_run_files(LEGACY)
    st = config.stabilizers
    assert (st.ema_decay, st.regularizer, st.regularizer_weight) == (0.9, "r1", 1.0)
    assert (st.skip_margin, st.d_batchnorm, st.adaptive_l2) == (0.1, False, False)
    assert "balance" not in config and "regularizer" not in config and "ema_decay" not in config
    assert "d_batchnorm" not in config.model
    assert migrate(config.to_dict()) == config.to_dict()  # idempotent on a new-style config


def test_old_run_loads_and_samples_as_before():
    g = gan_jax.load(LEGACY)
    assert g.step == 2
    np.testing.assert_allclose(g.sample(16, seed=0), _expected()["samples_step2"], rtol=1e-6)


def test_old_run_resumes_to_the_numbers_the_old_code_produced(tmp_path):
    workdir = tmp_path / "legacy"
    shutil.copytree(LEGACY, workdir)
    result = run_module(
        "experiments.run",
        "--config=ring8:tiny",
        f"--workdir={workdir}",
        "--config.train.num_steps=4",
        *STABILIZERS,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Config changed" not in result.stderr, result.stderr[-3000:]
    with open(workdir / "metrics.json") as f:
        got = json.load(f)
    with open(f"{ROOT}/tests/fixtures/legacy_run_resumed_metrics.json") as f:
        want = json.load(f)
    assert set(got) - set(want) == {"d_accuracy"}  # the one metric added since
    for key, value in want.items():
        if value is None:
            assert got[key] is None, key
        else:
            np.testing.assert_allclose(got[key], value, rtol=1e-5, err_msg=key)
    g = gan_jax.load(workdir)
    assert g.step == 4
    np.testing.assert_allclose(g.sample(16, seed=0), _expected()["samples_step4"], rtol=1e-5)
