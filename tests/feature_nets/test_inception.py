"""The FID InceptionV3: architecture against pytorch-fid, the torch-free converter, the resize."""

import hashlib
import os
import pickle

import jax
import numpy as np
import pytest
from helpers import ROOT, run_module
from inception_fixtures import structured_images, structured_state_dict, write_torch_zip

from gan_jax.errors import InputError
from gan_jax.feature_nets import inception, inception_convert
from gan_jax.feature_nets.features import array_batches, extract_features
from gan_jax.feature_nets.inception_net import InceptionV3
from gan_jax.feature_nets.torch_pickle import load_state_dict

DATA = os.path.join(ROOT, "tests", "fixtures")
# sum(p.numel() for p in model.parameters()) / buffers without num_batches_tracked, for
# pytorch-fid 0.3.0's FID InceptionV3 (torch 2.13.0, torchvision 0.28.0).
PYTORCH_FID_PARAMS = 23_850_960
PYTORCH_FID_BUFFERS = 34_432


def torch_keys_shapes():
    return [(e.torch_key, e.torch_shape) for e in inception_convert.layout()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A pytorch-fid state dict with structured values (seed 0) in torch's zip format, and its
    conversion."""
    directory = tmp_path_factory.mktemp("inception")
    state = structured_state_dict(torch_keys_shapes(), seed=0)
    src = directory / "pt_inception.pth"
    write_torch_zip(src, state)
    result = inception_convert.convert(str(src), str(directory / "converted.npz"))
    return state, src, result


def test_parameter_count_equals_pytorch_fid():
    shapes = inception.variable_shapes()

    def count(tree):
        return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))

    assert count(shapes["params"]) == PYTORCH_FID_PARAMS
    assert count(shapes["batch_stats"]) == PYTORCH_FID_BUFFERS
    layout = dict(torch_keys_shapes())
    assert len(layout) == 94 * 5 + 2  # 94 conv+BN units, fc weight and bias
    assert layout["Mixed_7c.branch3x3dbl_3b.conv.weight"] == (384, 384, 3, 1)
    assert layout["Mixed_6e.branch7x7dbl_5.conv.weight"] == (192, 192, 1, 7)
    assert layout["Mixed_7c.branch_pool.conv.weight"] == (192, 2048, 1, 1)
    assert layout["fc.weight"] == (1008, 2048)


def test_converter_puts_every_tensor_in_its_place(generated):
    state, src, result = generated
    assert result.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert not result.matches_expected
    assert result.num_params == PYTORCH_FID_PARAMS
    with np.load(result.out) as data:
        flat = {k: data[k] for k in data.files}
    assert str(flat["_meta/source_sha256"]) == result.sha256
    w = state["Mixed_6b.branch7x7_2.conv.weight"]  # (O, I, 1, 7): catches an H/W mix-up
    k = flat["params/Mixed_6b/branch7x7_2/conv/kernel"]
    assert k.shape == (1, 7, 128, 128)
    for o, i, j in [(0, 0, 0), (5, 17, 6), (127, 3, 2)]:
        assert k[0, j, i, o] == w[o, i, 0, j]
    w = state["Conv2d_1a_3x3.conv.weight"]
    np.testing.assert_array_equal(flat["params/Conv2d_1a_3x3/conv/kernel"][2, 1, 0], w[:, 0, 2, 1])
    for flax_name, torch_name in [("scale", "weight"), ("bias", "bias")]:
        np.testing.assert_array_equal(
            flat[f"params/Mixed_7c/branch_pool/bn/{flax_name}"],
            state[f"Mixed_7c.branch_pool.bn.{torch_name}"],
        )
    for flax_name, torch_name in [("mean", "running_mean"), ("var", "running_var")]:
        np.testing.assert_array_equal(
            flat[f"batch_stats/Mixed_5b/branch5x5_2/bn/{flax_name}"],
            state[f"Mixed_5b.branch5x5_2.bn.{torch_name}"],
        )
    np.testing.assert_array_equal(flat["params/fc/kernel"], state["fc.weight"].T)
    np.testing.assert_array_equal(flat["params/fc/bias"], state["fc.bias"])
    values = [v.tobytes() for k, v in state.items() if "num_batches" not in k]
    assert len(set(values)) == len(values)  # distinct values: a swapped pair cannot pass


def test_architecture_matches_pytorch_fid(generated):
    """pytorch-fid's own model (torchvision InceptionV3 + FIDInceptionA/C/E_1/E_2), with the
    same structured weights, gave these outputs (tests/fixtures/make_inception_fixtures.py); 139x139
    is small but leaves every pool, Mixed_7c's max pool included, with borders."""
    _, _, result = generated
    variables, _ = inception.read_converted(result.out)
    out = jax.jit(InceptionV3().apply)(variables, structured_images(2, 139))
    with np.load(os.path.join(DATA, "inception_torch_139.npz")) as ref:
        for key in ("pool3", "logits"):
            assert np.abs(ref[key]).max() > 0.05
            np.testing.assert_allclose(out[key], ref[key], rtol=1e-4, atol=1e-5)


def test_full_size_features_with_extract_features(generated):
    _, _, result = generated
    net = inception.load_fid_inception(result.out)
    assert net.source_sha256 == result.sha256 and not net.matches_published
    assert net.num_params() == PYTORCH_FID_PARAMS
    images = structured_images(3, 32)
    out = extract_features(net.apply, array_batches(images, 2), 3, 2)
    assert out["features"].shape == (3, 2048) and out["logits"].shape == (3, 1008)
    fc = net.variables["params"]["fc"]
    expected = out["features"].astype(np.float64) @ np.asarray(fc["kernel"], np.float64)
    np.testing.assert_allclose(out["logits"], expected + np.asarray(fc["bias"]), atol=1e-5)
    assert np.all(np.isfinite(out["features"])) and out["features"].std() > 1e-3


def test_resize_is_tf1_legacy_bilinear():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    for h, w in [(28, 28), (64, 64), (32, 48), (299, 299), (350, 320)]:
        x = rng.uniform(0, 255, (2, h, w, 3)).astype(np.float32)
        ref = tf.compat.v1.image.resize_bilinear(
            x, (299, 299), align_corners=False, half_pixel_centers=False
        ).numpy()
        ours = inception.resize_bilinear_tf1(x, (299, 299))
        np.testing.assert_allclose(ours, ref, atol=1e-4)  # float32 ulp at 255 is 1.5e-5
    x = rng.uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    half_pixel = tf.image.resize(x, (299, 299), method="bilinear").numpy()
    assert np.abs(np.asarray(inception.resize_bilinear_tf1(x, (299, 299))) - half_pixel).max() > 10


def test_preprocess_range_and_grayscale():
    gray = structured_images(1, 40)[..., :1]
    np.testing.assert_array_equal(
        inception.preprocess(gray), inception.preprocess(np.repeat(gray, 3, axis=-1))
    )
    u8 = np.array([0, 128, 255], np.float32).reshape(3, 1, 1, 1)
    x = np.asarray(inception.preprocess(np.broadcast_to(u8 / 127.5 - 1, (3, 20, 30, 1))))
    assert x.shape == (3, 299, 299, 3)
    np.testing.assert_allclose(x[:, 7, 11, 0], [-1.0, 0.0, 127 / 128], atol=1e-6)  # (u-128)/128
    with pytest.raises(InputError, match="1 or 3 channels"):
        inception.preprocess(np.zeros((1, 8, 8, 2), np.float32))


def test_reads_real_torch_save_files():
    """Files written by real torch.save (zip and legacy formats; views, transposes, dtypes)."""
    for name in ("torch_small_zip.pt", "torch_small_legacy.pt"):
        sd = load_state_dict(os.path.join(DATA, name))
        np.testing.assert_array_equal(sd["w"], np.arange(24, dtype=np.float32).reshape(2, 3, 4))
        np.testing.assert_array_equal(sd["t"], np.arange(6.0).reshape(2, 3).T)
        np.testing.assert_array_equal(sd["v"], np.arange(3, 7, dtype=np.float32))
        assert sd["h"].dtype == np.float16 and list(sd["h"]) == [0, 0.25, 0.5, 0.75, 1]
        assert sd["n"].dtype == np.int64 and sd["n"].shape == () and sd["n"] == 7
        assert sd["b"].tolist() == [True, False]


def test_bad_sources_are_one_line_errors_and_write_nothing(tmp_path, generated):
    state, src, _ = generated
    out = tmp_path / "out.npz"
    raw = src.read_bytes()
    (tmp_path / "truncated.pth").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "noise.pth").write_bytes(np.random.default_rng(0).bytes(5000))
    evil = {"x": os.getcwd}  # a pickle that references a function outside torch's set
    (tmp_path / "evil.pth").write_bytes(pickle.dumps(evil))
    cases = {
        "truncated.pth": "not a readable PyTorch checkpoint",
        "noise.pth": "not a readable PyTorch checkpoint",
        "evil.pth": "not a readable PyTorch checkpoint",
        "absent.pth": "is not a file",
    }
    for name, message in cases.items():
        with pytest.raises(InputError, match=message) as e:
            inception_convert.convert(str(tmp_path / name), str(out))
        assert "\n" not in str(e.value)
    assert sorted(os.listdir(tmp_path)) == ["evil.pth", "noise.pth", "truncated.pth"]
    missing = dict(state)
    del missing["Mixed_6c.branch7x7dbl_3.bn.running_var"]
    with pytest.raises(InputError, match="missing 1 keys.*Mixed_6c.branch7x7dbl_3.bn.running_var"):
        inception_convert.state_dict_to_flat(missing, "x.pth")
    with pytest.raises(InputError, match="unexpected keys.*AuxLogits.fc.weight"):
        inception_convert.state_dict_to_flat(
            {**state, "AuxLogits.fc.weight": state["fc.bias"]}, "x"
        )
    reshaped = {**state, "fc.weight": state["fc.weight"].T}
    with pytest.raises(InputError, match=r"fc.weight has shape \(2048, 1008\)"):
        inception_convert.state_dict_to_flat(reshaped, "x.pth")


def test_missing_or_bad_converted_file(tmp_path):
    with pytest.raises(InputError) as e:
        inception.load_fid_inception(str(tmp_path / "none.npz"))
    assert inception.WEIGHTS_URL in str(e.value) and "experiments.convert_inception" in str(e.value)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(InputError, match="not a converted FID Inception file"):
        inception.load_fid_inception(str(tmp_path / "other.npz"))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "other.npz").read_bytes()[:200])
    with pytest.raises(InputError, match="cannot read converted FID Inception weights"):
        inception.load_fid_inception(str(tmp_path / "cut.npz"))


def test_convert_cli(tmp_path, generated):
    _, src, result = generated
    ok = run_module("experiments.convert_inception", f"--src={src}", f"--out={tmp_path / 'w.npz'}")
    assert ok.returncode == 0, ok.stderr
    assert os.listdir(tmp_path) == ["w.npz"]  # the temporary file was renamed
    assert result.sha256 in ok.stdout and str(tmp_path / "w.npz") in ok.stdout
    assert "WARNING" in ok.stdout and inception.EXPECTED_SHA256_PREFIX in ok.stdout
    bad = run_module("experiments.convert_inception", f"--src={tmp_path / 'nope.pth'}")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "error:" in bad.stderr
