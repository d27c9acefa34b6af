"""Data sources, chosen by the `config.data.source` string.

| source              | what                                                                 |
|---------------------|----------------------------------------------------------------------|
| `ring8`, `grid25`   | the built-in 2-D Gaussian mixtures (`gan_jax.data.mixtures`)          |
| `npz:PATH`          | arrays `x_train`/`x` (N,H,W,C uint8), optional `y_train`/`y`, `attributes` |
| `tfds:NAME[:SPLIT]` | a prepared TFDS dataset (fails fast when it is not on disk)           |
| `folder:PATH`       | a tree of PNG/JPEG/WebP/BMP files (`gan_jax.data.folder`)             |

Every source gives `batch(step, batch_size, seed)` as a pure function of its arguments — this
process's slice of the global batch — which is what makes resumed runs continue the exact data
stream, and `examples(n)` for pictures. `limit(source, n)` keeps a fixed draw of n examples for
limited-data training (`config.data.limit`, `gan_jax.data.subset`).
`gan_jax.data.prefetch.device_batches` feeds the train loop from it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Protocol

import ml_collections
import numpy as np

from gan_jax.data import mixtures
from gan_jax.data.arrays import ArraySource, ImageArrays, load_npz
from gan_jax.data.indexed import Batch, step_batches
from gan_jax.data.preprocess import convert_channels, crop_and_resize
from gan_jax.data.subset import limit as limit  # training on a fixed subset: data.limit
from gan_jax.errors import ConfigError, DataError, choice, non_negative, positive


class DataSource(Protocol):
    name: str
    data_shape: tuple[int, ...]
    num_classes: int
    shard: tuple[int, int]  # (process_index, process_count)

    def batch(self, step: int, batch_size: int, seed: int) -> Batch: ...

    def iterate(self, start_step: int, batch_size: int, seed: int) -> Iterator[Batch]: ...

    def examples(self, n: int) -> np.ndarray: ...


class MixtureSource:
    """Fresh samples from a 2-D mixture every step, seeded by (seed, step)."""

    num_classes = 0
    data_shape = (2,)

    def __init__(self, mixture: mixtures.Mixture, shard: tuple[int, int] = (0, 1)) -> None:
        self.mixture = mixture
        self.name = mixture.name
        self.shard = shard

    def batch(self, step: int, batch_size: int, seed: int) -> Batch:
        """This process's rows of the global batch (the global batch is drawn, then sliced)."""
        x = mixtures.sample(self.mixture, batch_size, np.random.default_rng([seed, step]))
        index, count = self.shard
        local = batch_size // count
        return {"x": x[index * local : (index + 1) * local]}

    def iterate(self, start_step: int, batch_size: int, seed: int) -> Iterator[Batch]:
        return step_batches(self, start_step, batch_size, seed)

    def examples(self, n: int) -> np.ndarray:
        return mixtures.sample(self.mixture, n, np.random.default_rng(12345))


def source_names() -> list[str]:
    return [*sorted(mixtures.MIXTURES), "npz:PATH", "tfds:NAME[:SPLIT]", "folder:PATH"]


def check_channels(channels: int, wanted: int, name: str) -> None:
    """The models make 1 (grayscale) or 3 (RGB) channels: kept as they are (`wanted` 0) only
    those pass; converted (`wanted` 1 or 3), RGBA too (its alpha dropped)."""
    if channels in ((1, 3) if wanted == 0 else (1, 3, 4)):
        return
    fix = "--config.data.channels=3 (drops alpha)" if channels == 4 else "convert the images"
    raise DataError(
        f"{name} has {channels} channels per image; the models make 1 (grayscale) or 3 (RGB): "
        f"use {fix}"
    )


def _array_source(arrays: ImageArrays, data: ml_collections.ConfigDict, name: str) -> ArraySource:
    check_channels(arrays.images.shape[-1], data.channels, name)
    images = convert_channels(arrays.images, data.channels)
    if data.image_size:
        images = crop_and_resize(images, data.image_size, data.crop)
    labels = None if data.labels == "none" else arrays.labels
    return ArraySource(images, labels, name, arrays.attributes, arrays.attribute_names)


def _process_shard() -> tuple[int, int]:
    import jax

    return jax.process_index(), jax.process_count()


def data_config() -> ml_collections.ConfigDict:
    """The `data` block of every config (`gan_jax.config.base_config`): the source and how
    its images are prepared and batched."""
    d = ml_collections.ConfigDict()
    d.source = "ring8"
    d.image_size = 0  # 0 = keep the source's size; else center-crop + resize to this
    d.crop = 0  # central square to crop before resizing (0 = the largest square)
    d.channels = 0  # 0 = keep the source's channels; 1 or 3 converts
    d.tfds_data_dir = ""  # "" = TFDS's default (~/tensorflow_datasets or $TFDS_DATA_DIR)
    d.limit = 0  # train on this many images of the dataset (a fixed draw; 0 = all)
    d.batch_size = 64  # the global batch, split over processes and devices
    # folder: sources — class labels from top-level subfolder names: auto (when every image is
    # in one of >= 2 subfolders) | subfolders | none ('none' also drops npz/TFDS labels).
    d.labels = "auto"
    d.attributes = ""  # folder: sources — a list_attr_celeba.txt-style file, joined by name
    d.flip = False  # random horizontal flips, reproducible from (seed, step)
    d.dtype = "float32"  # images of training batches: float32 | bfloat16
    d.prefetch = 2  # batches read and placed on the devices ahead of the step (0 = off)
    d.workers = 0  # threads decoding folder: images (0 = one per CPU core)
    d.cache_mb = 4096  # keep decoded folder: images in memory when they fit (0 = never)
    return d


LABEL_MODES = ("auto", "subfolders", "none")  # config.data.labels


_IMAGES = "an image source (npz:, tfds:, folder:)"
# Fields only some sources read: field -> (does `data` read it?, what does).
_SOURCE_FIELDS: dict[str, tuple[Callable[[str, ml_collections.ConfigDict], bool], str]] = {
    "tfds_data_dir": (lambda kind, d: kind == "tfds", "a tfds: source"),
    "workers": (lambda kind, d: kind == "folder", "a folder: source"),
    "cache_mb": (lambda kind, d: kind == "folder", "a folder: source"),
    "labels": (lambda kind, d: kind == "folder" or d.labels != "subfolders", "a folder: source"),
    "crop": (
        lambda kind, d: kind == "folder" or bool(d.image_size),
        "a folder: source or --config.data.image_size=N (npz: and tfds: crop when resizing)",
    ),
    **{
        f: (lambda kind, d: kind not in mixtures.MIXTURES, _IMAGES)
        for f in ("image_size", "channels", "flip", "dtype")
    },
}


def check_source_fields(data: ml_collections.ConfigDict) -> None:
    """ConfigError for a field the chosen kind of source does not read, set to a value other
    than its default (`data_config`)."""
    kind = data.source.partition(":")[0]
    defaults = data_config()
    for field, (reads, readers) in _SOURCE_FIELDS.items():
        if field in data and data[field] != defaults[field] and not reads(kind, data):
            raise ConfigError(
                f"config.data.{field}={data[field]!r} is only read by {readers}, not by "
                f"source {data.source!r}; remove it"
            )


def validate(data: ml_collections.ConfigDict) -> None:
    """Check the `data` block (a GAN config's; the source itself is checked when it opens)."""
    positive(data.batch_size, "data.batch_size")
    choice(data.channels, (0, 1, 3), "data.channels")
    choice(data.labels, LABEL_MODES, "data.labels")
    choice(data.dtype, ("float32", "bfloat16"), "data.dtype")
    for field in ("image_size", "crop", "prefetch", "workers", "cache_mb", "limit"):
        non_negative(data[field], f"data.{field}")
    check_source_fields(data)


def make_source(
    data: ml_collections.ConfigDict, shard: tuple[int, int] | None = None
) -> DataSource:
    """Build the source named by `data.source` (see the module docstring).

    `shard=(process_index, process_count)` selects which slice of each global batch this
    process reads; by default JAX's, so every host of a multi-host run reads only its own slice.
    """
    shard = shard or _process_shard()
    source = data.source
    kind, _, arg = source.partition(":")
    if data.attributes and kind != "folder":
        raise ConfigError(
            f"config.data.attributes={data.attributes!r} only applies to folder: sources "
            "(npz files carry an 'attributes' array, tfds:celeb_a its own); set it to ''"
        )
    if kind in mixtures.MIXTURES and not arg:
        return MixtureSource(mixtures.get_mixture(kind), shard)
    arg = os.path.expanduser(arg)  # npz:~/data.npz, folder:~/faces
    if kind == "npz" and arg:
        built = _array_source(load_npz(arg), data, source)
    elif kind == "tfds" and arg:
        from gan_jax.data.tfds_source import load_tfds

        name, _, split = arg.partition(":")
        arrays = load_tfds(
            name, split or "train", data.tfds_data_dir or None, data.image_size, data.crop
        )
        built = _array_source(arrays, data, source)
    elif kind == "folder" and arg:
        from gan_jax.data.folder import FolderSource

        built = FolderSource(
            arg,
            image_size=data.image_size,
            crop=data.crop,
            channels=data.channels,
            labels=data.labels,
            attribute_file=data.attributes,
            workers=data.workers,
            cache_mb=data.cache_mb,
            name=source,
        )
    else:
        raise DataError(
            f"config.data.source={source!r} is not valid; choose one of: "
            f"{', '.join(source_names())}"
        )
    return built.configure(flip=data.flip, dtype=data.dtype, shard=shard)
