"""`python -m experiments.run`: config resolution, one-line errors with exit status 2, kill -9
and resume."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from helpers import CONFIGS, ROOT, run_module

from experiments import cli


def run_cli(*args, env=None, timeout=240):
    return run_module("experiments.run", *args, env=env, timeout=timeout)


def test_config_names_resolve_to_files():
    path = cli.resolve_config_path("ring8")
    assert path == os.path.join(cli.CONFIGS_DIR, "ring8.py")
    assert cli.resolve_config_path("celeba64:tiny").endswith("celeba64.py:tiny")
    explicit = "experiments/configs/mnist_dcgan.py:tiny"
    assert cli.resolve_config_path(explicit) == explicit
    assert cli.resolve_argv(["x", "--config", "ring8", "--config.loss=hinge"])[2].endswith(
        "ring8.py"
    )
    assert set(cli.config_names()) >= set(CONFIGS)


def test_every_config_task_has_a_task_class():
    """`experiments.run` trains every config: each config's `task` names a registered task class
    (a TaskBase with a generator export), and an unknown task is a one-line error."""
    import importlib

    from gan_jax import tasks
    from gan_jax.errors import ConfigError
    from gan_jax.tasks.base import TaskBase

    for name in cli.config_names():
        config = importlib.import_module(f"experiments.configs.{name}").get_config("tiny")
        assert issubclass(tasks.task_class(config.get("task")), TaskBase), name
    with pytest.raises(ConfigError, match="unknown config.task 'nosuch'; choose one of: .*progan"):
        tasks.task_class("nosuch")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--config=nope", "--workdir=W"], "unknown config 'nope'; choose one of: anime128"),
        (["--config=missing/file.py", "--workdir=W"], "config file 'missing/file.py' does not"),
        (["--config=ring8:bogus", "--workdir=W"], "unknown config variant 'bogus'"),
        (["--config=ring8:tiny", "--config.nope=1", "--workdir=W"], "invalid config override"),
        (["--config=ring8:tiny", "--config.train.num_steps=abc", "--workdir=W"], "num_steps"),
        (["--config=ring8:tiny"], "--workdir"),
    ],
)
def test_flag_errors_are_one_line_with_status_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "override, message",
    [
        ("--config.loss=foo", "unknown loss 'foo'; choose one of: bce, bce_minimax"),
        ("--config.data.source=npz:/no/such.npz", "npz file '/no/such.npz' does not exist"),
        ("--config.parallel=dp", "config.parallel='dp' is not valid"),
        ("--config.data.source=tfds:mnist", "TFDS dataset 'mnist' is not prepared"),
    ],
)
def test_config_errors_are_one_line_with_status_2(override, message, tmp_path):
    env = {"TFDS_DATA_DIR": str(tmp_path / "tfds")}  # empty: the dataset is not prepared
    started = time.time()
    result = run_cli("--config=ring8:tiny", override, f"--workdir={tmp_path / 'w'}", env=env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert time.time() - started < 60  # fails fast, no download retries


@pytest.mark.parametrize(
    "config, overrides, message",
    [
        (
            "celeba64:tiny",
            ["--config.model.d_maxout=5"],
            "config.model.d_maxout=5 belongs to model.name='mlp', not 'dcgan'; remove it",
        ),
        # a family switch on the command line unsets the fields the file set for its family,
        # but a field the command line sets for another family is still refused
        (
            "mnist_mlp:tiny",
            ["--config.model.name=dcgan", "--config.model.activation=relu"],
            "config.model.activation='relu' belongs to model.name='mlp', not 'dcgan'",
        ),
        (
            "mnist_mlp:tiny",
            ["--config.model.name=dcgan", "--config.data.source=npz:/no/x.npz"],
            "npz file '/no/x.npz' does not exist",
        ),
    ],
)
def test_model_family_fields(config, overrides, message, tmp_path):
    result = run_cli(f"--config={config}", *overrides, f"--workdir={tmp_path / 'w'}")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error:" in line]) == 1
    if "npz" in message:  # the switch itself went through, unsetting the MLP's num_layers
        assert "model.name=dcgan: unset the config file's ['num_layers']" in result.stderr
    assert not (tmp_path / "w").exists()


def test_kill_9_then_rerun_resumes_and_finishes(tmp_path):
    workdir = tmp_path / "run"
    args = [
        "--config=ring8",
        f"--workdir={workdir}",
        "--config.train.num_steps=2000",
        "--config.train.steps_per_dispatch=100",
        "--config.train.checkpoint_every=100",
        "--config.train.log_every=100",
        "--config.train.sample_every=2000",
    ]
    environ = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.run", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    ckpts = workdir / "checkpoints"
    while time.time() < deadline and not (
        ckpts.exists() and any(p.isdigit() for p in os.listdir(ckpts))
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (workdir / "metrics.json").exists(), "run finished before it could be killed"

    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "Resumed from step" in result.stderr
    assert json.loads((workdir / "metrics.json").read_text())["step"] == 2000


def test_renamed_config_fields_are_rewritten_with_a_warning(capsys):
    from experiments.cli import resolve_argv
    from gan_jax.config import RENAMED, base_config

    argv = ["run", "--config.ema_decay=0.5", "--config.balance.skip_margin", "--config.loss=bce"]
    out = resolve_argv(argv)
    assert out == [
        "run",
        "--config.stabilizers.ema_decay=0.5",
        "--config.stabilizers.skip_margin",
        "--config.loss=bce",
    ]
    err = capsys.readouterr().err
    assert "--config.ema_decay is now --config.stabilizers.ema_decay" in err
    assert "balance.skip_margin is now --config.stabilizers.skip_margin" in err
    fields = base_config().stabilizers
    added = {"skip_rule", "g_regularizer", "g_regularizer_weight", "g_regularizer_interval"}
    assert set(fields) - {new.split(".")[1] for new in RENAMED.values()} == added


def test_console_is_clean_and_steps_per_second_is_a_rate(tmp_path):
    """Default console: `HH:MM:SS message` lines only, no library INFO (JAX's TPU probe, orbax),
    and the progress line's steps/s is a real rate even with 25 steps per dispatch (feeding the
    first dispatch, compile included, to the reporter gave millions of steps/s)."""
    result = run_module(
        "experiments.run",
        "--config=ring8:tiny",
        f"--workdir={tmp_path / 'run'}",
        "--config.train.steps_per_dispatch=25",
        "--config.train.num_steps=100",
        "--config.train.log_every=25",
        "--config.train.sample_every=100",
        "--config.train.checkpoint_every=100",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and all(re.match(r"\d\d:\d\d:\d\d \S", line) for line in lines), lines[:5]
    text = "\n".join(lines)
    assert "Unable to initialize backend" not in text and "orbax" not in text
    assert "[25] d_accuracy=" in text and "Trained steps 0..100" in text
    rates = [float(r) for r in re.findall(r" ([\d.]+) steps/s, ", text)]
    assert rates, text
    assert all(0 < r < 20_000 for r in rates), rates  # ring8:tiny runs ~10^2-10^3 steps/s


def test_divergence_exits_with_status_1_and_one_error_line_naming_the_step(tmp_path):
    # An absurd learning rate: D's first update blows up, so G's loss at step 0 is NaN. The health
    # check runs at step 2 (log_every) and must name the first bad step, not the current one.
    workdir = tmp_path / "run"
    result = run_cli(
        "--config=ring8:tiny",
        f"--workdir={workdir}",
        "--compilation_cache=",
        "--config.g_optimizer.lr=1e30",
        "--config.d_optimizer.lr=1e30",
        "--config.train.num_steps=4",
        "--config.train.log_every=2",
        "--config.train.checkpoint_every=2",
        "--config.train.sample_every=4",
    )
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert errors[0].startswith("error: the generator loss became non-finite at step 0 (latest ")
    assert errors[0].endswith("; lower the learning rates or try another loss")
    assert "Traceback" not in result.stderr
    assert not (workdir / "metrics.json").exists()  # what the ablation runner reads as "done"
    # The health check comes before the checkpoint of the same step: nothing NaN was saved.
    assert not [p for p in os.listdir(workdir / "checkpoints") if p.isdigit()]
