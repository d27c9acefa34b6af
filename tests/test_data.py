"""Data sources: npz, TFDS (mock data, offline failure), batching by step, preprocessing."""

import time

import numpy as np
import pytest

from gan_jax.config import base_config
from gan_jax.data import MixtureSource, make_source
from gan_jax.data.arrays import ArraySource
from gan_jax.data.preprocess import convert_channels, crop_and_resize, to_model_range
from gan_jax.errors import DataError


def data_config(source, **kw):
    c = base_config().data
    c.source = source
    for k, v in kw.items():
        c[k] = v
    return c


def test_npz_with_x_train_and_labels(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (20, 28, 28, 1), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=np.arange(20) % 4)
    src = make_source(data_config(f"npz:{tmp_path / 'd.npz'}"))
    assert src.data_shape == (28, 28, 1) and src.num_classes == 4 and len(src) == 20
    b = src.batch(0, 8, seed=0)
    assert b["x"].dtype == np.float32 and b["x"].shape == (8, 28, 28, 1)
    assert b["x"].min() >= -1 and b["x"].max() <= 1
    assert b["y"].dtype == np.int32


def test_npz_with_plain_x_grayscale_2d_resized_to_rgb(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (10, 40, 30), dtype=np.uint8)  # (N,H,W)
    np.savez(tmp_path / "d.npz", x=x)
    src = make_source(data_config(f"npz:{tmp_path / 'd.npz'}", image_size=16, channels=3))
    assert src.data_shape == (16, 16, 3) and src.num_classes == 0
    assert "y" not in src.batch(0, 4, 0)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"images": np.zeros((4, 8, 8, 1), np.uint8)}, "no 'x_train' or 'x'"),
        ({"x": np.zeros((4, 8, 8, 1), np.float32)}, "dtype float32"),
        ({"x": np.zeros((4, 8, 8, 1), np.uint8), "y": np.zeros(3)}, "4 images but 3 labels"),
    ],
)
def test_npz_errors(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=message):
        make_source(data_config(f"npz:{tmp_path / 'd.npz'}"))


def test_unknown_source_lists_choices():
    with pytest.raises(DataError, match="choose one of: grid25, ring8, npz:PATH"):
        make_source(data_config("imagenet"))


def test_batches_are_a_function_of_seed_and_step_and_cover_each_epoch():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    src = ArraySource(images, None, "t")
    seen = np.concatenate([src.batch(s, 3, seed=1)["x"].ravel() for s in range(3)])
    assert len(np.unique(seen)) == 9  # one epoch of 3 full batches: no repeats
    again = ArraySource(images, None, "t")  # a fresh process resuming at step 4
    np.testing.assert_array_equal(src.batch(4, 3, seed=1)["x"], again.batch(4, 3, seed=1)["x"])
    it = again.iterate(2, 3, seed=1)
    np.testing.assert_array_equal(next(it)["x"], src.batch(2, 3, seed=1)["x"])
    assert not np.array_equal(src.batch(0, 3, seed=1)["x"], src.batch(0, 3, seed=2)["x"])
    with pytest.raises(DataError, match="fewer than config.data.batch_size=11"):
        src.batch(0, 11, 0)


def test_mixture_source_is_deterministic_per_step():
    src = make_source(data_config("ring8"))
    assert isinstance(src, MixtureSource) and src.data_shape == (2,)
    np.testing.assert_array_equal(src.batch(5, 16, 0)["x"], src.batch(5, 16, 0)["x"])
    assert not np.array_equal(src.batch(5, 16, 0)["x"], src.batch(6, 16, 0)["x"])


def test_preprocessing():
    assert to_model_range(np.array([0, 255], np.uint8)).tolist() == [-1.0, 1.0]
    rgb = np.zeros((1, 2, 2, 3), np.uint8)
    rgb[..., 0] = 255
    assert convert_channels(rgb, 1)[0, 0, 0, 0] == round(0.299 * 255)
    assert convert_channels(np.full((1, 2, 2, 1), 7, np.uint8), 3).shape == (1, 2, 2, 3)
    assert convert_channels(np.zeros((1, 2, 2, 4), np.uint8), 3).shape == (1, 2, 2, 3)
    # Center crop: a bright central square inside a dark border survives the crop.
    img = np.zeros((1, 30, 20, 1), np.uint8)
    img[0, 5:25, :, 0] = 200
    out = crop_and_resize(img, 10, crop=0)
    assert out.shape == (1, 10, 10, 1) and out.min() == 200


def test_tfds_mock_mnist_loads_with_labels():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        src = make_source(data_config("tfds:mnist"))
        assert src.data_shape == (28, 28, 1) and len(src) == 12 and src.num_classes <= 10
        resized = make_source(data_config("tfds:mnist:test", image_size=16, channels=3))
        assert resized.data_shape == (16, 16, 3)


def test_tfds_not_prepared_fails_fast_with_the_fix(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    started = time.time()
    with pytest.raises(DataError, match="not prepared.*tfds.load\\('mnist'\\)"):
        make_source(data_config("tfds:mnist", tfds_data_dir=str(tmp_path)))
    assert time.time() - started < 30
    with pytest.raises(DataError, match="unknown TFDS dataset 'no_such_dataset'"):
        make_source(data_config("tfds:no_such_dataset", tfds_data_dir=str(tmp_path)))
