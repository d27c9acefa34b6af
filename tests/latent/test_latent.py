"""Latent tools: the math (lerp/slerp, analogy grid, attribute vectors), every verb of
`python -m experiments.latent` on a tiny mnist_cgan encoder run, the TensorBoard projector
files, one-line errors, and an attribute vector that provably brightens images."""

import numpy as np
import pytest
from helpers import run_module
from PIL import Image

import gan_jax
from experiments import latent as cli
from gan_jax import latent, pictures
from gan_jax.errors import InputError

# --- the math --------------------------------------------------------------------------------


def test_lerp_and_slerp():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    np.testing.assert_allclose(latent.lerp(a, b, 0.25), [0.75, 0.5])
    np.testing.assert_allclose(latent.slerp(a, b, [0, 1]), [a, b], atol=1e-6)
    path = latent.slerp(a, b / 2, np.linspace(0, 1, 5))  # unit vectors: along the unit circle
    angles = np.arctan2(path[:, 1], path[:, 0])
    np.testing.assert_allclose(np.diff(angles), np.pi / 8, atol=1e-6)  # at constant speed
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1, atol=1e-6)
    e = np.eye(3, dtype=np.float32)
    np.testing.assert_allclose(np.linalg.norm(latent.slerp(e[0], e[2], [0.3, 0.7]), axis=1), 1)
    np.testing.assert_allclose(latent.slerp(a, 3 * a, 0.5), 2 * a)  # parallel: lerp
    keys = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    through = latent.through(keys, steps=5, method="lerp")
    assert through.shape == (9, 4)
    np.testing.assert_allclose(through[[0, 4, 8]], keys, atol=1e-6)
    with pytest.raises(InputError, match="method='cubic' is not valid"):
        latent.interpolate(a, b, 4, "cubic")


def test_analogy_grid_corners_and_border_loop():
    source, sink1, sink2 = np.array([0.0, 0.0]), np.array([1.0, 0.0]), np.array([0.0, 3.0])
    grid = latent.analogy_latents(source, sink1, sink2, size=4)
    assert grid.shape == (4, 4, 2)
    np.testing.assert_allclose(grid[0, 0], source)
    np.testing.assert_allclose(grid[0, -1], sink1)
    np.testing.assert_allclose(grid[-1, 0], sink2)
    np.testing.assert_allclose(grid[-1, -1], sink1 + sink2 - source)
    loop = latent.border_loop(grid)
    assert len(loop) == 12  # the 4x4 border, each cell once
    np.testing.assert_allclose(loop[[0, 3, 6, 9]], grid[[0, 0, 3, 3], [0, 3, 3, 0]])


def test_attribute_vectors_and_edits():
    z = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 4.0], [0.0, 0.0]])
    attributes = np.array([[1, 1], [1, 1], [0, 1], [0, 1]])
    vectors, counts = latent.attribute_vectors(z, attributes)
    np.testing.assert_allclose(vectors[0], [2.0, 1.0 - 2.0])  # mean with - mean without
    assert np.all(np.isnan(vectors[1]))  # every image has it: undefined
    np.testing.assert_array_equal(counts, [[2, 2], [4, 0]])
    assert latent.parse_edits("A:1, B:-0.5,C") == {"A": 1.0, "B": -0.5, "C": 1.0}
    np.testing.assert_allclose(latent.combine(vectors, ["A", "B"], {"A": -2}), [-4.0, 2.0])
    with pytest.raises(InputError, match="attribute 'B' has no vector"):
        latent.combine(vectors, ["A", "B"], {"B": 1})
    with pytest.raises(InputError, match="unknown attribute 'Smile'; choose from: A, B"):
        latent.combine(vectors, ["A", "B"], {"Smile": 1})
    with pytest.raises(InputError, match="bad edit 'A:x'"):
        latent.parse_edits("A:x")


def test_class_path_moves_between_one_hots_at_unit_norm(cgan_run):
    g = gan_jax.load(cgan_run)
    path = latent.class_path(g, [2, 5, 7], steps=4)
    assert path.shape == (3, 4, 10)  # 2->5, 5->7, 7->2
    np.testing.assert_allclose(path[:, 0].argmax(-1), [2, 5, 7])
    np.testing.assert_allclose(path[:, -1].argmax(-1), [5, 7, 2])
    np.testing.assert_allclose(np.linalg.norm(path, axis=-1), 1.0, atol=1e-6)
    sweep = latent.class_sweep(g, g.latents(1)[0], [2, 5, 7], steps=4)
    assert sweep.shape == (4, 3, 28, 28, 1)  # rows: steps, one column per transition
    np.testing.assert_allclose(sweep[0, 1], g.sample(z=g.latents(1), labels=[5])[0], atol=1e-5)


def _samples(g, z, labels):
    return g.sample(z=np.asarray(z, np.float32).reshape(-1, g.latent_dim), labels=labels)


def test_arithmetic_renders_a_minus_b_plus_c_of_the_group_means(cgan_run):
    g = gan_jax.load(cgan_run)
    pool = g.latents(6, seed=4)
    groups = [pool[[0, 1]], pool[[2]], pool[[3, 4, 5]]]
    labels = [np.array([1, 1]), np.array([2]), np.array([7, 7, 7])]
    result, rows = latent.arithmetic(g, groups, labels, noise=0.5, seed=3)
    means = [grp.astype(np.float64).mean(axis=0) for grp in groups]
    np.testing.assert_allclose(result, means[0] - means[1] + means[2], atol=1e-6)
    assert rows.shape == (4, 4, 28, 28, 1)  # a, b, c, result; 3 members (padded) + their mean
    white = np.ones((28, 28, 1))
    for i, (grp, y) in enumerate(zip(groups, labels, strict=True)):
        n = len(grp)
        np.testing.assert_allclose(rows[i, :n], _samples(g, grp, y), atol=1e-5)
        np.testing.assert_array_equal(rows[i, n:3], np.broadcast_to(white, (3 - n, 28, 28, 1)))
        np.testing.assert_allclose(rows[i, 3], _samples(g, means[i], y[:1])[0], atol=1e-5)
    # The result row: the result's image (with c's label), then jittered copies of it.
    np.testing.assert_allclose(rows[3, 0], _samples(g, result, [7])[0], atol=1e-5)
    assert not np.allclose(rows[3, 1], rows[3, 0], atol=1e-3)
    _, still = latent.arithmetic(g, groups, labels, noise=0.0)
    np.testing.assert_allclose(still[3], np.broadcast_to(rows[3, 0], still[3].shape), atol=1e-5)


def test_edit_moves_each_z_by_scale_times_the_direction(cgan_run):
    g = gan_jax.load(cgan_run)
    z, labels = g.latents(3, seed=2), np.array([0, 4, 9])
    direction = np.random.default_rng(0).normal(size=g.latent_dim).astype(np.float32)
    scales = [-1.0, 0.0, 2.5]
    images = latent.edit(g, z, direction, scales, labels)
    assert images.shape == (3, 3, 28, 28, 1)  # one row per z, one column per scale
    for j, scale in enumerate(scales):
        np.testing.assert_allclose(
            images[:, j], _samples(g, z + scale * direction, labels), atol=1e-5
        )
    assert not np.allclose(images[:, 0], images[:, 1], atol=1e-3)


def test_style_sweep_keeps_each_column_s_z_in_every_class(cgan_run):
    g = gan_jax.load(cgan_run)
    keys, classes = g.latents(2, seed=5), [4, 5, 6]
    rows = latent.style_sweep(g, keys, steps=3, classes=classes)
    path = latent.through(keys, 3, "slerp")
    assert rows.shape == (3, len(path), 28, 28, 1)
    np.testing.assert_allclose(path[[0, -1]], keys, atol=1e-6)
    for i, label in enumerate(classes):  # row i: class i; column j: the j-th z of the path
        np.testing.assert_allclose(rows[i], _samples(g, path, [label] * len(path)), atol=1e-5)
    assert not np.allclose(rows[0], rows[1], atol=1e-3)  # the class changes the picture


# --- the command line ------------------------------------------------------------------------


def _run(*args):
    return cli.main(list(args))


def _size(path):
    with Image.open(path) as image:
        return image.size, getattr(image, "n_frames", 1)


def test_every_verb_writes_its_pictures(cgan_encoder, digits_npz, tmp_path):
    workdir, _ = cgan_encoder
    out = workdir / "latent"
    w = f"--workdir={workdir}"

    def side(tiles):  # 28-pixel tiles, 2 pixels of padding, the grid upscaled 2x (to >= 64 px)
        return 2 * (tiles * 30 + 2)

    assert _run("sample", w, "--num=20") == [str(out / "sample.png")]
    assert _size(out / "sample.png")[0] == (side(10), side(2))  # a class per column

    _run("interpolate", w, "--seeds=0,1,2", "--steps=4")
    assert _size(out / "interpolate.png")[0] == (side(7), side(2))  # lerp, slerp rows
    assert _size(out / "interpolate.gif") == ((side(2), side(1)), 7)

    _run("class-sweep", w, "--classes=0,1,2", "--steps=3", "--num=2")
    assert _size(out / "class_sweep.png")[0] == (side(3), side(3))
    assert _size(out / "class_sweep.gif")[1] == 3 * 2

    _run("style-sweep", w, "--seeds=0,1", "--steps=3", "--classes=4,5")
    assert _size(out / "style_sweep.png")[0] == (side(3), side(2))
    g = gan_jax.load(workdir)
    keys = np.stack([g.latents(1, seed=s)[0] for s in (0, 1)])
    _assert_picture(out / "style_sweep.png", latent.style_sweep(g, keys, 3, [4, 5]))

    _run("arithmetic", w, "--a=0,10", "--b=1", "--c=2,12,22", "--num=30")
    assert _size(out / "arithmetic.png")[0] == (side(4), side(4))
    pool, labels = g.latents(30, seed=0), np.arange(30) % 10  # the tiles of `sample --num=30`
    picks = [[0, 10], [1], [2, 12, 22]]
    _, rows = latent.arithmetic(g, [pool[i] for i in picks], [labels[i] for i in picks])
    _assert_picture(out / "arithmetic.png", rows)

    _run("encode", w, f"--images={digits_npz}", "--num=5")
    with np.load(out / "encode.npz") as f:
        assert f["z"].shape == (5, 8) and list(f["labels"]) == [0, 1, 2, 3, 4]
    assert _size(out / "encode.png")[0] == (side(8), side(2))

    _run("attributes", w, f"--images=npz:{digits_npz}", "--num=0", "--scales=-1,0,1")
    vectors, names, counts = latent.attributes.load(out / "attributes.npz")
    assert names == ["Odd", "Second_Half"] and vectors.shape == (2, 8)
    np.testing.assert_array_equal(counts, [[24, 24], [24, 24]])
    assert _size(out / "attributes.png")[0] == (side(3), side(2))

    _run("edit", w, "--edits=Odd:1,Second_Half:-1", "--num=3", "--scales=0,1")
    assert _size(out / "edit.png")[0] == (side(2), side(3))
    direction = vectors[0] - vectors[1]
    rows = latent.edit(g, g.latents(3, seed=0), direction, [0.0, 1.0], np.arange(3))
    _assert_picture(out / "edit.png", rows)
    _run("edit", w, "--edits=Odd", f"--images={digits_npz}", "--num=2", "--scales=0,1")
    assert _size(out / "edit.png")[0] == (side(3), side(2))  # input + 2 edits

    _run("analogy", w, "--seeds=3,4,5", "--size=3")
    assert _size(out / "analogy.png")[0] == (side(3), side(3))
    assert _size(out / "analogy.gif")[1] == 8
    _run("analogy", w, f"--images={digits_npz}", "--indices=0,1,2", "--size=3", f"--out={tmp_path}")
    assert (tmp_path / "analogy.png").exists()

    photo = tmp_path / "photo.png"  # one RGB file of another size: made gray, cropped, resized
    Image.fromarray(np.full((40, 30, 3), 200, np.uint8)).save(photo)
    _run("encode", w, f"--images={photo}", "--label=3", f"--out={tmp_path / 'one'}")
    with np.load(tmp_path / "one" / "encode.npz") as f:
        assert f["z"].shape == (1, 8) and list(f["labels"]) == [3]

    _run("embed", w, f"--images={digits_npz}", "--num=10")
    _check_projector(out / "embed", n=10, dim=8)


def _assert_picture(path, rows):
    """The PNG at `path` is the grid of `rows` as the command line draws it (2x upscaled)."""
    with Image.open(path) as image:
        saved = np.asarray(image.convert("RGB")).astype(int)
    drawn = np.asarray(pictures.grid(rows, scale=2).convert("RGB")).astype(int)
    assert saved.shape == drawn.shape
    assert np.abs(saved - drawn).max() <= 1


def _check_projector(logdir, n, dim):
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.projector import projector_plugin

    plugin = projector_plugin.ProjectorPlugin(
        base_plugin.TBContext(logdir=str(logdir), data_provider=None)
    )
    plugin._update_configs()  # what `tensorboard --logdir` does to find embeddings
    (embedding,) = plugin._configs["."].embeddings
    assert list(embedding.tensor_shape) == [n, dim]
    assert list(embedding.sprite.single_image_dim) == [28, 28]
    lines = (logdir / "metadata.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["index", "label", "Odd", "Second_Half"]
    assert len(lines) == n + 1 and lines[3].split("\t")[:3] == ["2", "2", "0"]
    assert _size(logdir / "sprite.png")[0] == (4 * 28, 4 * 28)  # ceil(sqrt(10)) tiles a side


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample", "--workdir=/no/such/run"], "'/no/such/run' is not a folder"),
        (["arithmetic", "--workdir=W", "--a=0"], "the following arguments are required: --b, --c"),
        (["interpolate", "--workdir=W", "--seeds=1"], "--seeds=[1]: give at least two seeds"),
        (["arithmetic", "--workdir=W", "--a=0", "--b=1", "--c=99"], "--c=[99] must be indices"),
        (["sample", "--workdir=W", "--label=12"], "labels must be classes in 0..9, got 12..12"),
        (["edit", "--workdir=W", "--edits=Smile:1", "--vectors=/x.npz"], "'/x.npz' do not exist"),
        (["encode", "--workdir=G"], "encode needs an encoder: pass an encoder run as --work"),
        (["analogy", "--workdir=G", "--images=x.npz"], "analogy --images needs an encoder"),
        (["class-sweep", "--workdir=W", "--classes=0"], "classes must be at least two of 0..9"),
        (["sample", "--workdir=W", "--seed=x"], "argument --seed: invalid int value: 'x'"),
    ],
)
def test_mistakes_are_one_line_errors_with_status_2(args, message, cgan_run, cgan_encoder, capsys):
    workdir = {"W": str(cgan_encoder[0]), "G": str(cgan_run)}
    args = [a.replace("=W", f"={workdir['W']}").replace("=G", f"={workdir['G']}") for a in args]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert message in err


def test_command_line_entry_point(cgan_run):
    result = run_module("experiments.latent", "interpolate", f"--workdir={cgan_run}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [
        str(cgan_run / "latent" / "interpolate.png"),
        str(cgan_run / "latent" / "interpolate.gif"),
    ]
    bad = run_module("experiments.latent", "fly", f"--workdir={cgan_run}")
    assert bad.returncode == 2 and bad.stderr.startswith("error: argument verb: invalid choice")


# --- an attribute known by construction -------------------------------------------------------


def test_attribute_vector_moves_images_towards_the_attribute(tmp_path):
    """Images whose attribute 'Bright' decides their brightness; a GAN and an encoder trained on
    them; generated images must get brighter along +vector and darker along -vector."""
    from helpers import tiny_config

    from gan_jax import tasks
    from gan_jax.encoder.config import encoder_config, tiny
    from gan_jax.tasks.gan import train_and_evaluate

    n, rng = 64, np.random.default_rng(0)
    bright = np.arange(n) % 2
    level = np.where(bright, 190, 60)[:, None, None, None]
    images = np.clip(level + rng.integers(-40, 40, (n, 8, 8, 1)), 0, 255).astype(np.uint8)
    data = tmp_path / "bright.npz"
    np.savez(data, x=images, attributes=bright[:, None], attribute_names=np.array(["Bright"]))

    every = ("num_steps", "steps_per_dispatch", "log_every", "sample_every", "checkpoint_every")
    gan = tiny_config(
        "mnist_mlp",
        **{"data.source": f"npz:{data}", "data.batch_size": 32},
        **{f"train.{field}": 200 for field in every},  # 200 steps in one dispatch
    )
    gan.g_optimizer.lr = gan.d_optimizer.lr = 2e-3
    train_and_evaluate(gan, str(tmp_path / "gan"))
    config = tiny(encoder_config())
    config.generator_workdir, config.num_devices = str(tmp_path / "gan"), 1
    config.optimizer.update(lr=1e-2, b1=0.9)
    config.data.batch_size = 32
    config.train.update(num_steps=100, log_every=100, sample_every=100, checkpoint_every=100)
    metrics = tasks.train(config, str(tmp_path / "encoder"))
    assert metrics["eval_pixel_mse"] < 0.1  # the data's variance is 0.29

    written = _run("attributes", f"--workdir={tmp_path / 'encoder'}", f"--images={data}")
    vectors, names, _ = latent.attributes.load(written[0])
    g = gan_jax.load(tmp_path / "encoder")
    z = g.latents(64, seed=1)
    mean = [g.sample(z=z + k * vectors[0]).mean() for k in (-1, 0, 1)]
    assert names == ["Bright"]
    assert mean[0] + 0.2 < mean[1] < mean[2] - 0.2, mean
