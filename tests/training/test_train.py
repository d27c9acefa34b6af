"""End to end: every config trains tiny (both networks move); pmap ends where 1 device does;
resumed runs equal uninterrupted ones; outputs on disk."""

import json
import os
import shutil
import time

import jax
import numpy as np
import pytest
from helpers import (
    CONFIGS,
    assert_trained,
    gan_initial_state,
    image_source,
    tiny_config,
    write_npz,
)

from gan_jax.errors import ConfigError, DataError
from gan_jax.platform.files import finite_or_none
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.runs.restore import read_run_files
from gan_jax.tasks.gan import build_spec, create_state, train_and_evaluate
from gan_jax.training import parallel


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
    assert_trained(run, gan_initial_state(config))


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


def test_bit_exact_resume_with_batchnorm_ema_regularizer_and_n_critic(tmp_path, monkeypatch):
    """A tiny DCGAN (BatchNorm in G) on generated images with flips, EMA, lazy R1, adaptive L2 and
    n_critic=2: 4 steps straight, and the same run resumed from its step-2 checkpoint, end with
    every checkpoint leaf bit-identical. (R1 needs D without BatchNorm to be exact.)"""
    config = tiny_config(
        "mnist_dcgan",
        **{
            "data.source": write_npz(tmp_path / "digits.npz", (28, 28, 1), n=24),
            "data.flip": True,
            "train.num_steps": 4,
            "train.n_critic": 2,
            "train.log_every": 2,
            "train.sample_every": 4,
            "stabilizers.ema_decay": 0.9,
            "stabilizers.regularizer": "r1",
            "stabilizers.regularizer_interval": 2,
            "stabilizers.d_batchnorm": False,
            "stabilizers.adaptive_l2": True,
            "stabilizers.l2_band_low": 0.01,  # below G's loss: the weight rises every step
            "stabilizers.l2_band_high": 0.02,
            "stabilizers.l2_step": 1e-3,
        },
    )
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train_and_evaluate(config, str(straight))
    assert sorted(os.listdir(straight / "checkpoints")) == ["2", "4"]
    # The run as if killed after its step-2 checkpoint.
    shutil.copytree(straight, resumed)
    shutil.rmtree(resumed / "checkpoints" / "4")
    os.remove(resumed / "metrics.json")

    calls = []
    real_step = parallel.Runner.step

    def counting_step(self, *args):
        calls.append(1)
        return real_step(self, *args)

    monkeypatch.setattr(parallel.Runner, "step", counting_step)
    train_and_evaluate(config, str(resumed))
    assert len(calls) == 2  # steps 3 and 4 only: it resumed, it did not start over

    a = _final_state(config, straight)
    b = _final_state(config, resumed)
    assert int(a.step) == int(b.step) == 4
    assert a.g_batch_stats and a.g_ema_params and float(a.d_l2_weight) == pytest.approx(4e-3)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """ring8:tiny trained 6 steps, a checkpoint every 2 steps, keeping the newest 2."""
    workdir = tmp_path_factory.mktemp("finished")
    config = tiny_config(
        "ring8",
        **{
            "train.num_steps": 6,
            "train.checkpoint_every": 2,
            "train.keep_checkpoints": 2,
            "train.log_every": 2,
            "train.sample_every": 6,
        },
    )
    metrics = train_and_evaluate(config, str(workdir))
    return config, workdir, metrics


def _snapshot(workdir):
    """{relative path: (mtime in ns, bytes)} of every file under `workdir`."""
    return {
        str(p.relative_to(workdir)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(workdir.rglob("*"))
        if p.is_file()
    }


def test_keep_checkpoints_keeps_the_newest(finished_run):
    _, workdir, metrics = finished_run
    assert metrics["step"] == 6
    assert sorted(os.listdir(workdir / "checkpoints"), key=int) == ["4", "6"]  # 2 and 4 saved too


def test_rerun_of_a_finished_run_does_nothing(finished_run):
    config, workdir, first = finished_run
    before = _snapshot(workdir)
    time.sleep(0.01)
    again = train_and_evaluate(config, str(workdir))
    after = _snapshot(workdir)
    assert again == json.loads((workdir / "metrics.json").read_text())
    assert again == finite_or_none(first)  # metrics.json stores inf (reverse KL) as null
    assert sorted(after) == sorted(before)  # no file added or removed
    assert any(name.startswith("checkpoints/6/") for name in after)
    for name, (mtime, data) in before.items():
        assert after[name] == (mtime, data), f"{name} was rewritten"


def test_rerun_of_a_finished_run_with_another_config_keeps_its_run_files(finished_run, tmp_path):
    config, workdir, first = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy)
    before = _snapshot(copy)
    time.sleep(0.01)
    other = tiny_config("ring8", loss="hinge", **{"train.num_steps": 6})
    assert train_and_evaluate(other, str(copy)) == finite_or_none(first)  # nothing trained
    assert _snapshot(copy) == before  # config.json still describes the checkpoints


def test_pmap_mode_trains_to_the_one_device_parameters(tmp_path):
    """A conditional image GAN under pmap on 2 devices ends where the 1-device run ends (an MLP:
    no BatchNorm, which pmap computes per device)."""
    source = image_source("mnist_mlp", tmp_path)
    states = {}
    for parallel_mode, devices in (("pmap", 2), ("sharded", 1)):
        config = tiny_config(
            "mnist_mlp",
            parallel=parallel_mode,
            num_devices=devices,
            **{"data.source": source, "model.num_classes": 10},
        )
        workdir = tmp_path / parallel_mode
        assert train_and_evaluate(config, str(workdir))["step"] == 2
        states[parallel_mode] = _final_state(config, workdir)
    assert_trained(tmp_path / "pmap", gan_initial_state(config))
    pmap, one = states["pmap"], states["sharded"]
    assert int(pmap.step) == int(one.step) == 2
    for net in ("g_params", "d_params", "g_opt_state", "d_opt_state"):
        leaves = zip(
            jax.tree.leaves(getattr(pmap, net)), jax.tree.leaves(getattr(one, net)), strict=True
        )
        for x, y in leaves:
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=net)


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
