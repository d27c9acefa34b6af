"""The encoder: D's body with a latent head, trained through the CLI for a frozen G (E's weights
all moved, G provably unchanged); resume; init from D; the latent loss; config and data
errors."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tree_digest
from helpers import assert_trained, tiny_config, write_checkpoint, write_npz

import gan_jax
from gan_jax import models, tasks
from gan_jax.config import base_config, stabilizers_config
from gan_jax.encoder.config import encoder_config, tiny
from gan_jax.errors import CheckpointError, ConfigError, DataError
from gan_jax.models.encoder import build_encoder, copy_discriminator_body, init_variables
from gan_jax.pictures import reconstruction_rows
from gan_jax.runs.restore import read_subtrees
from gan_jax.tasks.encoder import EncoderTask


def _model(name, shape, classes=0, **stabilizers):
    """A small model block of family `name` and a stabilizers block with `stabilizers` set."""
    config = base_config().model
    config.update(name=name, num_classes=classes, latent_dim=8, g_width=8, d_width=8)
    block = stabilizers_config()
    block.update(stabilizers)
    return config, shape, block


@pytest.mark.parametrize(
    "model, shape, stabilizers",
    [
        _model("dcgan", (28, 28, 1), classes=10),
        _model("dcgan", (32, 32, 3), d_spectral_norm=True, d_dropout=0.3),
        _model("mlp", (6, 6, 1), classes=3),
    ],
)
def test_encoder_is_the_discriminator_body_with_a_latent_head(model, shape, stabilizers):
    encoder = build_encoder(model, shape, stabilizers)
    classes = model.num_classes
    ours = jax.jit(lambda key: init_variables(encoder, key, shape, classes))(jax.random.key(0))
    _, disc = models.build(model, shape, stabilizers)
    x = jnp.ones((2, *shape)) * 0.1
    labels = jnp.array([0, 1]) if classes else None
    theirs = jax.jit(lambda key: disc.init(key, x, labels, train=False))(jax.random.key(1))
    if stabilizers.d_spectral_norm:  # the body is D's, stabilizers included
        assert "batch_stats" in theirs and theirs["batch_stats"]
    body = ours["params"]["body"]
    assert set(theirs["params"]) - set(body) <= {"logit"} and "logit" not in body
    assert set(body) == set(theirs["params"]) - {"logit"}
    assert ours["params"]["to_latent"]["kernel"].shape[-1] == model.latent_dim

    copied = copy_discriminator_body(ours, theirs["params"], theirs.get("batch_stats", {}))
    for key in body:
        for a, b in zip(
            jax.tree.leaves(copied["params"]["body"][key]),
            jax.tree.leaves(theirs["params"][key]),
            strict=True,
        ):
            np.testing.assert_array_equal(a, b)
    z, _ = jax.jit(
        lambda v: encoder.apply(
            v, x, labels, train=True, mutable=["batch_stats"], rngs={"dropout": jax.random.key(2)}
        )
    )(copied)
    assert z.shape == (2, model.latent_dim) and z.dtype == jnp.float32


def test_cli_trains_an_encoder_and_leaves_the_generator_untouched(cgan_run, cgan_encoder):
    workdir, digest_before = cgan_encoder
    assert tree_digest(cgan_run / "checkpoints") == digest_before  # G's files: byte-identical
    frozen = read_subtrees(str(workdir / "generator"), 2, lambda _: ["g_params", "g_batch_stats"])
    source = read_subtrees(str(cgan_run), 2, lambda _: ["g_params", "g_batch_stats"])
    for a, b in zip(jax.tree.leaves(frozen), jax.tree.leaves(source), strict=True):
        np.testing.assert_array_equal(a, b)  # the weights the encoder trained against
    state = read_subtrees(str(workdir), 2, lambda tree: sorted(tree))
    assert set(state["params"]) == {"body", "to_latent"}  # no generator weights in E's state
    config = tiny_config("mnist_cgan_encoder", generator_workdir=str(cgan_run))
    task = EncoderTask(config, str(workdir))
    assert_trained(workdir, jax.device_get(task.fresh_state(task.init_state())), ("params",))
    assert json.loads((workdir / "config.json").read_text())["task"] == "encoder"
    assert json.loads((workdir / "metrics.json").read_text())["step"] == 2
    assert (workdir / "samples" / "step_000002.png").exists()

    g = gan_jax.load(workdir)
    assert g.has_encoder and g.step == 2 and g.num_classes == 10
    images = g.sample(4, labels=[0, 1, 2, 3])
    z = g.encode(images, labels=[0, 1, 2, 3])
    assert z.shape == (4, g.latent_dim) and np.all(np.isfinite(z))
    attached = gan_jax.load(cgan_run, encoder=workdir)
    np.testing.assert_array_equal(attached.encode(images, [0, 1, 2, 3]), z)


def _mlp_encoder_setup(tmp_path):
    """A tiny unconditional MLP GAN checkpoint on 8x8 images and an encoder config for it."""
    write_checkpoint(
        "mnist_mlp",
        tmp_path / "gan",
        tmp_path,
        **{"data.source": _brightness_npz(tmp_path / "data.npz")},
    )
    config = tiny(encoder_config())
    config.generator_workdir = str(tmp_path / "gan")
    config.num_devices = 1
    return config


def _brightness_npz(path, n=64):
    rng = np.random.default_rng(0)
    bright = np.arange(n) % 2
    base = np.where(bright, 190, 60)[:, None, None, None]
    images = np.clip(base + rng.integers(-40, 40, (n, 8, 8, 1)), 0, 255).astype(np.uint8)
    np.savez(path, x=images, attributes=bright[:, None], attribute_names=np.array(["Bright"]))
    return f"npz:{path}"


def test_resumed_encoder_run_equals_an_uninterrupted_one(tmp_path):
    config = _mlp_encoder_setup(tmp_path)
    config.encoder.latent_loss_weight = 0.5
    config.train.update(num_steps=4, checkpoint_every=2, sample_every=4, log_every=2)
    straight = tasks.train(config, str(tmp_path / "straight"))
    assert {"pixel_mse", "latent_mse", "eval_pixel_mse"} <= set(straight)
    task = EncoderTask(config, str(tmp_path / "straight"))
    initial = jax.device_get(task.fresh_state(task.init_state()))  # the body copied from D
    assert_trained(tmp_path / "straight", initial, ("params",))

    config.train.num_steps = 2
    tasks.train(config, str(tmp_path / "resumed"))
    config.train.num_steps = 4
    resumed = tasks.train(config, str(tmp_path / "resumed"))
    assert resumed["step"] == straight["step"] == 4
    a = read_subtrees(str(tmp_path / "straight"), 4, lambda t: ["params", "opt_state"])
    b = read_subtrees(str(tmp_path / "resumed"), 4, lambda t: ["params", "opt_state"])
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert tasks.train(config, str(tmp_path / "resumed"))["step"] == 4  # finished: no-op

    # The one loop's history and pictures: the resumed run's losses are the straight run's (its
    # first part also pictured its last step, 2, so it has one more eval_pixel_mse row).
    histories = []
    for run in ("straight", "resumed"):
        lines = (tmp_path / run / "history.jsonl").read_text().splitlines()
        histories.append([json.loads(line) for line in lines])
        for name in ("loss_curves.png", "progress.gif", "samples/step_000004.png"):
            assert (tmp_path / run / name).exists(), (run, name)
    assert [r["step"] for r in histories[0]] == [2, 4, 4]  # losses at 2 and 4, eval_pixel_mse at 4
    assert {"loss", "pixel_mse", "latent_mse", "grad_norm"} <= set(histories[0][0])
    losses = [[r for r in h if "loss" in r] for h in histories]
    assert losses[0] == losses[1] and [r["step"] for r in losses[0]] == [2, 4]
    assert histories[0][-1] == histories[1][-1] and "eval_pixel_mse" in histories[0][-1]


def test_config_and_data_errors(tmp_path, cgan_run):
    config = _mlp_encoder_setup(tmp_path)
    bad = tiny(encoder_config())
    with pytest.raises(ConfigError, match="config.generator_workdir is not set"):
        tasks.train(bad, str(tmp_path / "a"))
    bad.generator_workdir = str(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="is not a folder"):
        tasks.train(bad, str(tmp_path / "a"))
    write_checkpoint("ring8", tmp_path / "ring", tmp_path)
    bad.generator_workdir = str(tmp_path / "ring")
    with pytest.raises(ConfigError, match="makes 2-D points; encoders are for image generators"):
        tasks.train(bad, str(tmp_path / "a"))
    config.data.source = f"npz:{tmp_path / 'data.npz'}"
    config.data.image_size = 16
    with pytest.raises(DataError, match=r"gives images of shape \(16, 16, 1\) but the generator"):
        tasks.train(config, str(tmp_path / "a"))
    bad.generator_workdir = str(cgan_run)
    bad.data.source = write_npz(tmp_path / "unlabelled.npz", (28, 28, 1))
    with pytest.raises(DataError, match="is conditional \\(10 classes\\) but"):
        tasks.train(bad, str(tmp_path / "a"))
    assert not (tmp_path / "a").exists()  # rejected runs leave nothing behind


def test_reconstruction_rows_alternate_inputs_and_outputs():
    real = np.full((5, 2, 2, 1), -1.0, np.float32)
    recon = np.full((5, 2, 2, 1), 0.5, np.float32)
    rows = reconstruction_rows(real, recon, per_row=3)
    assert rows.shape == (4, 3, 2, 2, 1)
    assert np.all(rows[0] == -1) and np.all(rows[1] == 0.5)
    assert np.all(rows[2, :2] == -1) and np.all(rows[2, 2] == 1)  # padded white
