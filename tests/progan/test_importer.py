"""The ProGAN importer against an independent reference: the PyTorch port's own `Generator`
(ptrblck/prog_gans_pytorch_inference model.py, 3 levels: 4 → 8 → 16 px, narrowed channels)
from random weights, run in float64 by PyTorch (tests/fixtures/make_progan_fixtures.py)."""

import os

import numpy as np
import pytest
from helpers import ROOT

import gan_jax
from gan_jax.errors import InputError
from gan_jax.progan import importer

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
PTH = os.path.join(FIXTURES, "progan_torch_small.pth")
OT = os.path.join(FIXTURES, "progan_torch_small.ot")


@pytest.fixture(scope="module")
def reference():
    with np.load(os.path.join(FIXTURES, "progan_torch_small_out.npz")) as ref:
        return ref["z"].astype(np.float32), ref["image"].transpose(0, 2, 3, 1)


@pytest.mark.parametrize("path", [PTH, OT], ids=["pytorch_pth", "ocaml_torch_ot"])
def test_imported_generator_matches_pytorch(path, reference):
    z, image = reference
    gen, variables = importer.load_generator(path)
    assert (gen.resolution, gen.fmap_base, gen.fmap_max) == (16, 64, 32)
    out = np.asarray(gen.apply(variables, z, train=False))
    assert out.shape == image.shape == (4, 16, 16, 3)
    np.testing.assert_allclose(out, image, atol=2e-5, rtol=0)
    assert np.abs(image).max() > 0.3  # a non-degenerate reference


def test_both_files_give_the_same_tensors_under_ocaml_names():
    pth, ot = importer.read_weights(PTH), importer.read_weights(OT)
    assert sorted(pth) == sorted(ot)
    assert {"features.0.conv.weight", "features.5.wscale.b", "output.wscale.scale"} <= set(ot)
    for key in pth:
        np.testing.assert_array_equal(pth[key], ot[key])


def test_import_writes_a_run_folder_that_gan_jax_load_samples(tmp_path, reference):
    """The folder samples through `gan_jax.load` ('progan' is a registered model family)."""
    z, image = reference
    summary = importer.write_run(PTH, str(tmp_path / "run"))
    assert summary == {"resolution": 16, "latent_dim": 32, "params": summary["params"]}
    gen = gan_jax.load(str(tmp_path / "run"))
    assert gen.data_shape == (16, 16, 3) and gen.latent_dim == 32
    np.testing.assert_allclose(gen.sample(z=z), image, atol=2e-5, rtol=0)
    with pytest.raises(InputError, match="already holds checkpoints"):
        importer.write_run(PTH, str(tmp_path / "run"))


def test_foreign_or_missing_files_are_one_line_errors_writing_nothing(tmp_path):
    for path, match in [
        (os.path.join(FIXTURES, "torch_small_zip.pt"), "not a ProGAN generator|does not"),
        (str(tmp_path / "missing.pth"), "does not exist"),
        (os.path.join(FIXTURES, "progan_torch_small_out.npz"), "not a readable"),
    ]:
        with pytest.raises(InputError, match=match) as e:
            importer.write_run(path, str(tmp_path / "w"))
        assert "\n" not in str(e.value)
    assert not (tmp_path / "w").exists()
