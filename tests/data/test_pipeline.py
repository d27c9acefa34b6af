"""The path from a source to the devices: prefetch, resume, multi-device and multi-process
placement, and the input-pipeline benchmark."""

import importlib
import json
import os
import socket
import subprocess
import sys
import threading

import jax
import numpy as np
import pytest
from PIL import Image

from gan_jax.data import make_source
from gan_jax.data.prefetch import Prefetcher, device_batches
from gan_jax.errors import DataError
from gan_jax.tasks.gan import build_spec
from gan_jax.tools.bench_data import pipeline_throughput
from gan_jax.training.parallel import Runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny(name="mnist_dcgan", **data):
    config = importlib.import_module(f"experiments.configs.{name}").get_config("tiny")
    config.num_devices = 1
    for key, value in data.items():
        config.data[key] = value
    return config


@pytest.fixture
def folder(tmp_path):
    """24 small images of mixed formats whose pixel value encodes their index."""
    for i in range(24):
        Image.new("L", (9 + i % 3, 8), i * 10).save(tmp_path / f"{i:02d}.{('png', 'bmp')[i % 2]}")
    return f"folder:{tmp_path}"


def ids(batch):
    return np.round((batch["x"][..., 0].mean((-1, -2)) + 1) * 127.5 / 10).astype(int)


def test_prefetched_stream_equals_the_plain_stream_and_resumes_exactly(folder):
    config = tiny(source=folder, image_size=8, flip=True)
    source = make_source(config.data, shard=(0, 1))
    plain = [source.batch(s, 8, seed=4) for s in range(9)]  # crosses an epoch (3 per epoch)
    with device_batches(source, 0, 8, 4, 1, lambda b: b, prefetch=3) as stream:
        for expected in plain:
            np.testing.assert_array_equal(next(stream)["x"], expected["x"])
    fresh = make_source(config.data, shard=(0, 1))  # a resumed process starts at step 5
    with device_batches(fresh, 5, 8, 4, 2, lambda b: b, prefetch=2) as stream:
        pair = next(stream)
    assert pair["x"].shape == (2, 8, 8, 8, 1)
    np.testing.assert_array_equal(pair["x"][1], plain[6]["x"])
    epoch = np.concatenate([ids(b) for b in plain[:3]])
    assert sorted(epoch) == sorted(set(epoch)) and len(epoch) == 24  # an epoch has no repeats


def test_prefetcher_passes_errors_on_and_stops_its_thread():
    def items():
        yield 1
        yield 2
        raise DataError("bad file")

    stream = Prefetcher(items(), size=2)
    assert [next(stream), next(stream)] == [1, 2]
    for _ in range(2):
        with pytest.raises(DataError, match="bad file"):
            next(stream)
    stream.close()

    endless = Prefetcher(iter(range(10**9)), size=2)
    assert next(endless) == 0
    endless.close()
    assert not any(t.name == "gan_jax-prefetch" and t.is_alive() for t in threading.enumerate())
    synchronous = Prefetcher(iter([7]), size=0)
    assert next(synchronous) == 7 and synchronous._thread is None
    with pytest.raises(StopIteration):
        next(synchronous)


@pytest.mark.parametrize("mode", ["sharded", "pmap"])
@pytest.mark.parametrize("k", [1, 2])
def test_batches_split_over_two_devices(mode, k, tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (16, 28, 28, 1), np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(16) % 3, attributes=np.ones((16, 5)))
    config = tiny(source=f"npz:{tmp_path / 'd.npz'}", dtype="bfloat16")
    source = make_source(config.data, shard=(0, 1))
    runner = Runner(build_spec(config, source.data_shape), mode, jax.devices()[:2], k)
    with device_batches(source, 0, 8, 0, k, runner.place_batch, prefetch=1) as stream:
        batch = next(stream)
    lead = (k,) if k > 1 else ()
    if mode == "pmap":
        assert batch["x"].shape == (2, *lead, 4, 28, 28, 1)
        assert batch["attributes"].shape == (2, *lead, 4, 5)
    else:
        assert batch["x"].shape == (*lead, 8, 28, 28, 1)
        shard_shapes = {s.data.shape for s in batch["x"].addressable_shards}
        assert shard_shapes == {(*lead, 4, 28, 28, 1)}
        assert batch["y"].shape == (*lead, 8)
    assert batch["x"].dtype == jax.numpy.bfloat16


MULTI_PROCESS = """
import sys
import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

jax.config.update("jax_platforms", "cpu")
jax.config.update("jax_cpu_collectives_implementation", "gloo")
pid, port, source_arg = int(sys.argv[1]), sys.argv[2], sys.argv[3]
jax.distributed.initialize(f"localhost:{port}", num_processes=2, process_id=pid)
from experiments.configs import mnist_dcgan
from gan_jax.data import make_source
from gan_jax.training.parallel import Runner
from gan_jax.tasks.gan import build_spec

config = mnist_dcgan.get_config("tiny")
config.data.source, config.data.flip = source_arg, True
source = make_source(config.data)
assert source.shard == (pid, 2), source.shard
runner = Runner(build_spec(config, source.data_shape), "sharded", jax.devices())
local = source.batch(3, 8, config.seed)
assert local["x"].shape[0] == 4
placed = runner.place_batch(local)
assert placed["x"].shape == (8, 28, 28, 1), placed["x"].shape
replicated = NamedSharding(runner.placement.mesh, P())
sums = jax.jit(lambda x: x.sum(axis=(1, 2, 3)), out_shardings=replicated)
whole = make_source(config.data, shard=(0, 1)).batch(3, 8, config.seed)["x"]
np.testing.assert_allclose(np.asarray(sums(placed["x"])), whole.sum(axis=(1, 2, 3)), rtol=1e-5)
print("ok", pid)
"""


def test_two_processes_each_read_their_slice_of_one_global_batch(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (32, 28, 28, 1), np.uint8)
    np.savez(tmp_path / "d.npz", x=x)
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MULTI_PROCESS, str(p), str(port), f"npz:{tmp_path / 'd.npz'}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for p in range(2)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out[-3000:]
    assert "ok 0" in outputs[0] and "ok 1" in outputs[1]


def test_pipeline_benchmark_reports_both_passes(folder):
    result = pipeline_throughput(tiny(source=folder, image_size=28), num_batches=6)
    assert result["batches"] == 6 and result["examples"] == 24 and result["decoded_cache"]
    assert result["first_pass_images_per_s"] > 0 and result["second_pass_images_per_s"] > 0


def test_training_on_a_folder_with_attributes_flips_and_bfloat16(tmp_path):
    from gan_jax.tasks.gan import train_and_evaluate

    images = tmp_path / "faces"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        pixels = rng.integers(0, 256, (70, 60, 3), np.uint8)
        Image.fromarray(pixels).save(images / f"{i:06d}.{('jpg', 'png', 'webp')[i % 3]}")
    (tmp_path / "attr.txt").write_text(
        "16\nSmiling Young\n" + "".join(f"{i:06d}.jpg 1 -1\n" for i in range(16))
    )
    config = tiny("mnist_mlp", source=f"folder:{images}", flip=True, dtype="bfloat16")
    config.data.image_size = 16
    config.data.attributes = str(tmp_path / "attr.txt")
    metrics = train_and_evaluate(config, str(tmp_path / "run"))
    assert metrics["step"] == 2 and np.isfinite(metrics["d_loss"])
    assert (tmp_path / "run" / "samples" / "step_000002.png").exists()


def run_bench(*args):
    return subprocess.run(
        [sys.executable, "-m", "experiments.bench.data", *args],
        cwd=ROOT,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_bench_command_prints_json_and_one_line_errors():
    done = run_bench("--config=ring8:tiny", "--batches=4", "--train_steps=2", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["pipeline"]["batches"] == 4 and result["train_step"]["steps"] == 2
    assert result["ratio_second_pass"] > 0
    bad = run_bench("--config=ring8:tiny", "--batches=0")
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: --batches=0 must be >= 1 and --train_steps >= 0"
    )
    missing = run_bench("--config=ring8:tiny", "--config.data.source=folder:/no/such/dir")
    assert missing.returncode == 2
    assert (
        missing.stderr.strip()
        .splitlines()[-1]
        .startswith("error: image folder '/no/such/dir' does not exist")
    )
