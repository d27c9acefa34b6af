"""Every task's generator export is the written contract `gan_jax.load` follows: model.json
names the checkpoint entries (and folder) of the sampler, and what `gan_jax.load` samples is the
task's own generator applied to exactly those entries."""

import json
import os

import numpy as np
import pytest
from helpers import tiny_config, write_npz

import gan_jax
from gan_jax import tasks
from gan_jax.runs.export import GeneratorExport, for_run
from gan_jax.runs.restore import read_subtrees
from gan_jax.training import loop

RUNS = {  # name: (config, data shape, overrides, the export the task must record)
    "gan_ema": (
        "ring8",
        None,
        {"stabilizers.ema_decay": 0.5},
        GeneratorExport("g_ema_params", "g_batch_stats"),
    ),
    "vae": ("mnist_vae", (28, 28, 1), {}, GeneratorExport("g_params", "g_batch_stats")),
    "progan": ("progan_anime64", (8, 8, 3), {}, GeneratorExport("g_ema_params", None)),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    out = {}
    for name, (config_name, shape, overrides, _) in RUNS.items():
        if shape is not None:
            overrides = {"data.source": write_npz(root / f"{name}.npz", shape, n=16), **overrides}
        config = tiny_config(config_name, **overrides)
        workdir = root / name
        task = tasks.build(config, str(workdir))
        loop.train(task, str(workdir))
        out[name] = (workdir, task)
    return out


@pytest.mark.parametrize("name", sorted(RUNS))
def test_load_samples_the_tasks_generator_from_the_exported_entries(runs, name):
    workdir, task = runs[name]
    contract = RUNS[name][3]
    assert task.generator_export() == contract
    with open(os.path.join(workdir, "model.json")) as f:
        assert for_run(json.load(f)) == contract
    gen = gan_jax.load(str(workdir))
    saved = read_subtrees(str(workdir), gen.step, lambda _: contract.entries()[1:])
    variables = {"params": saved[contract.params]}
    if contract.batch_stats and saved[contract.batch_stats]:
        variables["batch_stats"] = saved[contract.batch_stats]
    z = np.random.default_rng(0).standard_normal((3, gen.latent_dim)).astype(np.float32)
    if name == "progan":  # ProGAN's G takes no labels and has no BatchNorm
        expected = task.generator.apply(variables, z)
    else:  # the VAE's generator is its decoder
        module = task.spec.decoder if name == "vae" else task.spec.generator
        expected = module.apply(variables, z, None, train=False)
    np.testing.assert_allclose(gen.sample(z=z), np.asarray(expected), rtol=1e-5, atol=1e-6)


def test_a_run_without_the_entry_follows_the_old_convention():
    assert for_run({"data_shape": [2]}, {"g_ema_params": {"w": 1}}).params == "g_ema_params"
    assert for_run({"data_shape": [2]}, {"g_ema_params": {}}).params == "g_params"
    recorded = {"generator": {"params": "w", "batch_stats": None, "folder": "f"}}
    assert for_run(recorded) == GeneratorExport("w", None, "f")


def test_the_encoder_exports_its_frozen_copy(cgan_encoder):
    workdir, _ = cgan_encoder
    with open(os.path.join(workdir, "model.json")) as f:
        assert for_run(json.load(f)) == GeneratorExport("g_params", "g_batch_stats", "generator")
    with open(os.path.join(workdir, "generator", "model.json")) as f:
        assert for_run(json.load(f)) == GeneratorExport("g_params", "g_batch_stats")
    gen = gan_jax.load(str(workdir))
    assert gen.has_encoder and gen.workdir.endswith("generator")
