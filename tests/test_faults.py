"""The fault catalog of issue 13 ("Reliability"): each numbered case, reproduced, with its new
behaviour asserted: the error (one line, no traceback, its exit status) and the run still
loadable and resumable afterwards, with nothing lost but the steps after the last save.

One tiny finished ring8 run (checkpoints at steps 2 and 4) is shared by the module and copied
per case; faults the process boundary does not matter for are injected in-process
(monkeypatched writers raising ENOSPC/EACCES: CI runs as root, where chmod does not make a
folder read-only). One subprocess: SIGTERM in the middle of `experiments.run`.
"""

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import types

import numpy as np
import pytest
from absl import flags
from helpers import ROOT, tiny_config
from ml_collections import config_flags

import gan_jax
from experiments import cli
from gan_jax.errors import (
    CheckpointError,
    DataError,
    Interrupted,
    WorkdirLocked,
)
from gan_jax.platform.lock import WorkdirLock
from gan_jax.platform.signals import StopRequest
from gan_jax.runs.restore import checkpoint_steps, read_subtrees
from gan_jax.runs.run_files import CONFIG_HISTORY
from gan_jax.tasks.gan import train_and_evaluate
from gan_jax.training.health import DeadRunWatch
from gan_jax.training.history import History

SCHEDULE = {
    "train.num_steps": 4,
    "train.log_every": 2,
    "train.sample_every": 4,
    "train.checkpoint_every": 2,
}


def ring8(**overrides):
    return tiny_config("ring8", **{**SCHEDULE, **overrides})


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished tiny ring8 run (checkpoints 2 and 4), trained under umask 027."""
    workdir = tmp_path_factory.mktemp("faults") / "run"
    old = os.umask(0o027)
    try:
        train_and_evaluate(ring8(), str(workdir))
    finally:
        os.umask(old)
    return workdir


@pytest.fixture
def run(finished_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy


def files_of(workdir) -> dict[str, bytes]:
    return {
        name: (workdir / name).read_bytes()
        for name in ("config.json", "model.json", "metrics.json", "history.jsonl")
    }


def one_error_line(capsys, code: int, body) -> str:
    """Run `body` under the CLI's error handling; return its one stderr line."""
    with pytest.raises(SystemExit) as exit_info, cli.exit_on_errors():
        body()
    assert exit_info.value.code == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def state_of(workdir, step):
    return read_subtrees(str(workdir), step, lambda tree: sorted(tree))


def assert_same_state(a, b):
    flat_a = {k: np.asarray(v) for k, v in _flatten(a)}
    flat_b = {k: np.asarray(v) for k, v in _flatten(b)}
    assert flat_a.keys() == flat_b.keys()
    for key in flat_a:
        np.testing.assert_array_equal(flat_a[key], flat_b[key], err_msg=key)


def _flatten(tree, prefix=""):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _flatten(v, f"{prefix}/{k}")
    else:
        yield prefix, tree


# 1. A failed resume damages the run.
def test_1_shape_changing_resume_is_refused_before_writing_anything(run, capsys):
    before = files_of(run)
    line = one_error_line(
        capsys,
        2,
        lambda: train_and_evaluate(ring8(**{"model.g_width": 16, "train.num_steps": 6}), run),
    )
    assert line.startswith(f"error: cannot resume {run} from step 4: the config changed (")
    assert "model.g_width 8 -> 16" in line and "g_params" in line
    assert files_of(run) == before and checkpoint_steps(str(run)) == [2, 4]
    assert gan_jax.load(run).step == 4  # still loadable

    # An allowed change: config.json keeps the first config, the history gets the change, and
    # gan_jax.load sees the config in force.
    train_and_evaluate(ring8(**{"g_optimizer.lr": 1e-3, "train.num_steps": 6}), run)
    assert (run / "config.json").read_bytes() == before["config.json"]
    rows = [json.loads(r) for r in (run / CONFIG_HISTORY).read_text().splitlines()]
    assert rows == [
        {"step": 4, "changes": {"g_optimizer.lr": [1e-4, 1e-3], "train.num_steps": [4, 6]}}
    ]
    assert gan_jax.load(run).config.g_optimizer.lr == 1e-3
    assert gan_jax.load(run, step=4).config.g_optimizer.lr == 1e-4


# 2. Preemption loses work: SIGTERM in a subprocess, SIGINT in-process.
def test_2_sigterm_saves_the_step_and_the_rerun_ends_bit_identical(tmp_path, caplog):
    overrides = {
        "train.num_steps": 200,
        "train.log_every": 4,
        "train.sample_every": 200,
        "train.checkpoint_every": 10,
    }
    workdir = tmp_path / "run"
    args = [f"--config.{k}={v}" for k, v in overrides.items()]
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_DISABLE_MOST_OPTIMIZATIONS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.run", "--config=ring8:tiny", f"--workdir={workdir}"]
        + ["--config.num_devices=1", "--compilation_cache=", *args],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in proc.stderr:  # stop it once step 12 is logged: mid-run, past a periodic save
        lines.append(line)
        if " [12] " in line:
            proc.send_signal(signal.SIGTERM)
            break
    lines += proc.stderr.readlines()
    assert proc.wait(timeout=120) == 143, "".join(lines[-20:])
    assert "Traceback" not in "".join(lines)
    last = lines[-1].strip()
    step = int(last.removeprefix("interrupted at step ").split(";")[0])
    assert last == f"interrupted at step {step}; checkpoint saved; rerun the same command to resume"
    assert 12 <= step < 200 and step in checkpoint_steps(str(workdir))

    caplog.set_level("INFO")
    train_and_evaluate(ring8(**overrides), str(workdir))  # the same config, in-process
    assert f"Resumed from step {step} " in caplog.text
    assert not (workdir / CONFIG_HISTORY).exists()  # nothing changed
    rows = [json.loads(r)["step"] for r in (workdir / "history.jsonl").read_text().splitlines()]
    assert rows == list(range(4, 201, 4)) + [200]  # + the final picture's

    reference = tmp_path / "uninterrupted"
    train_and_evaluate(ring8(**{**overrides, "train.log_every": 200}), str(reference))
    assert_same_state(state_of(workdir, 200), state_of(reference, 200))


@contextlib.contextmanager
def sigint_set_to(handler):
    """SIGINT handled by `handler` inside the block, whatever this process inherited (a script's
    background job inherits it ignored); what was there is put back afterwards."""
    inherited = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, inherited)


def ctrl_c_at_step_5(monkeypatch, seen):
    """Send this process SIGINT from the training loop at step 5, recording in `seen` the
    SIGINT and SIGTERM handlers in force there."""
    update = DeadRunWatch.update

    def at_step_5(self, step, metrics):
        if step == 5:
            seen.update(sigint=signal.getsignal(signal.SIGINT))
            seen.update(sigterm=signal.getsignal(signal.SIGTERM))
            os.kill(os.getpid(), signal.SIGINT)
        return update(self, step, metrics)

    monkeypatch.setattr(DeadRunWatch, "update", at_step_5)


def is_stop_request(handler) -> bool:
    return isinstance(getattr(handler, "__self__", None), StopRequest)


def test_2_sigint_stops_at_the_dispatch_with_a_checkpoint_and_status_130(run, monkeypatch, capsys):
    calls = []

    def sentinel(signum, frame):
        calls.append(signum)

    seen = {}
    ctrl_c_at_step_5(monkeypatch, seen)
    before = (run / "metrics.json").read_bytes()
    with sigint_set_to(sentinel):
        with pytest.raises(Interrupted) as info:
            train_and_evaluate(ring8(**{"train.num_steps": 10, "train.log_every": 1}), run)
        assert signal.getsignal(signal.SIGINT) is sentinel  # exactly what was there, back
    assert is_stop_request(seen["sigint"]) and is_stop_request(seen["sigterm"])
    assert calls == []  # the run caught it, not the handler found
    assert (info.value.step, info.value.exit_code) == (5, 130)
    assert max(checkpoint_steps(str(run))) == 5  # not a periodic step (checkpoint_every=2)
    assert (run / "metrics.json").read_bytes() == before  # not marked finished

    def rethrow():
        raise info.value

    line = one_error_line(capsys, 130, rethrow)
    assert line == "interrupted at step 5; checkpoint saved; rerun the same command to resume"


def test_2_a_run_started_with_sigint_ignored_ignores_ctrl_c(run, monkeypatch):
    seen = {}
    ctrl_c_at_step_5(monkeypatch, seen)
    with sigint_set_to(signal.SIG_IGN):
        result = train_and_evaluate(ring8(**{"train.num_steps": 10, "train.log_every": 1}), run)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert seen["sigint"] == signal.SIG_IGN  # no handler installed for it
    assert is_stop_request(seen["sigterm"])  # SIGTERM still stops it gracefully
    assert result["step"] == 10 and max(checkpoint_steps(str(run))) == 10


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_2_a_second_signal_reaches_the_handler_found_and_exit_restores_it(sig):
    calls = []

    def sentinel(signum, frame):
        calls.append(signum)

    inherited = signal.signal(sig, sentinel)
    try:
        with StopRequest() as stop:
            os.kill(os.getpid(), sig)
            assert stop.requested() and stop.signum == sig and calls == []
            os.kill(os.getpid(), sig)  # a stuck run can still be stopped
            assert calls == [sig]
        assert signal.getsignal(sig) is sentinel
    finally:
        signal.signal(sig, inherited)


def test_2_a_handler_python_cannot_put_back_is_left_alone(monkeypatch):
    # getsignal gives None for a handler installed outside Python (an embedding program's);
    # signal.signal(sig, None) would raise when the run ends.
    getsignal = signal.getsignal
    monkeypatch.setattr(
        signal, "getsignal", lambda s: None if s == signal.SIGTERM else getsignal(s)
    )
    found = getsignal(signal.SIGTERM)
    with StopRequest():
        assert getsignal(signal.SIGTERM) is found
    assert getsignal(signal.SIGTERM) is found


# 3. A corrupt newest checkpoint blocks resume and load.
def _damage(checkpoint, how):
    if how == "truncated":
        for folder, _, names in os.walk(checkpoint / "default"):
            for name in names:
                if os.sep + "d" in folder:  # the tensor data files
                    with open(os.path.join(folder, name), "r+b") as f:
                        f.truncate(8)
    else:
        (checkpoint / "default" / "_METADATA").write_bytes(b"")


@pytest.mark.parametrize("how", ["truncated", "empty_metadata"])
def test_3_load_skips_a_corrupt_newest_checkpoint_with_one_warning(run, how, caplog, capsys):
    _damage(run / "checkpoints" / "4", how)
    assert gan_jax.load(run).step == 2
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and str(run / "checkpoints" / "4") in warnings[0].getMessage()
    assert "Traceback" not in capsys.readouterr().err


def test_3_resume_skips_a_corrupt_newest_checkpoint_with_one_warning(run, caplog, capsys):
    _damage(run / "checkpoints" / "4", "truncated")

    train_and_evaluate(ring8(**{"train.num_steps": 6}), run)  # resumes from 2
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "resuming from step 2" in warnings[0]
    assert checkpoint_steps(str(run)) == [2, 4, 6]  # 4 trained again
    assert (run / "checkpoints_unreadable" / "4").is_dir()
    assert gan_jax.load(run).step == 6
    assert "Traceback" not in capsys.readouterr().err


def test_3_no_intact_checkpoint_is_one_line(run, capsys):
    for step in (2, 4):
        _damage(run / "checkpoints" / str(step), "truncated")
    line = one_error_line(capsys, 2, lambda: gan_jax.load(run))
    assert line.startswith(f"error: no checkpoint of {run} is readable")
    line = one_error_line(capsys, 2, lambda: gan_jax.load(run, step=4))
    assert line.startswith(f"error: checkpoint {run}/checkpoints/4 is unreadable (")
    line = one_error_line(
        capsys, 2, lambda: train_and_evaluate(ring8(**{"train.num_steps": 6}), run)
    )
    assert line.startswith(f"error: no checkpoint in {run}/checkpoints is readable")


# 4. RGBA / 5-channel data is accepted, trains, then crashes.
@pytest.mark.parametrize("channels, fix", [(4, "--config.data.channels=3"), (5, "convert")])
def test_4_channel_counts_are_checked_when_the_source_opens(tmp_path, channels, fix):
    path = tmp_path / "x.npz"
    np.savez(path, x_train=np.zeros((4, 8, 8, channels), np.uint8))
    config = ring8(**{"model.name": "mlp", "data.source": f"npz:{path}"})
    with pytest.raises(DataError, match=f"has {channels} channels per image.*{fix}"):
        train_and_evaluate(config, str(tmp_path / "w"))
    assert not (tmp_path / "w").exists()
    if channels == 4:
        config.data.channels = 3
        from gan_jax.data import make_source

        assert make_source(config.data).data_shape == (8, 8, 3)


# 5. Two processes on one workdir.
def test_5_second_process_gets_one_line_naming_the_holder(run, capsys, monkeypatch):
    with WorkdirLock(str(run)):  # this process plays the first run
        line = one_error_line(
            capsys, 2, lambda: train_and_evaluate(ring8(**{"train.num_steps": 6}), run)
        )
    assert line.startswith(f"error: {run} is in use by process {os.getpid()} on ")
    assert checkpoint_steps(str(run)) == [2, 4]

    # Where flock is unsupported the PID/host record is the lock: a dead holder is stale.
    def no_flock(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr("fcntl.flock", no_flock)
    record = {"host": socket.gethostname(), "pid": 1, "started": time.time()}  # pid 1 lives
    (run / ".lock").write_text(json.dumps(record))
    with pytest.raises(WorkdirLocked, match="in use by process 1 on"):
        WorkdirLock(str(run)).acquire()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    ).stdout
    (run / ".lock").write_text(json.dumps({**record, "pid": int(dead)}))
    with WorkdirLock(str(run)):
        assert json.loads((run / ".lock").read_text())["pid"] == os.getpid()


# 6. Run files are written with mode 0600.
def test_6_run_files_follow_the_umask(finished_run):
    for name in ("config.json", "model.json", "metrics.json", "history.jsonl", "loss_curves.png"):
        assert (finished_run / name).stat().st_mode & 0o777 == 0o640, name  # umask 027


# 7. Exit statuses: launch/single_host.sh restarts only the retryable ones.
@pytest.mark.parametrize("status, runs", [(0, 1), (1, 1), (2, 1), (3, 3), (143, 3), (137, 1)])
def test_7_single_host_retries_only_retryable_statuses(tmp_path, status, runs):
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho run >> {tmp_path / 'count'}\nexit {status}\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    env.update(MAX_RESTARTS="2", RESTART_DELAY="0")
    result = subprocess.run(
        ["bash", os.path.join(ROOT, "launch", "single_host.sh"), "ring8", "w"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == status
    assert len((tmp_path / "count").read_text().split()) == runs


# 8. Environment faults print tracebacks.
def test_8_disk_full_is_one_line_and_cleans_the_partial_checkpoint(run, capsys, monkeypatch):
    from gan_jax.runs.checkpoint import Checkpointer

    def full(self, step, state):
        (run / "checkpoints" / f"{step}.orbax-checkpoint-tmp-1234").mkdir()
        raise OSError(errno.ENOSPC, "No space left on device", str(run / "checkpoints"))

    monkeypatch.setattr(Checkpointer, "save", full)
    line = one_error_line(
        capsys, 3, lambda: train_and_evaluate(ring8(**{"train.num_steps": 6}), run)
    )
    assert line.startswith(f"error: no space left writing {run}/checkpoints (No space left")
    assert sorted(os.listdir(run / "checkpoints")) == ["2", "4"]  # no temporary folder left
    assert gan_jax.load(run).step == 4  # nothing lost but the steps after the last save


def test_8_read_only_workdir(run, capsys, monkeypatch):
    def read_only(self):
        raise PermissionError(errno.EROFS, "Read-only file system", self.path)

    monkeypatch.setattr(WorkdirLock, "acquire", read_only)
    before = files_of(run)
    assert train_and_evaluate(ring8(), run)["step"] == 4  # the no-op rerun of a finished run
    line = one_error_line(
        capsys, 3, lambda: train_and_evaluate(ring8(**{"train.num_steps": 6}), run)
    )
    assert line.startswith(f"error: cannot write {run}/.lock (Read-only file system)")
    assert files_of(run) == before


def test_8_workdir_that_is_a_file_and_config_file_errors(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x")
    line = one_error_line(capsys, 2, lambda: train_and_evaluate(ring8(), path))
    assert line == f"error: --workdir={path} is a file; pass a folder (new or a run's)"

    bad = tmp_path / "bad.py"
    bad.write_text("def get_config(:\n")
    values = flags.FlagValues()
    config_flags.DEFINE_config_file("config", None, "", flag_values=values, lock_config=True)
    with pytest.raises(SystemExit) as info:
        cli.parse_flags(["prog", f"--config={bad}"], values)
    assert info.value.code == 2
    assert (
        capsys.readouterr().err
        == f"error: config file {bad} line 1: invalid syntax; fix the file\n"
    )


def test_8_evaluate_on_a_read_only_run_fails_before_scoring(run, capsys, monkeypatch):
    from experiments import evaluate

    def read_only(directory):
        raise PermissionError(errno.EACCES, "Permission denied", str(directory))

    def never(*args):
        raise AssertionError("scored a run it cannot write to")

    monkeypatch.setattr(evaluate, "check_writable", read_only)
    monkeypatch.setattr("gan_jax.evaluation.offline.evaluate_checkpoint", never)
    for name in ("_STEP", "_METRICS", "_NUM", "_FEATURES", "_JSON", "_PAGE", "_SECTION", "_TITLE"):
        monkeypatch.setattr(evaluate, name, types.SimpleNamespace(value=None))
    monkeypatch.setattr(evaluate, "_WORKDIR", types.SimpleNamespace(value=str(run)))
    line = one_error_line(capsys, 3, lambda: evaluate.main(["evaluate"]))
    assert line.startswith(f"error: cannot write {run}/eval (Permission denied)")


# 9. Messages.
def test_9_unknown_field_message_is_readable():
    # What ml_collections raises for --config.data.batchsize=3: an AttributeError made from
    # the str() (a repr) of the KeyError naming the field.
    reason = '\'batchsize\'\nDid you mean "batch_size" instead of "batchsize"?'
    try:
        try:
            raise KeyError(reason)
        except KeyError as key_error:
            raise AttributeError(str(key_error)) from None
    except AttributeError as e:
        assert cli.override_message(e) == (
            'no field \'batchsize\'; Did you mean "batch_size" instead of "batchsize"?'
        )
    assert cli.override_message(ValueError("bad\nvalue")) == "bad value"


def test_9_npz_messages_and_home_paths(run, tmp_path, monkeypatch):
    from gan_jax.data import make_source

    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    empty = tmp_path / "empty.npz"
    np.savez(empty, x_train=np.zeros((0, 8, 8, 1), np.uint8))
    for path, message in ((text, "is not an .npz archive"), (empty, "save at least one image")):
        with pytest.raises(DataError, match=message):
            train_and_evaluate(ring8(**{"data.source": f"npz:{path}"}), str(tmp_path / "w"))
        assert not (tmp_path / "w").exists()  # nothing written before the error

    monkeypatch.setenv("HOME", str(tmp_path))
    np.savez(tmp_path / "ok.npz", x_train=np.zeros((4, 8, 8, 1), np.uint8))
    assert make_source(ring8(**{"data.source": "npz:~/ok.npz"}).data).data_shape == (8, 8, 1)
    shutil.copytree(run, tmp_path / "w2")  # a finished run: the rerun only reads it
    assert train_and_evaluate(ring8(), "~/w2")["step"] == 4


def test_9_gan_run_as_encoder_and_history_nulls(run):
    with pytest.raises(CheckpointError, match="is a GAN run, not an encoder run"):
        gan_jax.load(run, encoder=run)
    history = History(str(run), 4)
    history.append(5, {"d_loss": float("inf"), "g_loss": 1.0})
    assert (run / "history.jsonl").read_text().splitlines()[-1] == (
        '{"step": 5, "d_loss": null, "g_loss": 1.0}'
    )
    assert np.isnan(History(str(run), 5).rows[-1]["d_loss"])


def test_9_dead_run_warning_names_the_likely_cause(caplog):
    watch = DeadRunWatch()
    alive = {"g_grad_norm": 0.3, "d_grad_norm": 0.2, "d_accuracy": 0.6}
    dead_g = {**alive, "g_grad_norm": 0.0}
    assert watch.update(100, dead_g) == []  # one row is not a window
    assert watch.update(200, alive) == []
    assert watch.update(300, dead_g) == []
    (line,) = watch.update(400, dead_g)
    assert line.startswith("the generator's gradient norm has been 0 since step 300")
    assert "--config.g_optimizer.lr" in line
    assert watch.update(500, dead_g) == []  # once
    saturated = {**alive, "d_accuracy": 1.0}
    watch.update(600, saturated)
    (line,) = watch.update(700, saturated)
    assert "d_accuracy=1" in line and "since step 600" in line
    assert "Dead run: the generator" in caplog.text
