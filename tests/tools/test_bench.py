"""`gan_jax.tools.bench_step` / `python -m experiments.bench`: keys present and sane, flag
errors."""

import json

from helpers import run_module, tiny_config, write_npz

from gan_jax.tools.bench_step import benchmark, format_report

KEYS = ("step_ms_median", "imgs_per_s", "compile_s", "gflops_per_s", "cold_start_s")


def test_benchmark_reports_positive_numbers_and_counts_flops_per_step(tmp_path):
    source = write_npz(tmp_path / "d.npz", (28, 28, 1), n=16)
    one = benchmark(tiny_config("mnist_dcgan", **{"data.source": source}), steps=2, warmup=1)
    for key in (*KEYS, "gflop_per_step", "init_s", "first_step_s", "step_ms_pipelined"):
        assert one[key] > 0, key
    assert one["steps_timed"] == 2 and one["imgs_per_s"] > 0
    assert "train step (D+G" in format_report("mnist_dcgan:tiny", one)
    # k steps per dispatch: times and FLOPs are per step (XLA counts a loop body once, so the
    # benchmark compiles one step for the count); the FLOPs of one step do not depend on k.
    config = tiny_config("mnist_dcgan", **{"data.source": source})
    config.train.steps_per_dispatch = 2
    two = benchmark(config, steps=3, warmup=0, pipeline_batches=4)
    assert two["steps_timed"] == 4 and two["steps_per_dispatch"] == 2
    assert abs(two["gflop_per_step"] - one["gflop_per_step"]) <= 0.02 * one["gflop_per_step"]
    assert two["pipeline"]["second_pass_images_per_s"] > 0


def _bench(*args):
    return run_module("experiments.bench", *args)


def test_cli_json_last_line(tmp_path):
    source = write_npz(tmp_path / "d.npz", (28, 28, 1), n=16)
    result = _bench(
        "--config=mnist_mlp:tiny", f"--config.data.source={source}", "--steps=3", "--json"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for key in (*KEYS, "start_to_first_step_s"):
        assert out[key] > 0, key


def test_cli_bad_flags_exit_2():
    for args in (["--config=mnist_mlp:tiny", "--nosuchflag"], ["--config=mnist_mlp", "--steps=0"]):
        result = _bench(*args)
        assert result.returncode == 2, result.stderr[-2000:]
        assert result.stderr.strip().splitlines()[-1].startswith("error:")
