"""The labelled data a domain classifier learns from and is scored on, and its fingerprint.

Held-out split, in order of preference:

- `npz:PATH` whose file also holds `x_test` and `y_test` (the Keras MNIST layout, e.g.
  an npz of MNIST): train on all of `x_train`, score on the test arrays;
- `tfds:NAME` / `tfds:NAME:train` of a dataset with a `test` split: score on that split;
- anything else (folders, npz without test arrays, other TFDS splits): the last
  `min(10_000, N // 10)` examples in the source's own order are held out and never trained on.

The fingerprint hashes the data the weights come from, so a changed file (same name, new
content) is a cache miss: every label, plus every pixel for in-memory arrays or an evenly spaced
sample of `SAMPLE` images for folder sources (decoding a whole folder just to hash it would cost
more than training).
"""

from __future__ import annotations

import hashlib
import zipfile

import ml_collections
import numpy as np

from gan_jax.data import DataSource, make_source
from gan_jax.data.arrays import ArraySource
from gan_jax.data.indexed import Batch, IndexedSource
from gan_jax.data.preprocess import convert_channels, crop_and_resize
from gan_jax.errors import DataError

MAX_HELD_OUT = 10_000
SAMPLE = 256


class Rows(IndexedSource):
    """The examples `rows` of an indexed source, as a source of their own (a split)."""

    def __init__(self, parent: IndexedSource, rows: np.ndarray, name: str) -> None:
        self.parent, self.rows, self.name = parent, np.asarray(rows), name
        self.data_shape = parent.data_shape
        self.num_classes = parent.num_classes
        parent_labels = getattr(parent, "labels", None)
        self.labels = None if parent_labels is None else parent_labels[self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def read(self, indices: np.ndarray) -> Batch:
        return self.parent.read(self.rows[indices])


def _unlabelled_error(data: ml_collections.ConfigDict, source: DataSource) -> DataError | None:
    if len(source.data_shape) != 3:
        return DataError(
            f"config.data.source={data.source!r} is a 2-D mixture, not images; 2-D mixtures are "
            "scored with the mode metrics (gan_jax.metrics.mixtures), not a domain classifier"
        )
    if source.num_classes < 2:
        fix = (
            "set --config.data.labels=auto or subfolders"
            if data.labels == "none"
            else "use a source with labels (npz: y_train; folder: one subfolder per class; "
            "tfds: a 'label' feature)"
        )
        return DataError(
            f"config.data.source={data.source!r} has {source.num_classes} classes; a domain "
            f"classifier needs class labels: {fix}, or use Inception features for unlabelled data"
        )
    return None


def _npz_test_arrays(path: str) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return {"x_test.npy", "y_test.npy"} <= names


def _npz_test_source(data: ml_collections.ConfigDict, path: str, num_classes: int) -> ArraySource:
    with np.load(path, allow_pickle=False) as f:
        images, labels = f["x_test"], f["y_test"]
    if images.ndim == 3:
        images = images[..., None]
    if images.dtype != np.uint8:
        raise DataError(f"{path}: x_test has dtype {images.dtype}; save images as uint8 0..255")
    images = convert_channels(images, data.channels)
    if data.image_size:
        images = crop_and_resize(images, data.image_size, data.crop)
    labels = labels.astype(np.int64).reshape(-1)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(
            f"{path}: y_test has labels {labels.min()}..{labels.max()} but y_train has "
            f"{num_classes} classes; fix the test labels"
        )
    return ArraySource(images, labels, f"npz:{path} (x_test)")


def _tfds_test_split(data: ml_collections.ConfigDict, name: str) -> bool:
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data.tfds_data_dir or None)
    return "test" in (builder.info.splits or {})


def _without_augmentation(data: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    plain = ml_collections.ConfigDict(data.to_dict())
    plain.flip, plain.dtype = False, "float32"  # a flipped digit is not the same class
    return plain


def labelled_splits(
    data: ml_collections.ConfigDict,
) -> tuple[IndexedSource, IndexedSource, str]:
    """(train source, held-out source, how the held-out set was chosen) for `data`, without
    flips. Unlabelled sources and 2-D mixtures raise DataError."""
    data = _without_augmentation(data)
    train = make_source(data, shard=(0, 1))
    error = _unlabelled_error(data, train)
    if error:
        raise error
    if not isinstance(train, IndexedSource):
        raise DataError(f"config.data.source={data.source!r} is not a finite labelled dataset")
    kind, _, arg = data.source.partition(":")
    if kind == "npz" and _npz_test_arrays(arg):
        return train, _npz_test_source(data, arg, train.num_classes), "x_test/y_test"
    if kind == "tfds":
        name, _, split = arg.partition(":")
        if split in ("", "train") and _tfds_test_split(data, name):
            test_data = ml_collections.ConfigDict(data.to_dict())
            test_data.source = f"tfds:{name}:test"
            return train, make_source(test_data, shard=(0, 1)), "tfds split 'test'"
    n = len(train)
    held = min(MAX_HELD_OUT, n // 10)
    if held < 1:
        raise DataError(
            f"{data.source} has {n} examples and no test split; a domain classifier needs at "
            "least 10 labelled examples (the last tenth is held out to measure its accuracy)"
        )
    rows = np.arange(n)
    return (
        Rows(train, rows[: n - held], f"{train.name} (first {n - held})"),
        Rows(train, rows[n - held :], f"{train.name} (last {held}, held out)"),
        f"last {held} of {n} training examples",
    )


def fingerprint(source: IndexedSource) -> str:
    """A hex digest of the labelled examples `source` trains on (see the module docstring)."""
    digest = hashlib.sha256()
    if isinstance(source, Rows):
        digest.update(np.ascontiguousarray(source.rows, np.int64).tobytes())
        digest.update(fingerprint(source.parent).encode())
        return digest.hexdigest()
    n = len(source)
    digest.update(repr((n, tuple(source.data_shape), source.num_classes)).encode())
    labels = getattr(source, "labels", None)
    if labels is not None:
        digest.update(np.ascontiguousarray(labels, np.int64).tobytes())
    images = getattr(source, "images", None)
    if images is not None:
        digest.update(np.ascontiguousarray(images).data)
    else:
        rows = np.unique(np.linspace(0, n - 1, min(n, SAMPLE)).astype(np.int64))
        batch = source.read(rows)
        digest.update(np.ascontiguousarray(batch["x"]).data)
    return digest.hexdigest()
