"""Data sources: npz, TFDS (mock data, offline failure), batching by step, preprocessing."""

import re
import time

import numpy as np
import pytest
from helpers import data_config

from gan_jax.config import base_config
from gan_jax.data import MixtureSource, make_source, validate
from gan_jax.data.arrays import ArraySource
from gan_jax.data.preprocess import convert_channels, crop_and_resize, to_model_range
from gan_jax.errors import ConfigError, DataError


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


@pytest.mark.parametrize(
    "name, shape, labelled", [("fashion_mnist", (28, 28, 1), True), ("cifar10", (32, 32, 3), True)]
)
def test_tfds_mock_fashion_mnist_and_cifar10(name, shape, labelled):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=8):
        src = make_source(data_config(f"tfds:{name}"), shard=(0, 1))
    assert src.data_shape == shape and len(src) == 8
    assert ("y" in src.batch(0, 4, 0)) == labelled and not src.attribute_names


def test_tfds_mock_celeb_a_has_40_attributes_and_the_standard_crop():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6):
        src = make_source(data_config("tfds:celeb_a", image_size=16, crop=108), shard=(0, 1))
    assert src.data_shape == (16, 16, 3) and src.num_classes == 0
    assert len(src.attribute_names) == 40
    assert src.attribute_names[:2] == ("5_o_Clock_Shadow", "Arched_Eyebrows")
    batch = src.batch(0, 4, seed=0)
    assert batch["attributes"].shape == (4, 40) and batch["attributes"].dtype == np.int32
    assert set(np.unique(batch["attributes"])) <= {0, 1}


def test_npz_attributes_labels_none_and_attribute_errors(tmp_path):
    x = np.arange(6, dtype=np.uint8).reshape(6, 1, 1, 1).repeat(4, 1).repeat(4, 2)
    attrs = np.array([[1, -1], [-1, 1], [1, 1], [-1, -1], [1, -1], [-1, 1]])
    names = np.array(["Smiling", "Young"])
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(6) % 2, attributes=attrs, attribute_names=names)
    src = make_source(data_config(f"npz:{tmp_path / 'a.npz'}"), shard=(0, 1))
    assert src.attribute_names == ("Smiling", "Young")
    batch = src.batch(0, 6, seed=0)
    rows = np.round((batch["x"][:, 0, 0, 0] + 1) * 127.5).astype(int)  # pixel = example index
    np.testing.assert_array_equal(batch["attributes"], (attrs[rows] > 0).astype(np.int32))
    unlabelled = make_source(data_config(f"npz:{tmp_path / 'a.npz'}", labels="none"), (0, 1))
    assert unlabelled.num_classes == 0 and "y" not in unlabelled.batch(0, 2, 0)
    np.savez(tmp_path / "b.npz", x=x, attributes=attrs[:, 0])
    with pytest.raises(DataError, match="attributes has shape \\(6,\\); save it as \\(N, K\\)"):
        make_source(data_config(f"npz:{tmp_path / 'b.npz'}"), shard=(0, 1))
    np.savez(tmp_path / "c.npz", x=x, attributes=attrs, attribute_names=np.array(["A"]))
    with pytest.raises(DataError, match="but there are 1 attribute names"):
        make_source(data_config(f"npz:{tmp_path / 'c.npz'}"), shard=(0, 1))
    with pytest.raises(ConfigError, match="data.attributes='a.txt' only applies to folder"):
        make_source(data_config(f"npz:{tmp_path / 'a.npz'}", attributes="a.txt"), (0, 1))


def gradient_source(**kw):
    """10 images whose columns increase left to right, so a flip is visible."""
    images = np.tile(np.arange(0, 250, 50, dtype=np.uint8)[None, None, :, None], (10, 5, 1, 1))
    images = images + np.arange(10, dtype=np.uint8)[:, None, None, None]
    return ArraySource(images, None, "t").configure(**kw)


def test_flips_are_reproducible_from_seed_and_step():
    plain, flipped = gradient_source(), gradient_source(flip=True)
    a, b = plain.batch(3, 8, seed=1)["x"], flipped.batch(3, 8, seed=1)["x"]
    mirrored = (b[:, 0, 0, 0] > b[:, 0, -1, 0]).tolist()
    assert 0 < sum(mirrored) < 8
    for i, m in enumerate(mirrored):
        np.testing.assert_array_equal(b[i], a[i, :, ::-1] if m else a[i])
    np.testing.assert_array_equal(b, gradient_source(flip=True).batch(3, 8, seed=1)["x"])
    assert not np.array_equal(b, flipped.batch(3, 8, seed=2)["x"])


def test_bfloat16_output():
    x = gradient_source(dtype="bfloat16").batch(0, 4, 0)["x"]
    assert x.dtype.name == "bfloat16"
    np.testing.assert_allclose(
        x.astype(np.float32), gradient_source().batch(0, 4, 0)["x"], atol=1 / 128
    )
    with pytest.raises(ConfigError, match="config.data.dtype='float16' is not valid"):
        gradient_source(dtype="float16")


def ring8_source(shard):
    return make_source(data_config("ring8"), shard=shard)


@pytest.mark.parametrize("make, kw", [(gradient_source, {"flip": True}), (ring8_source, {})])
def test_processes_read_disjoint_slices_of_the_same_global_batch(make, kw):
    whole = make(shard=(0, 1), **kw).batch(5, 8, seed=3)["x"]
    parts = [make(shard=(p, 2), **kw).batch(5, 8, seed=3)["x"] for p in range(2)]
    assert parts[0].shape[0] == 4
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_batch_not_divisible_by_processes_and_config_checks():
    with pytest.raises(DataError, match="batch_size=6 does not split over 4 processes"):
        gradient_source(shard=(1, 4)).batch(0, 6, 0)
    for field, value, message in [
        ("labels", "folders", "config.data.labels='folders' is not valid"),
        ("dtype", "int8", "config.data.dtype='int8' is not valid"),
        ("prefetch", -1, "config.data.prefetch=-1 must be >= 0"),
        ("workers", -2, "config.data.workers=-2 must be >= 0"),
    ]:
        config = base_config()
        config.data[field] = value
        with pytest.raises(ConfigError, match=re.escape(message)):
            validate(config.data)


@pytest.mark.parametrize(
    "source, field, value",
    [
        ("ring8", "image_size", 32),
        ("ring8", "flip", True),
        ("npz:x.npz", "workers", 2),
        ("npz:x.npz", "cache_mb", 0),
        ("folder:faces", "tfds_data_dir", "/data/tfds"),
        ("tfds:mnist", "labels", "subfolders"),
        ("npz:x.npz", "crop", 20),
    ],
)
def test_a_field_the_source_does_not_read_is_refused(source, field, value):
    with pytest.raises(
        ConfigError, match=rf"config\.data\.{field}=.* is only read by .*; remove it"
    ):
        validate(data_config(source, **{field: value}))
    validate(data_config("folder:faces", crop=20, workers=2))  # a folder reads both
