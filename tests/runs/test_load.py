"""`gan_jax.load`: every config's checkpoint samples in a fresh process without TensorFlow, on one
CPU device, reproducibly and with the weights training used; paths, steps, EMA and errors."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from helpers import CONFIGS, ROOT, write_checkpoint
from PIL import Image

import gan_jax
from gan_jax import pictures
from gan_jax.core.sampling import fixed_labels, fixed_latents, make_sampler
from gan_jax.errors import CheckpointError, InputError

# Runs in a fresh interpreter with one CPU device. TensorFlow (and clu's TF-based writers) are
# made unimportable exactly as if they were not installed.
LOADER = textwrap.dedent(
    """
    import json, sys
    for name in ("tensorflow", "tensorboard", "clu.metric_writers"):
        sys.modules[name] = None
    import gan_jax
    assert "jax" not in sys.modules, "import gan_jax must stay light"
    import jax
    import numpy as np
    workdirs, out = json.loads(sys.argv[1]), sys.argv[2]
    arrays = {}
    for i, workdir in enumerate(workdirs):
        g = gan_jax.load(workdir)
        first, again = g.sample(16), g.sample(16, seed=0)
        assert first.dtype == np.float32 and np.array_equal(first, again), workdir
        assert not np.array_equal(first, g.sample(16, seed=1)), workdir
        arrays[f"run{i}"] = first
    np.savez(out, devices=jax.device_count(), **arrays)
    assert sys.modules.get("tensorflow") is None, "tensorflow was imported"
    """
)


def _not_initial(state):
    """G's weights and BatchNorm statistics moved away from their initial values (as training
    would), so that a loader which re-initialised the model instead of reading the checkpoint
    samples differently."""
    return state.replace(
        g_params=jax.tree.map(lambda p: 1.5 * p + 0.002, state.g_params),
        g_batch_stats=jax.tree.map(lambda v: 1.2 * v + 0.01, state.g_batch_stats),
    )


@pytest.fixture(scope="module")
def written_runs(tmp_path_factory):
    """{config name: (workdir, config, spec, saved state)} for every config: a checkpoint at
    step 0 whose G weights are not the initial ones."""
    root = tmp_path_factory.mktemp("written")
    runs = {}
    for name in CONFIGS:
        config, spec, state = write_checkpoint(
            name, root / name, root / f"{name}_data", transform=_not_initial
        )
        runs[name] = (root / name, config, spec, state)
    return runs


def _variables(params, batch_stats):
    """Sampler variables from a state's parts (batch_stats only when the model has BN)."""
    variables = {"params": params}
    if batch_stats:
        variables["batch_stats"] = batch_stats
    return variables


def _reference(spec, state, num):
    z = fixed_latents(0, num, spec.latent_dim)
    labels = (np.arange(num) % spec.num_classes).astype(np.int32) if spec.num_classes else None
    variables = _variables(state.g_params, state.g_batch_stats)
    return np.asarray(make_sampler(spec.generator)(variables, z, labels))


def test_every_config_samples_in_a_fresh_process_without_tensorflow(
    written_runs, cgan_run, tmp_path
):
    workdirs = [str(w) for w, *_ in written_runs.values()] + [str(cgan_run)]
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # one CPU device
    out = tmp_path / "samples.npz"
    result = subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps(workdirs), str(out)],
        cwd=ROOT,
        env={**env, "JAX_PLATFORMS": "cpu", "JAX_DISABLE_MOST_OPTIMIZATIONS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(out) as f:
        assert int(f["devices"]) == 1  # cgan_run was trained sharded over 2 devices
        samples = [f[f"run{i}"] for i in range(len(workdirs))]
    assert samples[-1].shape == (16, 28, 28, 1)
    for (name, (_, _, spec, state)), got in zip(written_runs.items(), samples[:-1], strict=True):
        if name in ("ring8", "grid25"):
            assert got.shape == (16, 2), name
        else:
            assert got.ndim == 4 and got.min() >= -1 and got.max() <= 1, name
        np.testing.assert_allclose(got, _reference(spec, state, 16), atol=1e-5, err_msg=name)


def test_samples_match_the_training_run_s_own_pictures(cgan_run):
    """Same z's and labels as the run's progress grid: the loaded generator draws the fake rows
    of samples/step_000002.png (which sit below one row of real images)."""
    g = gan_jax.load(cgan_run)
    config = g.config
    n, k = config.train.num_samples, g.num_classes
    ncols = max(k, int(np.ceil(np.sqrt(n))))
    fake = g.sample(n, seed=config.seed, labels=fixed_labels(n, k, ncols))
    drawn = np.asarray(pictures.grid(fake, ncols=ncols))
    saved = np.asarray(Image.open(cgan_run / "samples" / "step_000002.png").convert("RGB"))
    h = g.data_shape[0]
    np.testing.assert_allclose(saved[h + 2 :].astype(int), drawn.astype(int), atol=1)
    assert g.step == 2 and g.latent_dim == 8 and g.num_classes == 10


def _restored_state(workdir):
    """The full training state of a run's latest checkpoint, and the state its config
    initialises (what a loader that re-initialised instead of reading would use)."""
    from gan_jax.runs.checkpoint import Checkpointer
    from gan_jax.runs.restore import read_run_files
    from gan_jax.tasks.gan import build_spec, create_state

    config, model = read_run_files(str(workdir))
    shape = tuple(model["data_shape"])
    spec = build_spec(config, shape)
    init = jax.device_get(create_state(spec, shape, config.seed))
    checkpointer = Checkpointer(str(workdir), 1)
    trained = jax.device_get(checkpointer.restore(init))
    checkpointer.close()
    return spec, init, trained


def test_loads_the_trained_weights_and_batch_stats_not_fresh_ones(cgan_run):
    """cgan_run trained 2 steps (sharded over 2 devices): its G weights and BatchNorm statistics
    differ from the initial ones, and the loaded generator samples like the trained state."""
    spec, init, trained = _restored_state(cgan_run)
    assert int(trained.step) == 2
    for part in ("g_params", "g_batch_stats"):
        moved = [
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(
                jax.tree.leaves(getattr(init, part)),
                jax.tree.leaves(getattr(trained, part)),
                strict=True,
            )
        ]
        assert max(moved) > 1e-4, part
    g = gan_jax.load(cgan_run)
    got = g.sample(16)
    want = _reference(spec, trained, 16)
    np.testing.assert_allclose(got, want, atol=1e-5)
    fresh = _reference(spec, init, 16)
    assert np.abs(fresh - want).max() > 100 * 1e-5  # a re-initialising loader would fail above


def test_paths_steps_and_labels(written_runs, cgan_run):
    workdir, *_ = written_runs["mnist_cgan"]
    for path in (workdir, workdir / "checkpoints", workdir / "checkpoints" / "0"):
        assert gan_jax.load(path).step == 0
    g = gan_jax.load(cgan_run, step=2)
    z = g.latents(4, seed=5)
    hard = g.sample(z=z, labels=[3, 1, 4, 1])
    soft = g.sample(z=z, labels=np.eye(10, dtype=np.float32)[[3, 1, 4, 1]])
    np.testing.assert_allclose(soft, hard, atol=1e-6)
    assert not np.allclose(g.sample(z=z, labels=7), hard)
    np.testing.assert_array_equal(g.sample(4, seed=5, labels=7), g.sample(z=z, labels=7))
    assert "Generator(" in repr(g) and "encoder=False" in repr(g)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"num": 4, "labels": [0, 1]}, InputError, "labels must be one class, 4 integer"),
        ({"num": 2, "labels": [0, 10]}, InputError, "classes in 0..9, got 0..10"),
        ({"z": np.zeros((2, 3))}, InputError, r"z must have shape \(N, 8\)"),
        ({}, InputError, "pass num"),
    ],
)
def test_bad_sample_arguments(cgan_run, kwargs, error, message):
    with pytest.raises(error, match=message):
        gan_jax.load(cgan_run).sample(**kwargs)


def test_unconditional_generator_rejects_labels_and_encode(written_runs):
    g = gan_jax.load(written_runs["mnist_dcgan"][0])
    with pytest.raises(ValueError, match="unconditional"):  # InputError is a ValueError too
        g.sample(2, labels=1)
    with pytest.raises(InputError, match="no encoder is attached"):
        g.encode(np.zeros((1, 28, 28, 1), np.float32))


def test_ema_weights_are_used_when_the_run_kept_them(written_runs, tmp_path):
    from gan_jax.runs.checkpoint import Checkpointer

    source, _, spec, state = written_runs["mnist_dcgan"]
    workdir = tmp_path / "ema_run"
    workdir.mkdir()
    for name in ("config.json", "model.json"):
        (workdir / name).write_text((source / name).read_text())
    ema = state.replace(g_ema_params=jax.tree.map(lambda p: p * 1.5, state.g_params))
    checkpointer = Checkpointer(str(workdir), 1)
    checkpointer.save(1, ema)
    checkpointer.close()
    got = gan_jax.load(workdir).sample(4)
    z = fixed_latents(0, 4, spec.latent_dim)
    sampler = make_sampler(spec.generator)
    np.testing.assert_allclose(
        got, sampler(_variables(ema.g_ema_params, state.g_batch_stats), z, None), atol=1e-5
    )
    stale = sampler(_variables(state.g_params, state.g_batch_stats), z, None)
    assert not np.allclose(got, stale, atol=1e-3)


def test_errors_are_one_line_and_name_the_fix(tmp_path, written_runs):
    workdir = written_runs["ring8"][0]
    cases = [
        (tmp_path / "missing", "is not a folder; pass a run's workdir"),
        (tmp_path, "has no config.json; it is not a gan_jax run folder"),
    ]
    for path, message in cases:
        with pytest.raises(CheckpointError, match=message):
            gan_jax.load(path)
    with pytest.raises(CheckpointError, match="no checkpoint for step 7; saved steps: 0"):
        gan_jax.load(workdir, step=7)
    with pytest.raises(CheckpointError, match="is the checkpoint of step 0, not step 3"):
        gan_jax.load(workdir / "checkpoints" / "0", step=3)
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("config.json", "model.json"):
        (empty / name).write_text((workdir / name).read_text())
    with pytest.raises(CheckpointError, match="has no checkpoints in checkpoints/; train it"):
        gan_jax.load(empty)
