"""Bit-identity harness: every config's tiny run, in every parallel mode, digested for comparison.

    python -m experiments.bench.identity --tree=/path/to/old/checkout --out=old.json
    python -m experiments.bench.identity --tree=. --out=new.json
    python -m experiments.bench.identity compare old.json new.json     # exit 1 if any differ

Why: a restructure must keep every config's results identical (1 device, pmap, sharded). The
harness trains each `TREE/experiments/configs/NAME.py:tiny` (2 steps) in a subprocess with
`cwd=TREE` and `PYTHONPATH=TREE`, only through `python -m experiments.run`, and reads the final
checkpoint with orbax without a template, so one harness measures old and new code alike. The
environment is pinned here, not left to the tree: `JAX_PLATFORMS=cpu` and one `XLA_FLAGS` (two
fake CPU devices plus the XLA:CPU flags `import gan_jax` used to add, `CPU_FLAGS`), so trees
that set those flags in different places compile with the same ones.

Modes: `1dev` (`--config.num_devices=1`), `pmap` and `sharded` (`--config.parallel=...` on both
fake devices). A config without a `parallel` field runs `sharded` without the override; a mode
the tree rejects (its error line names `config.parallel`) is recorded as a skip. Data the tiny
variants cannot reach offline (TFDS, folders, missing npz files) is replaced by deterministic
generated npz files of the same kind (`DATA`); encoder configs (`task=encoder`) use the workdir
of their generator config (`NAME` without `_encoder`) from the same pass and mode.

Output: {"entries": {"CONFIG/MODE": {"digest", "arrays", "metrics", "seconds"}}, "skips",
"failures", "env"}; `digest` is a sha256 over every checkpoint array's path, dtype, shape and
bytes, `arrays` the per-array hashes compare uses to name what differs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

# The XLA:CPU flags of gan_jax/platform/xla_cpu.py (FLAGS) at commit 7c4c7d5, pinned for every
# tree: a tree finds them already named in XLA_FLAGS and adds nothing of its own.
CPU_FLAGS = (
    "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution",
    "--xla_cpu_enable_concurrency_optimized_scheduler=false",
)
XLA_FLAGS = " ".join(("--xla_force_host_platform_device_count=2", *CPU_FLAGS))
MODES = ("1dev", "pmap", "sharded")
ENCODER_TASK = "encoder"
# Generated stand-ins: name -> (image shape, images, labelled classes, attribute columns).
DATA = {
    "mnist": ((28, 28, 1), 1024, 10, 0),  # tfds:mnist; 1,024 so data.limit=1000 fits
    "celeb_a": ((218, 178, 3), 64, 0, 40),  # tfds:celeb_a, aligned 218x178 with 40 attributes
    "lfw": ((250, 250, 3), 64, 0, 0),  # folder:lfw-deepfunneled, 250x250
    "faces": ((64, 64, 3), 64, 0, 0),  # npz:/empty sources: 64x64 RGB like anime_faces
}
# Read each tiny config in TREE by the config-file convention `--config=FILE:tiny` uses.
INSPECT = """
import importlib.util, json, os, sys
out = {}
for name in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location(name, f"experiments/configs/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out[name] = json.loads(module.get_config("tiny").to_json_best_effort())
print(json.dumps(out))
"""


def run_env(tree: str) -> dict[str, str]:
    """The environment of every TREE subprocess: ours minus JAX/XLA/TF/gan_jax settings, plus
    the pinned ones, so two trees (and two machines' shells) see the same flags."""
    drop = ("JAX_", "XLA_", "TF_", "GAN_JAX_", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        JAX_PLATFORMS="cpu",
        XLA_FLAGS=XLA_FLAGS,
        PYTHONPATH=tree,
        TF_CPP_MIN_LOG_LEVEL="2",
        TF_ENABLE_ONEDNN_OPTS="0",
        PYTHONHASHSEED="0",
    )
    return env


def config_names(tree: str) -> list[str]:
    """The config files of TREE/experiments/configs (as `experiments.cli` lists them)."""
    folder = os.path.join(tree, "experiments", "configs")
    return sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and f[0] != "_")


def inspect_configs(tree: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Each config's tiny variant as a dict, read in a TREE subprocess."""
    done = subprocess.run(
        [sys.executable, "-c", INSPECT, *names],
        cwd=tree,
        env=run_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def write_data(name: str, folder: str) -> str:
    """Write the generated npz `DATA[name]` under `folder` (seeded: the same arrays every time
    on every machine); returns the digest of its arrays (the zip's timestamps vary)."""
    shape, n, classes, attributes = DATA[name]
    rng = np.random.default_rng(20)
    arrays: dict[str, np.ndarray] = {"x_train": rng.integers(0, 256, (n, *shape), dtype=np.uint8)}
    if classes:
        arrays["y_train"] = rng.permutation(np.arange(n) % classes).astype(np.uint8)
    if attributes:
        arrays["attributes"] = rng.integers(0, 2, (n, attributes)).astype(np.int8)
        arrays["attribute_names"] = np.array([f"attr{i:02d}" for i in range(attributes)])
    np.savez(os.path.join(folder, f"{name}.npz"), **arrays)
    return tree_hash(arrays)[0]


def data_for(config: dict[str, Any], tree: str) -> str | None:
    """The `DATA` stand-in a tiny config needs offline, or None (built-in or reachable data).

    Raises ValueError for a source with no stand-in (then the config is skipped)."""
    source = (config.get("data") or {}).get("source")
    if config.get("task") == ENCODER_TASK or source is None:
        return None  # trains on its generator run's data
    kind, _, arg = source.partition(":")
    if not source:
        return "faces"
    if kind == "tfds":
        name = arg.split(":")[0]
        if name in DATA:
            return name
        raise ValueError(f"no generated stand-in for {source!r}")
    if kind == "folder":
        return "lfw" if "lfw" in arg else "faces"
    if kind == "npz":
        path = os.path.join(tree, os.path.expanduser(arg))
        return None if os.path.exists(path) else "faces"
    return None  # a built-in source (ring8, grid25)


def tree_hash(tree: Any) -> tuple[str, dict[str, str]]:
    """(digest, {path: "dtype shape sha256[:16]"}) of a nested dict/list of arrays; the digest
    covers every leaf's path, dtype, shape and bytes, in path order."""
    leaves: dict[str, np.ndarray] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key in node:
                walk(node[key], f"{path}/{key}")
        elif isinstance(node, list | tuple):
            for i, item in enumerate(node):
                walk(item, f"{path}/{i}")
        elif node is not None:
            leaves[path] = np.ascontiguousarray(np.asarray(node))

    walk(tree, "")
    total, arrays = hashlib.sha256(), {}
    for path in sorted(leaves):
        a = leaves[path]
        record = f"{path}|{a.dtype.str}|{a.shape}|".encode()
        total.update(record + a.tobytes())
        arrays[path] = f"{a.dtype} {list(a.shape)} {hashlib.sha256(a.tobytes()).hexdigest()[:16]}"
    return total.hexdigest(), arrays


def final_checkpoints(workdir: str) -> dict[str, Any]:
    """{relative item dir: restored tree} for the highest step of every `checkpoints` folder
    under `workdir`, restored as numpy arrays without a template (no devices needed)."""
    import jax
    import orbax.checkpoint as ocp
    from absl import logging

    logging.set_verbosity(logging.ERROR)  # orbax warns that item dirs have no step metadata
    out: dict[str, Any] = {}
    for base, dirs, _ in sorted(os.walk(workdir)):
        steps = [d for d in dirs if d.isdigit()]
        if os.path.basename(base) != "checkpoints" or not steps:
            continue
        step_dir = os.path.join(base, max(steps, key=int))
        for item in sorted(os.listdir(step_dir)):
            path = os.path.join(step_dir, item)
            if not os.path.exists(os.path.join(path, "_METADATA")):
                continue
            checkpointer = ocp.PyTreeCheckpointer()
            meta = checkpointer.metadata(path)
            meta = getattr(meta, "item_metadata", meta)
            args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), meta)
            tree = checkpointer.restore(path, args=ocp.args.PyTreeRestore(restore_args=args))
            out[os.path.relpath(path, workdir)] = tree
    return out


def digest_workdir(workdir: str) -> dict[str, Any]:
    """The entry of one finished run: checkpoint digest and hashes, and metrics.json."""
    digest, arrays = tree_hash(final_checkpoints(workdir))
    metrics_path = os.path.join(workdir, "metrics.json")
    metrics = None
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            metrics = json.load(f)
    return {"digest": digest, "arrays": arrays, "metrics": metrics}


def run_one(
    tree: str, name: str, mode: str, config: dict[str, Any], workdir: str, extra: list[str]
) -> tuple[str, Any]:
    """Train `name:tiny` in `mode`; returns ("ok", entry), ("skip", reason) or ("fail", log)."""
    # No persistent XLA cache: every run compiles for itself, whatever the tree's default.
    args = [f"--config={name}:tiny", f"--workdir={workdir}", "--compilation_cache=", *extra]
    if mode == "1dev":
        args.append("--config.num_devices=1")
    else:
        args.append("--config.num_devices=2")
        if "parallel" in config:
            args.append(f"--config.parallel={mode}")
        elif mode != "sharded":
            return "skip", "the config has no `parallel` field (its task places runs itself)"
    shutil.rmtree(workdir, ignore_errors=True)
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "experiments.run", *args],
        cwd=tree,
        env=run_env(tree),
        capture_output=True,
        text=True,
    )
    seconds = round(time.monotonic() - start, 1)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    if done.returncode == 2 and errors and "config.parallel" in errors[-1]:
        return "skip", f"the tree rejects it: {errors[-1]}"
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        return "fail", f"exit {done.returncode}: {' '.join(args)}\n{tail}"
    return "ok", {**digest_workdir(workdir), "seconds": seconds, "args": args}


def environment(tree: str) -> dict[str, Any]:
    """CPU model, library versions, the tree's git commit (dirty: uncommitted changes)."""

    def out(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return ""

    lscpu = dict(ln.split(":", 1) for ln in out("lscpu").splitlines() if ":" in ln)
    lscpu = {k.strip(): v.strip() for k, v in lscpu.items()}
    cpu = lscpu.get("Model name") or platform.processor()
    if "Model" in lscpu:  # "Intel(R) Xeon(R) Processor" alone hides the generation
        cpu += f" (family {lscpu.get('CPU family')} model {lscpu['Model']})"
    packages = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "versions": {p: importlib.metadata.version(p) for p in packages},
        "tree": tree,
        "commit": out("git", "-C", tree, "rev-parse", "HEAD").strip(),
        "dirty": bool(out("git", "-C", tree, "status", "--porcelain", "gan_jax", "experiments")),
        "XLA_FLAGS": XLA_FLAGS,
        "JAX_PLATFORMS": "cpu",
    }


def measure(args: argparse.Namespace) -> int:
    """Run every selected config in every selected mode; write the JSON; 1 if any run failed."""
    tree = os.path.abspath(args.tree)
    names = [n for n in config_names(tree) if re.search(args.only, n)]
    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - set(MODES):
        sys.exit(f"unknown modes in {args.modes!r}; choose from {', '.join(MODES)}")
    scratch = f"{args.out}.work" if args.keep else tempfile.mkdtemp(prefix="identity-")
    os.makedirs(os.path.join(scratch, "data"), exist_ok=True)
    configs = inspect_configs(tree, names)
    result: dict[str, Any] = {"entries": {}, "skips": {}, "failures": {}, "data": {}}
    jobs: list[tuple[str, str, list[str]]] = []
    for name in names:
        extra = []
        try:
            kind = data_for(configs[name], tree)
        except ValueError as e:
            result["skips"].update({f"{name}/{m}": str(e) for m in modes})
            continue
        if kind:
            path = os.path.join(scratch, "data", f"{kind}.npz")
            if kind not in result["data"]:  # recorded: both trees must read the same arrays
                result["data"][kind] = write_data(kind, os.path.dirname(path))
            extra.append(f"--config.data.source=npz:{path}")
        for mode in modes:
            jobs.append((name, mode, extra))
    encoders = [j for j in jobs if configs[j[0]].get("task") == ENCODER_TASK]
    started = time.monotonic()

    def job(item: tuple[str, str, list[str]]) -> None:
        name, mode, extra = item
        key = f"{name}/{mode}"
        if item in encoders:
            generator = os.path.join(scratch, name.removesuffix("_encoder"), mode)
            if f"{name.removesuffix('_encoder')}/{mode}" not in result["entries"]:
                result["skips"][key] = f"no finished generator run {generator}"
                return
            extra = [*extra, f"--config.generator_workdir={generator}"]
        workdir = os.path.join(scratch, name, mode)
        status, value = run_one(tree, name, mode, configs[name], workdir, extra)
        result[{"ok": "entries", "skip": "skips", "fail": "failures"}[status]][key] = value
        shown = value["digest"][:12] if status == "ok" else value.splitlines()[0][:150]
        elapsed = time.monotonic() - started
        print(f"[{elapsed:6.0f}s] {key}: {status} {shown}", flush=True)

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for phase in ([j for j in jobs if j not in encoders], encoders):
            list(pool.map(job, phase))
    result["env"] = {**environment(tree), "seconds": round(time.monotonic() - started, 1)}
    result["env"]["workdirs"] = scratch if args.keep else None
    for part in ("entries", "skips", "failures"):
        result[part] = dict(sorted(result[part].items()))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"{len(result['entries'])} digested, {len(result['skips'])} skipped, "
        f"{len(result['failures'])} failed in {result['env']['seconds']:.0f}s -> {args.out}"
    )
    return 1 if result["failures"] else 0


def differences(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(lines naming each entry that differs, keys only in a, keys only in b)."""
    ea, eb = a["entries"], b["entries"]
    lines = []
    for key in sorted(ea.keys() & eb.keys()):
        x, y = ea[key], eb[key]
        what = []
        if x["digest"] != y["digest"]:
            arrays = x["arrays"].keys() | y["arrays"].keys()
            changed = sorted(p for p in arrays if x["arrays"].get(p) != y["arrays"].get(p))
            what.append(f"{len(changed)} of {len(arrays)} arrays: {', '.join(changed[:6])}")
            what.extend(
                f"  {p}: {x['arrays'].get(p, 'missing')} vs {y['arrays'].get(p, 'missing')}"
                for p in changed[:6]
            )
        if json.dumps(x["metrics"], sort_keys=True) != json.dumps(y["metrics"], sort_keys=True):
            mx, my = x["metrics"] or {}, y["metrics"] or {}
            fields = sorted(k for k in mx.keys() | my.keys() if mx.get(k) != my.get(k))
            what.append("metrics " + ", ".join(f"{k}: {mx.get(k)} vs {my.get(k)}" for k in fields))
        if what:
            lines.append(f"DIFFERS {key}: " + "\n    ".join(what))
    return lines, sorted(ea.keys() - eb.keys()), sorted(eb.keys() - ea.keys())


def compare(path_a: str, path_b: str) -> int:
    """Print the differing and one-sided entries of two harness outputs; 1 if any differ."""
    with open(path_a) as f:
        a = json.load(f)
    with open(path_b) as f:
        b = json.load(f)
    lines, only_a, only_b = differences(a, b)
    same = len(a["entries"].keys() & b["entries"].keys()) - len(lines)

    def undigested(data: dict[str, Any]) -> dict[str, str]:
        failed = {k: "FAILED " + v.splitlines()[0] for k, v in data["failures"].items()}
        return {**data["skips"], **failed}

    both = {k: v for k, v in undigested(a).items() if undigested(b).get(k) == v}
    for side, path, keys, data in (("A", path_a, only_a, a), ("B", path_b, only_b, b)):
        env = data.get("env", {})
        print(f"{side}: {path} (commit {env.get('commit', '?')[:10]}, {env.get('cpu')})")
        for key in keys:
            print(f"  only in {side}: {key}")
        for key, why in sorted(undigested(data).items()):
            if key not in both:
                print(f"  not digested in {side}: {key}: {why}")
    for key, why in sorted(both.items()):
        print(f"not digested in either: {key}: {why}")
    for kind in sorted(a.get("data", {}).keys() & b.get("data", {}).keys()):
        if a["data"][kind] != b["data"][kind]:
            print(f"generated data {kind!r} differs: the trees did not train on the same arrays")
    for line in lines:
        print(line)
    print(f"{same} identical, {len(lines)} differ; only in A: {len(only_a)}, in B: {len(only_b)}")
    return 1 if lines else 0


def main(argv: Iterable[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compare"]:
        parser = argparse.ArgumentParser(prog="identity compare", description=compare.__doc__)
        parser.add_argument("a", metavar="A.json")
        parser.add_argument("b", metavar="B.json")
        ns = parser.parse_args(argv[1:])
        return compare(ns.a, ns.b)
    parser = argparse.ArgumentParser(prog="identity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default=".", help="a gan_jax checkout (default: here)")
    parser.add_argument("--out", required=True, help="the JSON to write")
    parser.add_argument("--only", default="", help="configs matching this regex ('^ring8$')")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated MODES")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
    parser.add_argument("--keep", action="store_true", help="keep workdirs in OUT.work/")
    return measure(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
