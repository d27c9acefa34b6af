"""VAE and VAE/GAN runs through the one training loop: every config's `:tiny` run (every network
moved), its pictures, `gan_jax.load` / `experiments.evaluate`'s library on the run folder, the
encoder read back, the side-by-side picture, an exact resume, and the config errors."""

import jax
import numpy as np
import pytest
from helpers import assert_trained, gan_initial_state, tiny_config, write_npz

import gan_jax
from gan_jax import tasks
from gan_jax.errors import ConfigError, DataError
from gan_jax.evaluation.offline import evaluate_checkpoint
from gan_jax.runs.restore import read_subtrees
from gan_jax.tasks.gan import train_and_evaluate
from gan_jax.tasks.vae import PER_ROW, VAETask
from gan_jax.vae.compare import load_vae, reconstruction_mse, side_by_side


def _config(name, source, **overrides):
    config = tiny_config(name, **{"data.source": source, **overrides})
    if name == "mnist_vaegan":  # 4 steps, checkpointed at 2: the straight run of the resume test
        config.train.update(num_steps=4, checkpoint_every=2, sample_every=4, log_every=2)
    return config


@pytest.fixture(scope="module")
def mnist_runs(tmp_path_factory):
    """Tiny mnist_vae and mnist_vaegan runs on generated 28×28 images."""
    root = tmp_path_factory.mktemp("vae_runs")
    source = write_npz(root / "digits.npz", (28, 28, 1), n=16)
    runs = {}
    for name in ("mnist_vae", "mnist_vaegan"):
        workdir = str(root / name)
        runs[name] = (workdir, tasks.train(_config(name, source), workdir))
    return source, runs


def _vae_nets(name):
    return ("e_params", "g_params", "d_params") if "vaegan" in name else ("e_params", "g_params")


def test_tiny_runs_write_pictures_and_load_like_gan_runs(mnist_runs):
    source, runs = mnist_runs
    for name, (workdir, metrics) in runs.items():
        assert metrics["step"] in (2, 4) and np.isfinite(metrics["vae_loss"]), name
        assert ("d_loss" in metrics) == (name == "mnist_vaegan")
        initial = jax.device_get(VAETask(_config(name, source), workdir).init_state())
        assert_trained(workdir, initial, _vae_nets(name))
        gen = gan_jax.load(workdir)  # the decoder, as a GAN run's generator
        assert gen.sample(3).shape == (3, 28, 28, 1)
        vae = load_vae(workdir)
        # The progress picture's reconstructions (first PER_ROW training images, through the
        # task's jitted encoder) agree with the loader's encode + sample.
        shown = VAETask(_config(name, source), workdir)._shown
        assert len(shown) == PER_ROW
        np.testing.assert_allclose(
            reconstruction_mse(vae, shown), metrics["eval_pixel_mse"], rtol=1e-5
        )
        result = evaluate_checkpoint(workdir, metrics="pixel_chi2", num_samples=16)
        assert result["step"] == metrics["step"] and np.isfinite(result["pixel_chi2"])


def test_side_by_side_picture(mnist_runs, tmp_path):
    _, runs = mnist_runs
    images = np.random.default_rng(0).uniform(-1, 1, (10, 28, 28, 1)).astype(np.float32)
    out = tmp_path / "cmp.png"
    scores = side_by_side([runs["mnist_vae"][0], runs["mnist_vaegan"][0]], images, str(out))
    assert out.stat().st_size > 0 and set(scores) == {"mnist_vae", "mnist_vaegan"}
    expected = reconstruction_mse(load_vae(runs["mnist_vae"][0]), images)
    assert scores["mnist_vae"] == pytest.approx(expected)


def test_resumed_vaegan_run_equals_an_uninterrupted_one(mnist_runs, tmp_path):
    source, runs = mnist_runs
    straight_dir, straight = runs["mnist_vaegan"]
    config = _config("mnist_vaegan", source)
    config.train.num_steps = 2
    tasks.train(config, str(tmp_path / "resumed"))
    config.train.num_steps = 4
    resumed = tasks.train(config, str(tmp_path / "resumed"))
    assert resumed == straight
    a, b = (read_subtrees(d, 4, sorted) for d in (straight_dir, str(tmp_path / "resumed")))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert {"e_params", "g_params", "d_params", "e_opt_state", "d_opt_state", "g_skips"} <= set(a)


@pytest.mark.parametrize("name", ["faces_vae", "faces_vaegan", "faces_gan"])
def test_faces_configs_train_tiny(name, tmp_path):
    source = write_npz(tmp_path / "faces.npz", (10, 10, 3), n=8)
    config = tiny_config(name, **{"data.source": source, "data.image_size": 8})
    train = train_and_evaluate if name == "faces_gan" else tasks.train
    metrics = train(config, str(tmp_path / "run"))
    assert metrics["step"] == 2 and np.isfinite(
        metrics["d_loss" if name == "faces_gan" else "vae_loss"]
    )
    assert gan_jax.load(str(tmp_path / "run")).sample(2).shape == (2, 8, 8, 3)
    if name == "faces_gan":
        # The post's margin rule (m = 0.3) skips G while D's fake error is above 1 - m, as it
        # is at init (D(G(z)) ~ 0.51): D moves, G stays bit-identical and both skips count.
        initial = gan_initial_state(config)
        assert_trained(tmp_path / "run", initial, ("d_params",))
        saved = read_subtrees(str(tmp_path / "run"), 2, lambda _: ["g_params", "g_skips"])
        assert int(saved["g_skips"]) == 2
        g_leaves = zip(
            jax.tree.leaves(initial.g_params), jax.tree.leaves(saved["g_params"]), strict=True
        )
        for x, y in g_leaves:
            np.testing.assert_array_equal(x, y)
    else:
        initial = jax.device_get(VAETask(config, str(tmp_path / "run")).init_state())
        assert_trained(tmp_path / "run", initial, _vae_nets(name))


def test_config_errors(tmp_path):
    from experiments.configs import faces_gan, faces_vae

    with pytest.raises(DataError, match="folder:PATH"):  # the default needs the LFW folder
        VAETask(faces_vae.get_config(), str(tmp_path / "w"))
    assert faces_gan.get_config().data.source == "folder:lfw-deepfunneled"
    source = write_npz(tmp_path / "d.npz", (28, 28, 1), n=8)
    bad = [
        ({"vae.recon": "features"}, "mnist_vae", "needs a discriminator"),
        ({"vae.recon": "latent"}, "mnist_vaegan", "vae.recon"),
        ({"vae.gamma": 0.0}, "mnist_vaegan", "vae.gamma"),
        ({"evals.every": 2}, "mnist_vae", "experiments.evaluate"),
        ({"loss": "wgan", "stabilizers.skip_margin": 0.3}, "mnist_vaegan", "logistic"),
    ]
    for overrides, name, needle in bad:
        with pytest.raises(ConfigError, match=needle):
            VAETask(tiny_config(name, **{"data.source": source, **overrides}), str(tmp_path / "w"))
    assert not (tmp_path / "w").exists()  # nothing written
