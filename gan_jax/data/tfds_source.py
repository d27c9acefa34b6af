"""TFDS datasets (`tfds:NAME[:split]`), loaded once into memory at the config's resolution.

The prepared data must already be on disk: without it `tfds.load` retries downloads for minutes
when offline, so we check `builder.is_prepared()` first and fail in seconds with the fix.
Class labels come from a `label` feature (mnist, fashion_mnist, cifar10); a dict of boolean
`attributes` (celeb_a's 40) becomes an (N, K) 0/1 array in the feature's order.
"""

from __future__ import annotations

import time

import numpy as np
from absl import logging

from gan_jax.data.arrays import ImageArrays
from gan_jax.data.preprocess import center_crop_box
from gan_jax.errors import DataError


def _mocked(builder) -> bool:
    """True inside `tfds.testing.mock_data`, whose fake `as_dataset` needs no prepared files."""
    return type(builder).as_dataset.__module__.startswith("tensorflow_datasets.testing")


def _attribute_names(features) -> tuple[str, ...]:
    """Names of the boolean attributes (celeb_a), or () when the dataset has none."""
    import tensorflow_datasets as tfds

    if "attributes" not in features:
        return ()
    attributes = features["attributes"]
    if not isinstance(attributes, tfds.features.FeaturesDict):
        return ()
    return tuple(k for k, v in attributes.items() if v.np_dtype == np.bool_)


def load_tfds(
    name: str, split: str, data_dir: str | None, image_size: int, crop: int
) -> ImageArrays:
    """Images (N,H,W,C) uint8 with labels and attributes (when the dataset has them) from a
    prepared TFDS dataset.

    Images are center-cropped (`crop`, 0 = largest square) and resized to `image_size` inside
    tf.data when `image_size` > 0 and differs from the stored size.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    tf.config.set_visible_devices([], "GPU")  # keep TF off the accelerators JAX uses
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # tfds raises DatasetNotFoundError and friends
        raise DataError(f"unknown TFDS dataset {name!r}: {e}".splitlines()[0]) from None
    if not builder.is_prepared() and not _mocked(builder):
        raise DataError(
            f"TFDS dataset {name!r} is not prepared in {builder.data_dir}; download it once with "
            f"`python -c \"import tensorflow_datasets as tfds; tfds.load('{name}')\"` on a "
            "machine with internet (or set --config.data.tfds_data_dir=DIR), or use "
            "--config.data.source=npz:PATH"
        )
    if builder.info.splits and split.split("[")[0] not in builder.info.splits:
        raise DataError(
            f"TFDS dataset {name!r} has no split {split!r}; choose one of: "
            f"{', '.join(sorted(builder.info.splits))}"
        )
    features = builder.info.features
    label_key = "label" if "label" in features else None
    attribute_names = _attribute_names(features)
    shape = features["image"].shape
    ds = builder.as_dataset(split=split, shuffle_files=False)

    def preprocess(example):
        image = example["image"]
        if image_size and (shape[0] != image_size or shape[1] != image_size):
            h, w = tf.shape(image)[0], tf.shape(image)[1]
            top, left, size, _ = center_crop_box(shape[0] or 0, shape[1] or 0, crop)
            if shape[0] is None or shape[1] is None:  # variable-size images: crop at run time
                size = tf.minimum(h, w) if crop <= 0 else tf.minimum(crop, tf.minimum(h, w))
                top, left = (h - size) // 2, (w - size) // 2
            image = tf.image.crop_to_bounding_box(image, top, left, size, size)
            image = tf.image.resize(image, (image_size, image_size), "bicubic", antialias=True)
            image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        out = {"x": image}
        if label_key:
            out["y"] = example[label_key]
        if attribute_names:
            attrs = example["attributes"]
            out["attributes"] = tf.stack([tf.cast(attrs[k], tf.int32) for k in attribute_names])
        return out

    ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).batch(1024)
    start, parts = time.time(), {}
    for batch in tfds.as_numpy(ds):
        for key, value in batch.items():
            parts.setdefault(key, []).append(value)
    arrays = {key: np.concatenate(value) for key, value in parts.items()}
    logging.info(
        "Loaded %s:%s (%d examples) in %.1fs", name, split, len(arrays["x"]), time.time() - start
    )
    return ImageArrays(
        images=arrays["x"],
        labels=arrays.get("y"),
        attributes=arrays.get("attributes"),
        attribute_names=attribute_names,
    )
