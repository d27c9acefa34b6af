"""The sweeps on a given z, as DIGITS does: `--z` (a file or the pasted numbers) and `--images`
encoded through the run's encoder; DIGITS' attribute-edit table."""

import numpy as np
import pytest
from PIL import Image

import gan_jax
from experiments import latent as cli
from gan_jax import latent, pictures
from gan_jax.errors import InputError
from gan_jax.latent import attributes as attributes_lib


def test_read_latents_from_files_and_pasted_numbers(tmp_path):
    z = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    np.savez(tmp_path / "encode.npz", z=z, mse=np.zeros(3))
    np.savetxt(tmp_path / "z.txt", z, delimiter=",")
    for spec in ("z.npy", "encode.npz", "z.txt"):
        np.testing.assert_allclose(latent.read_latents(str(tmp_path / spec), 4), z, rtol=1e-6)
    pasted = " ".join(f"{v:.6f}," for v in z[1])
    np.testing.assert_allclose(latent.read_latents(pasted, 4), z[1:2], atol=1e-6)
    with pytest.raises(InputError, match=r"shape \(1, 3\); the generator takes \(N, 4\)"):
        latent.read_latents("1,2,3", 4)
    with pytest.raises(InputError, match="neither a .npy/.npz/.txt file nor a list of numbers"):
        latent.read_latents("runs/z.npy", 4)


def test_parse_table_keeps_blank_rows():
    assert latent.parse_table("A:1,B:-1;;C") == [{"A": 1.0, "B": -1.0}, {}, {"C": 1.0}]
    with pytest.raises(InputError, match="no rows given"):
        latent.parse_table(" ")


def _vectors(path, dim):
    vectors = np.random.default_rng(1).normal(size=(2, dim)).astype(np.float32)
    attributes_lib.save(path, vectors, ["Odd", "Second_Half"], np.ones((2, 2), int))
    return vectors


def _picture(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def _same(path, rows):
    drawn = np.asarray(pictures.grid(rows, scale=2).convert("RGB")).astype(int)
    saved = _picture(path)
    assert saved.shape == drawn.shape and np.abs(saved - drawn).max() <= 1


def test_sweeps_and_the_edit_table_on_a_given_z(cgan_encoder, digits_npz, tmp_path):
    workdir, _ = cgan_encoder
    g = gan_jax.load(workdir)
    w, out = f"--workdir={workdir}", tmp_path / "out"
    z = np.random.default_rng(2).uniform(-1, 1, (2, g.latent_dim)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)

    cli.main(["class-sweep", w, f"--z={tmp_path / 'z.npy'}", "--classes=3,7", "--steps=3",
              f"--out={out}"])  # fmt: skip
    _same(out / "class_sweep.png", latent.class_sweep(g, z[0], [3, 7], 3))

    pasted = ",".join(f"{v:.8f}" for v in z[0]) + "\n" + ",".join(f"{v:.8f}" for v in z[1])
    cli.main(["interpolate", w, f"--z={pasted}", "--steps=4", "--label=5", f"--out={out}"])
    _same(out / "interpolate.png", latent.interpolation(g, z, 4, label=5))

    # --images: encoded through the run's encoder, as DIGITS' "encode, then paste" does.
    cli.main(["style-sweep", w, f"--images={digits_npz}", "--num=2", "--steps=3",
              "--classes=1,2", f"--out={out}"])  # fmt: skip
    inputs = latent.read_inputs(g, str(digits_npz), limit=2)
    encoded = g.encode(inputs.images, inputs.model_labels(g))
    _same(out / "style_sweep.png", latent.style_sweep(g, encoded, 3, [1, 2]))

    vectors = _vectors(tmp_path / "attributes.npz", g.latent_dim)
    table = "Odd:1,Second_Half:-1;;Second_Half:2"
    cli.main(["edit-table", w, f"--z={tmp_path / 'z.npy'}", f"--rows={table}", "--label=4",
              f"--vectors={tmp_path / 'attributes.npz'}", f"--out={out}"])  # fmt: skip
    moves = [vectors[0] - vectors[1], np.zeros(g.latent_dim), 2 * vectors[1]]
    expected = np.stack(
        [g.sample(z=z + m[None], labels=np.array([4, 4])) for m in moves]
    )  # (rows, z's, H, W, C): row r is every z plus row r's move
    _same(out / "edit_table.png", expected)
    rows = latent.edit_table(g, z, vectors, ["Odd", "Second_Half"], latent.parse_table(table),
                             np.array([4, 4]))  # fmt: skip
    np.testing.assert_allclose(rows, expected, atol=1e-5)
    np.testing.assert_allclose(rows[1], g.sample(z=z, labels=np.array([4, 4])), atol=1e-5)


def test_a_path_needs_two_given_zs(cgan_run, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["interpolate", f"--workdir={cgan_run}", "--z=0,0,0,0,0,0,0,0"])
    assert info.value.code == 2
    assert "a path needs at least two z's; got 1" in capsys.readouterr().err
