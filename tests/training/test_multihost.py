"""Multi-host training, for real, on one machine: two processes with one CPU device each, joined
by `jax.distributed` (gloo collectives), trained through `python -m experiments.run
--coordinator=... --num_processes=2 --process_id=I`, against one process with the same global
batch. Also: the flag checks of `gan_jax.platform.distributed` and the launch scripts.

The 2-process job trains ring8:tiny for 2 steps with `parallel=sharded`, then the same command
with `num_steps=3` and `parallel=pmap` resumes it (a multi-process restore, into the other
device layout) and trains step 3. Every checkpoint must match the 1-process run's (see
`assert_same_state` for the tolerance) and every file outside `checkpoints/` must come from
process 0 (an audit hook records what each process opens for writing).
"""

import glob
import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest
from helpers import ROOT, tiny_config
from jax.tree_util import keystr
from jax.tree_util import tree_leaves_with_path as leaves_with_path

from gan_jax.errors import ConfigError
from gan_jax.platform import distributed
from gan_jax.runs.restore import read_subtrees
from gan_jax.tasks.gan import train_and_evaluate

STATE = ("g_params", "d_params", "g_opt_state", "d_opt_state")
# lr 1e-2 (not ring8's 1e-4): a wrong data slice or a missing all-reduce then moves the
# parameters by ~1e-2 per step, four orders of magnitude above float32 rounding.
OVERRIDES = {"g_optimizer.lr": 1e-2, "d_optimizer.lr": 1e-2}

# Runs `python -m experiments.run ARGS` (the same module, as __main__) after installing an
# audit hook that records every path the process opens for writing, renames onto or creates;
# the list goes to LOG as JSON at exit.
AUDITED_RUN = r"""
import atexit, json, os, runpy, sys

log, argv = sys.argv[1], sys.argv[2:]
written = []

def audit(event, args):
    if event == "open":
        path, mode, flags = args
        writable = os.O_WRONLY | os.O_RDWR
        writing = bool(flags & writable) if mode is None else any(c in mode for c in "wax+")
    elif event in ("os.rename", "os.mkdir"):
        path, writing = args[1 if event == "os.rename" else 0], True
    else:
        return
    if writing and isinstance(path, (str, bytes, os.PathLike)):
        written.append(os.path.abspath(os.fsdecode(path)))

def dump():
    with open(log + ".tmp", "w") as f:
        json.dump(written, f)
    os.replace(log + ".tmp", log)

atexit.register(dump)
sys.addaudithook(audit)
sys.argv = ["experiments.run", *argv]
runpy.run_module("experiments.run", run_name="__main__", alter_sys=True)
"""


ENV = {
    "JAX_PLATFORMS": "cpu",
    "XLA_FLAGS": "",  # one CPU device per process (conftest asks for 2 in this one)
    "JAX_DISABLE_MOST_OPTIMIZATIONS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
}
ARGS = ("--compilation_cache=", *(f"--config.{k}={v}" for k, v in OVERRIDES.items()))

# A stand-in for `srun` (2 tasks on "localhost"): it runs the command it is given, as
# AUDITED_RUN, in 2 processes with the variables SLURM sets for a 2-task job step, so that
# launch/slurm.sh and JAX's SLURM detection run for real.
FAKE_SRUN = """#!{python}
import os, subprocess, sys
args = [a for a in sys.argv[1:] if not a.startswith("--kill-on-bad-exit")]
assert args[:3] == [{python!r}, "-m", "experiments.run"], args
env = dict(os.environ, SLURM_JOB_ID="{job}", SLURM_NTASKS="2", SLURM_STEP_NODELIST="localhost")
procs = [
    subprocess.Popen(
        [{python!r}, {audited!r}, f"{log}_{{i}}.json", *args[3:]],
        env=dict(env, SLURM_PROCID=str(i), SLURM_LOCALID=str(i)),
    )
    for i in range(2)
]
sys.exit(max(p.wait(timeout=240) for p in procs))
"""


def read_json(path):
    with open(path) as f:
        return json.load(f)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def slurm_job_id() -> int:
    """A job id whose coordinator port (JAX: 61440 + id % 4096) is free here."""
    for job in np.random.default_rng().integers(1, 10**6, 100):
        with socket.socket() as s:
            try:
                s.bind(("localhost", 61440 + int(job) % 4096))
            except OSError:
                continue
            return int(job)
    raise RuntimeError("no free port in 61440..65535")


def run_with_coordinator_flags(workdir, audited, log, *args) -> None:
    """Both processes of one job, started by hand with --coordinator/--num_processes/..."""
    port = free_port()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                audited,
                f"{log}_{pid}.json",
                "--config=ring8:tiny",
                f"--workdir={workdir}",
                f"--coordinator=localhost:{port}",
                "--num_processes=2",
                f"--process_id={pid}",
                *ARGS,
                *args,
            ],
            cwd=ROOT,
            env={**os.environ, **ENV},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for pid in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=240)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    for pid, (p, out) in enumerate(zip(procs, outputs, strict=True)):
        assert p.returncode == 0, f"process {pid}:\n{out[-4000:]}"


def run_with_slurm_script(workdir, audited, log, bin_dir, *args) -> None:
    """`sbatch launch/slurm.sh ring8:tiny WORKDIR ...` as its job step runs it (fake srun)."""
    srun = bin_dir / "srun"
    srun.write_text(
        FAKE_SRUN.format(python=sys.executable, job=slurm_job_id(), audited=str(audited), log=log)
    )
    srun.chmod(0o755)
    done = subprocess.run(
        [
            "bash",
            os.path.join(ROOT, "launch", "slurm.sh"),
            "ring8:tiny",
            str(workdir),
            *ARGS,
            *args,
        ],
        env={
            **os.environ,
            **ENV,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PYTHON": sys.executable,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def assert_same_state(got_dir, ref_dir, step):
    """Parameters and Adam moments of the 2-process run equal the 1-process run's up to float32
    rounding: the 2 processes sum the gradient over 2 shards of 4 examples and all-reduce, one
    process sums 8 at once, so sums differ in the last bits (measured: <= 5e-8 absolute on
    O(1) parameters after 3 steps). Tolerance 1e-6 absolute + 1e-4 relative (nu, the squared
    gradients, is ~1e-5); a real fault (wrong rows, a missing all-reduce) moves parameters by
    about the learning rate, 1e-2."""
    ref = read_subtrees(str(ref_dir), step, lambda tree: list(STATE))
    got = read_subtrees(str(got_dir), step, lambda tree: list(STATE))
    assert jax.tree.structure(got) == jax.tree.structure(ref)
    for (path, r), g in zip(leaves_with_path(ref), jax.tree.leaves(got), strict=True):
        np.testing.assert_allclose(
            g, r, rtol=1e-4, atol=1e-6, err_msg=f"step {step} {keystr(path)}"
        )


def reference_run(workdir):
    """The 1-process, 1-device run of the same two commands."""
    config = tiny_config("ring8", **OVERRIDES)
    train_and_evaluate(config, str(workdir))
    config.train.num_steps = 3
    return train_and_evaluate(config, str(workdir))


def test_two_processes_train_like_one_and_only_process_0_writes_run_files(tmp_path):
    workdir, audited, log = tmp_path / "run", tmp_path / "audited_run.py", tmp_path / "written"
    audited.write_text(AUDITED_RUN)
    (tmp_path / "bin").mkdir()
    run_with_coordinator_flags(workdir, audited, log, "--config.parallel=sharded")
    first = [read_json(f"{log}_{pid}.json") for pid in range(2)]
    run_with_slurm_script(
        workdir,
        audited,
        log,
        tmp_path / "bin",
        "--config.parallel=pmap",
        "--config.train.num_steps=3",
    )
    second = [read_json(f"{log}_{pid}.json") for pid in range(2)]
    expected = reference_run(tmp_path / "ref")

    assert_same_state(workdir, tmp_path / "ref", 2)  # sharded, 2 processes
    assert_same_state(workdir, tmp_path / "ref", 3)  # resumed by pmap, 2 processes
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert metrics["step"] == 3
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert metrics[key] == pytest.approx(expected[key], rel=1e-4), key

    run, checkpoints = str(workdir), str(workdir / "checkpoints")
    for step, written in ((2, first), (3, second)):
        assert os.path.join(run, "metrics.json") in written[0]
        assert os.path.join(run, "samples", f"step_{step:06d}.png") in written[0]
        other = [
            p
            for p in written[1]
            if p.startswith(run + os.sep) and not p.startswith(checkpoints + os.sep)
        ]
        assert other == [], f"process 1 wrote {other}"
    assert os.path.join(run, "config.json") in first[0]
    # TensorBoard writes through TensorFlow's C++ file layer, which the audit hook cannot see:
    # one events file per job means process 1 wrote none.
    assert len(glob.glob(str(workdir / "events.out.tfevents.*"))) == 2


def test_modes_decide_whether_to_join(monkeypatch):
    for var in ("JAX_COORDINATOR_ADDRESS", "SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert not distributed.should_initialize("auto")
    assert distributed.should_initialize("on")
    assert distributed.should_initialize("auto", "host0:1234", 2, 1)
    slurm = {
        "SLURM_JOB_ID": "7",
        "SLURM_STEP_NODELIST": "node[1-2]",
        "SLURM_NTASKS": "1",
        "SLURM_PROCID": "0",
    }
    for key, value in slurm.items():
        monkeypatch.setenv(key, value)
    assert not distributed.should_initialize("auto")  # one task: a plain single-process run
    monkeypatch.setenv("SLURM_NTASKS", "8")
    assert distributed.should_initialize("auto")
    assert not distributed.should_initialize("off")
    assert distributed.is_primary()  # never joined: this process writes the files


@pytest.mark.parametrize(
    "args, message",
    [
        (("auto", "host0"), "--coordinator='host0' must look like HOST:PORT"),
        (("auto", "host0:99", 2, 2), "--process_id=2 must be in 0..1"),
        (("auto", None, 0), "--num_processes=0 must be >= 1"),
        (("off", "host0:99", 2, 0), "--distributed=off contradicts"),
        (("yes",), "--distributed='yes' is not valid; choose one of: auto, on, off"),
    ],
)
def test_bad_flags_are_one_line_config_errors(args, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        distributed.should_initialize(*args)


LAUNCH = os.path.join(ROOT, "launch")


@pytest.mark.parametrize("script", sorted(os.listdir(LAUNCH)))
def test_launch_script_parses_and_prints_usage(script):
    path = os.path.join(LAUNCH, script)
    assert subprocess.run(["bash", "-n", path]).returncode == 0
    with open(path) as f:
        header = f.read(2000)
    assert f"launch/{script}" in header and "CONFIG WORKDIR" in header
    done = subprocess.run(["bash", path], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_tpu_pod_script_runs_one_command_on_every_worker(tmp_path):
    """launch/tpu_pod.sh with a stand-in gcloud that records its arguments."""
    gcloud = tmp_path / "gcloud"
    gcloud.write_text(f'#!/bin/bash\nprintf "%s\\0" "$@" > {tmp_path}/args\n')
    gcloud.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "REPO_URL": "https://example.org/gan_jax.git",
        "REF": "v1",
        "GCLOUD_FLAGS": "--project=p1",
    }
    script = os.path.join(LAUNCH, "tpu_pod.sh")
    args = ["pod1", "zone1", "celeba64", "/mnt/runs/c 64", "--config.loss=ralsgan"]
    done = subprocess.run(["bash", script, *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    argv = (tmp_path / "args").read_text().split("\0")[:-1]
    assert argv[:6] == ["compute", "tpus", "tpu-vm", "ssh", "pod1", "--zone=zone1"]
    assert "--worker=all" in argv and "--project=p1" in argv
    command = argv[-1].removeprefix("--command=")
    assert subprocess.run(["bash", "-n", "-c", command]).returncode == 0
    assert "git -C gan_jax checkout --quiet v1" in command
    assert command.endswith(
        "python -m experiments.run --distributed=on --config=celeba64 "
        "--workdir=/mnt/runs/c\\ 64 --config.loss=ralsgan "
    )
