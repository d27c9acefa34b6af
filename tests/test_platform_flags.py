"""gan_jax's XLA:CPU flags (gan_jax/platform/xla_cpu.py): `import gan_jax` leaves `XLA_FLAGS` as
the caller set it; `gan_jax.platform.configure_cpu()` appends the flags unless the user chose
(the opt-out, their own values), only on checked jaxlibs, and warns when JAX already runs; every
`experiments` entry point applies them before JAX starts its backends; this suite runs with them.
"""

import glob
import importlib.metadata
import os
import subprocess
import sys
import warnings

import pytest
from helpers import ROOT, run_module

import gan_jax.platform
from gan_jax.platform import xla_cpu

YNN, SCHEDULER = (f"--{name}={value}" for name, value in xla_cpu.FLAGS.items())
OWN_YNN = "--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"
NOT_JAX = {  # entry points that run no JAX in their own process
    "experiments.bench.torch_ref",  # PyTorch only, run from another venv
    "experiments.bench.identity",  # drives other trees' commands with its own pinned XLA_FLAGS
}


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without XLA_FLAGS and the opt-out (conftest set the flags), on CPU."""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", xla_cpu.OPT_OUT)}
    return {**env, "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT, **extra}


def python(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.fixture
def cpu(monkeypatch):
    """configure_cpu's conditions all met: a checked jaxlib, no backends yet, no opt-out."""
    monkeypatch.setattr(xla_cpu, "_backends_running", lambda: False)
    monkeypatch.setattr(xla_cpu, "_jaxlib_checked", lambda: True)
    monkeypatch.delenv(xla_cpu.OPT_OUT, raising=False)
    return monkeypatch


IMPORTS = (
    "import os, gan_jax, gan_jax.models; gan_jax.load; gan_jax.pictures; "
    "print(repr(os.environ.get('XLA_FLAGS')))"
)


@pytest.mark.parametrize("given", [None, "--xla_force_host_platform_device_count=3"])
def test_import_leaves_xla_flags_as_the_caller_set_them(given):
    env = clean_env() if given is None else clean_env(XLA_FLAGS=given)
    assert python(env, "-c", IMPORTS).strip() == repr(given)


def test_flags_are_appended_unless_the_user_chose(cpu):
    assert gan_jax.platform.configure_cpu is xla_cpu.configure_cpu
    cpu.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    assert xla_cpu.configure_cpu() == [YNN, SCHEDULER]
    assert os.environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count=2 {YNN} {SCHEDULER}"
    assert xla_cpu.configure_cpu() == []  # again: nothing more
    cpu.setenv("XLA_FLAGS", OWN_YNN)
    assert xla_cpu.configure_cpu() == [SCHEDULER]  # the user's YNN choice stays, the other is added
    assert os.environ["XLA_FLAGS"] == f"{OWN_YNN} {SCHEDULER}"
    cpu.delenv("XLA_FLAGS")
    assert xla_cpu.configure_cpu() == [YNN, SCHEDULER]
    assert os.environ["XLA_FLAGS"] == f"{YNN} {SCHEDULER}"


@pytest.mark.parametrize("blocked", ["opt_out", "unchecked_jaxlib"])
def test_opt_out_and_an_unchecked_jaxlib_add_nothing(cpu, blocked):
    if blocked == "opt_out":
        cpu.setenv(xla_cpu.OPT_OUT, "1")
    else:
        cpu.setattr(xla_cpu, "_jaxlib_checked", lambda: False)
    cpu.setenv("XLA_FLAGS", "")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert xla_cpu.configure_cpu() == []
    assert os.environ["XLA_FLAGS"] == ""


def test_too_late_warns_naming_the_flags_it_could_not_apply(cpu):
    cpu.setattr(xla_cpu, "_backends_running", lambda: True)
    cpu.setenv("XLA_FLAGS", YNN)
    with pytest.warns(RuntimeWarning, match="before the first JAX computation") as record:
        assert xla_cpu.configure_cpu() == []
    assert SCHEDULER in str(record[0].message) and YNN not in str(record[0].message)
    assert os.environ["XLA_FLAGS"] == YNN
    cpu.setenv("XLA_FLAGS", f"{YNN} {SCHEDULER}")
    with warnings.catch_warnings():  # all there already (as in this suite): nothing to warn about
        warnings.simplefilter("error")
        assert xla_cpu.configure_cpu() == []


def test_this_suite_runs_with_the_flags():
    """conftest applies them (the suite's speed depends on Eigen convolutions)."""
    if os.environ.get(xla_cpu.OPT_OUT) == "1":
        pytest.skip(f"the suite was started with {xla_cpu.OPT_OUT}=1")
    assert YNN in os.environ["XLA_FLAGS"] and SCHEDULER in os.environ["XLA_FLAGS"]
    assert "--xla_force_host_platform_device_count=2" in os.environ["XLA_FLAGS"]


@pytest.mark.parametrize(
    "version, checked",
    [
        ("0.10.2", True),
        ("0.11.0rc1", True),
        ("0.9.9", False),
        ("0.12.0", False),
        ("1.0.0", False),
        ("dev", False),
        (None, False),  # not installed
    ],
)
def test_jaxlib_version_decides_whether_flags_are_set(monkeypatch, version, checked):
    def fake_version(name):
        assert name == "jaxlib"
        if version is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return version

    monkeypatch.setattr(importlib.metadata, "version", fake_version)
    assert xla_cpu._jaxlib_checked() is checked
    monkeypatch.setattr(xla_cpu, "_backends_running", lambda: False)
    monkeypatch.delenv(xla_cpu.OPT_OUT, raising=False)
    monkeypatch.setenv("XLA_FLAGS", "")
    assert bool(xla_cpu.configure_cpu()) is checked


def test_installed_jaxlib_is_one_whose_flags_were_checked():
    """Fails (rather than skipping the probe below) when jaxlib moves to a release gan_jax has
    not checked: configure_cpu then sets no XLA:CPU flags at all and loses their speed-up
    silently."""
    version = importlib.metadata.version("jaxlib")
    assert xla_cpu._jaxlib_checked(), (
        f"jaxlib {version} is not in gan_jax.platform.xla_cpu.CHECKED_JAXLIB "
        f"{xla_cpu.CHECKED_JAXLIB}: check that it parses xla_cpu.FLAGS (run "
        "test_configure_cpu_moves_cpu_convolutions_off_ynnpack with it added) and add it, or "
        "drop flags it no longer knows"
    )


PROBE = """
import os, sys
import gan_jax, jax, jax.numpy as jnp
if sys.argv[1] == "configure":
    gan_jax.platform.configure_cpu()  # after `import jax`, before the first computation
x, w = jnp.ones((8, 16, 16, 32)), jnp.ones((4, 4, 32, 64))
conv = lambda x, w: jax.lax.conv_general_dilated(
    x, w, (2, 2), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC"))
hlo = jax.jit(conv).lower(x, w).compile().as_text()
ynn = [line for line in hlo.splitlines() if "__ynn_fusion" in line and "conv" in line]
print("XLA_FLAGS=" + str(os.environ.get("XLA_FLAGS")), "YNN_CONV=" + str(bool(ynn)))
"""


def test_configure_cpu_moves_cpu_convolutions_off_ynnpack():
    """In a fresh process: configure_cpu() before the first computation gives Eigen
    convolutions; `import gan_jax` alone keeps XLA's YNNPACK ones. (Not skipped on an unchecked
    jaxlib: see the test above.)"""
    assert f"XLA_FLAGS={YNN} {SCHEDULER} YNN_CONV=False" in python(
        clean_env(), "-c", PROBE, "configure"
    )
    assert "XLA_FLAGS=None YNN_CONV=True" in python(clean_env(), "-c", PROBE, "import")


def entry_points() -> list[str]:
    """Every `python -m experiments...` command that runs JAX: its module name."""
    modules = []
    for path in sorted(glob.glob(os.path.join(ROOT, "experiments", "**", "*.py"), recursive=True)):
        with open(path) as f:
            if 'if __name__ == "__main__":' not in f.read():
                continue
        module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".").removesuffix(".__main__")
        if module not in NOT_JAX:
            modules.append(module)
    return modules


# Each entry point runs as `python -m` would, up to where absl would parse its flags and call
# main (absl's app.run, replaced) or, for argparse commands, until `--help` exits: XLA_FLAGS
# must hold the flags there, with JAX's backends not yet started.
DRIVER = """
import os, runpy, sys
from absl import app, flags
from jax._src import xla_bridge

class Reached(Exception):
    pass

def app_run(*args, **kwargs):
    raise Reached

app.run = app_run
absl_flags = set(flags.FLAGS)
for module in sys.argv[1:]:
    os.environ.pop("XLA_FLAGS", None)
    sys.argv = [module, "--help"]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except (Reached, SystemExit):
        pass
    print("ENTRY", module, repr(os.environ.get("XLA_FLAGS")), xla_bridge.backends_are_initialized())
    for name in set(flags.FLAGS) - absl_flags:  # the next module defines its own
        delattr(flags.FLAGS, name)
"""


def test_every_entry_point_applies_the_flags_before_jax_starts():
    modules = entry_points()
    assert {"experiments.run", "experiments.latent", "experiments.bench"} <= set(modules)
    lines = python(clean_env(), "-c", DRIVER, *modules).splitlines()
    got = {line.split()[1]: line.split(maxsplit=2)[2] for line in lines if line.startswith("ENTRY")}
    want = f"{f'{YNN} {SCHEDULER}'!r} False"
    assert got == {m: want for m in modules}


def test_a_training_run_logs_the_flags_it_applied(tmp_path):
    result = run_module(
        "experiments.run",
        "--config=ring8:tiny",
        f"--workdir={tmp_path / 'run'}",
        "--config.train.num_steps=2",
        "--config.train.log_every=2",
        "--config.train.sample_every=2",
        "--config.train.checkpoint_every=2",
        env={"XLA_FLAGS": "", xla_cpu.OPT_OUT: ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"XLA:CPU flags added: {YNN} {SCHEDULER} (" in result.stderr
    assert "Trained steps 0..2" in result.stderr


@pytest.mark.parametrize(
    "env, added",
    [
        ({"XLA_FLAGS": "", xla_cpu.OPT_OUT: "1"}, None),
        ({"XLA_FLAGS": OWN_YNN, xla_cpu.OPT_OUT: ""}, SCHEDULER),
        ({"XLA_FLAGS": f"{SCHEDULER} {YNN}", xla_cpu.OPT_OUT: ""}, None),
    ],
)
def test_an_entry_point_keeps_the_opt_out_and_the_users_flags(tmp_path, env, added):
    """`experiments.evaluate` on a missing workdir: main runs (its error line) after the flags
    line, which names only the flags added (none: no line)."""
    result = run_module("experiments.evaluate", f"--workdir={tmp_path / 'missing'}", env=env)
    assert result.returncode == 2 and "is not a folder" in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if "XLA:CPU flags added" in line]
    if added:
        assert len(lines) == 1 and f"XLA:CPU flags added: {added} (" in lines[0], result.stderr
    else:
        assert lines == [], result.stderr
