"""End to end: every config trains tiny; resumed runs equal uninterrupted ones; outputs on disk."""

import json
import os

import jax
import numpy as np
import pytest
from helpers import CONFIGS, image_source, tiny_config, write_npz

from gan_jax.errors import ConfigError, DataError
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.runs.restore import read_run_files
from gan_jax.training import parallel
from gan_jax.training.gan import build_spec, create_state, train_and_evaluate


@pytest.mark.parametrize("name", CONFIGS)
def test_every_config_runs_tiny(name, tmp_path):
    overrides = {}
    if name not in ("ring8", "grid25"):
        overrides["data.source"] = image_source(name, tmp_path)
    config = tiny_config(name, **overrides)
    metrics = train_and_evaluate(config, str(tmp_path / "run"))
    assert metrics["step"] == 2
    assert np.isfinite(metrics["d_loss"]) and np.isfinite(metrics["g_loss"])
    run = tmp_path / "run"
    assert (run / "samples" / "step_000002.png").exists()
    assert json.loads((run / "metrics.json").read_text())["step"] == 2
    assert read_run_files(str(run))[0].loss == config.loss
    assert os.listdir(run / "checkpoints") == ["2"]
    if name in ("ring8", "grid25"):
        assert {"modes", "hq_fraction", "reverse_kl"} <= set(metrics)


def _final_state(config, workdir):
    from gan_jax.data import make_source

    source = make_source(config.data)
    template = create_state(build_spec(config, source.data_shape), source.data_shape, config.seed)
    return jax.device_get(Checkpointer(str(workdir), 3).restore(template))


@pytest.mark.parametrize("steps_per_dispatch", [1, 2])
def test_interrupted_run_resumes_to_the_same_parameters(tmp_path, monkeypatch, steps_per_dispatch):
    overrides = {
        "train.num_steps": 6,
        "train.checkpoint_every": 2,
        "train.log_every": 2,
        "train.sample_every": 6,
        "train.steps_per_dispatch": steps_per_dispatch,
    }
    config = tiny_config("ring8", **overrides)  # linear lr decay: the schedule must resume too
    train_and_evaluate(config, str(tmp_path / "straight"))

    calls = {"n": 0}
    real_step = parallel.Runner.step

    def crashing_step(self, *args):
        calls["n"] += 1
        if calls["n"] * steps_per_dispatch > 5:
            raise KeyboardInterrupt  # dies during step 6, after the step-4 checkpoint
        return real_step(self, *args)

    monkeypatch.setattr(parallel.Runner, "step", crashing_step)
    with pytest.raises(KeyboardInterrupt):
        train_and_evaluate(config, str(tmp_path / "resumed"))
    monkeypatch.setattr(parallel.Runner, "step", real_step)
    assert Checkpointer(str(tmp_path / "resumed"), 3).latest_step() == 4
    train_and_evaluate(config, str(tmp_path / "resumed"))

    a = _final_state(config, tmp_path / "straight")
    b = _final_state(config, tmp_path / "resumed")
    assert int(a.step) == int(b.step) == 6
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_rerun_of_a_finished_run_does_nothing(tmp_path):
    config = tiny_config("ring8")
    first = train_and_evaluate(config, str(tmp_path))
    again = train_and_evaluate(config, str(tmp_path))
    assert again == json.loads((tmp_path / "metrics.json").read_text())
    assert again["step"] == first["step"]


def test_pmap_mode_trains_and_checkpoints(tmp_path):
    config = tiny_config(
        "mnist_cgan",
        parallel="pmap",
        num_devices=2,
        **{"data.source": image_source("mnist_cgan", tmp_path)},
    )
    metrics = train_and_evaluate(config, str(tmp_path / "run"))
    assert metrics["step"] == 2
    state = _final_state(config, tmp_path / "run")
    assert int(state.step) == 2


def test_user_errors(tmp_path):
    with pytest.raises(ConfigError, match="not divisible by the 2 devices"):
        train_and_evaluate(
            tiny_config("ring8", num_devices=2, **{"data.batch_size": 7}), str(tmp_path / "a")
        )
    with pytest.raises(ConfigError, match="only 2"):
        train_and_evaluate(tiny_config("ring8", num_devices=5), str(tmp_path / "b"))
    with pytest.raises(DataError, match="has no labels"):
        src = write_npz(tmp_path / "nolabels.npz", (28, 28, 1))
        train_and_evaluate(tiny_config("mnist_cgan", **{"data.source": src}), str(tmp_path / "c"))
    with pytest.raises(ConfigError, match="steps_per_dispatch"):
        train_and_evaluate(
            tiny_config("ring8", **{"train.steps_per_dispatch": 3}), str(tmp_path / "d")
        )
    with pytest.raises(DataError, match="does not exist"):
        train_and_evaluate(
            tiny_config("ring8", **{"data.source": "npz:/nonexistent.npz"}), str(tmp_path / "e")
        )
    assert not (tmp_path / "a").exists()  # a rejected config leaves nothing behind
