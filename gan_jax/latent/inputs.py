"""Real images for the encoder-based tools (encode, attributes, embed), fitted to a generator.

`read_inputs(gen, spec)` reads the first images of any data source training accepts
(`npz:PATH`, `tfds:NAME[:SPLIT]`, `folder:PATH`; a bare `.npz` file or folder works too) or a
single image file, center-crops and resizes them to the generator's image size and channels
exactly as training did (the run's `data.crop`), and keeps their labels and attribute matrix
when the dataset has them. The default `spec` is the generator run's own training data.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from gan_jax.config import base_config
from gan_jax.data.preprocess import convert_channels, crop_and_resize, to_model_range
from gan_jax.errors import InputError

if TYPE_CHECKING:  # the latent tools take a loaded generator, without importing JAX
    from gan_jax.runs.loading import Generator

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")


@dataclasses.dataclass
class Inputs:
    """images float32 (N, *data_shape) in [-1, 1]; labels (N,) int or None; attributes (N, A)
    0/1 or None with their names."""

    images: np.ndarray
    labels: np.ndarray | None
    attributes: np.ndarray | None
    attribute_names: tuple[str, ...]

    def model_labels(self, gen: Generator, label: int | None = None) -> np.ndarray | None:
        """The labels to give a conditional generator/encoder for these images: `label` for
        all when given, else the dataset's; None for an unconditional generator."""
        if not gen.num_classes:
            return None
        if label is not None:
            return gen.labels(label, len(self.images))
        if self.labels is None:
            raise InputError(
                f"the generator is conditional ({gen.num_classes} classes) but these images have "
                "no labels; pass a labelled dataset or one class for all (--label=K)"
            )
        return gen.labels(self.labels.astype(np.int32), len(self.images))


def _source_spec(spec: str) -> str:
    if spec.partition(":")[0] in ("npz", "tfds", "folder"):
        return spec
    if spec.endswith(".npz"):
        return f"npz:{spec}"
    if os.path.isdir(spec):
        return f"folder:{spec}"
    raise InputError(
        f"cannot read images from {spec!r}; pass an image file, a folder, a .npz file, or a "
        "source such as npz:PATH, tfds:NAME[:SPLIT], folder:PATH"
    )


def _data_config(gen: Generator, spec: str):
    """The run's data settings (crop, TFDS folder, ...) with `spec` as the source, resized to
    the generator's images."""
    data = base_config().data
    run_data = gen.config.get("data") or {}
    for key in data:
        if key in run_data and run_data[key] is not None:
            data[key] = run_data[key]
    data.source = spec
    data.image_size, data.channels = gen.data_shape[0], gen.data_shape[2]
    return data


def _single_image(path: str, gen: Generator) -> np.ndarray:
    try:
        with Image.open(path) as img:
            picture = np.asarray(img.convert("RGB" if gen.data_shape[2] == 3 else "L"))
    except OSError as e:
        raise InputError(f"cannot read image {path!r}: {e}") from None
    picture = picture.reshape((1, *picture.shape[:2], -1))
    crop = int(gen.config.get("data", {}).get("crop", 0) or 0)
    return crop_and_resize(convert_channels(picture, gen.data_shape[2]), gen.data_shape[0], crop)


def read_inputs(gen: Generator, spec: str | None = None, limit: int = 0) -> Inputs:
    """The first `limit` images (0 = all) of `spec`, fitted to `gen` (see the module doc)."""
    from gan_jax.data import make_source

    if not gen.makes_images:
        raise InputError("the encoder tools need an image generator")
    spec = spec or gen.config.data.source
    if os.path.isfile(spec) and spec.lower().endswith(IMAGE_SUFFIXES):
        return Inputs(to_model_range(_single_image(spec, gen)), None, None, ())
    source = make_source(_data_config(gen, _source_spec(spec)))
    if tuple(source.data_shape) != gen.data_shape:
        raise InputError(
            f"{spec} gives images of shape {tuple(source.data_shape)}, not the generator's "
            f"{gen.data_shape}"
        )
    n = len(source) if limit <= 0 else min(limit, len(source))
    if n == 0:
        raise InputError(f"{spec} holds no images")
    batch = source.read(np.arange(n))
    attributes = batch.get("attributes")
    return Inputs(
        images=to_model_range(batch["x"]),
        labels=batch.get("y"),
        attributes=attributes,
        attribute_names=tuple(getattr(source, "attribute_names", ()) or ())
        if attributes is not None
        else (),
    )


def read_latents(spec: str, latent_dim: int) -> np.ndarray:
    """Latent vectors (N, latent_dim) float32 from `spec`: a .npy file, an .npz file (its `z`,
    as `experiments.latent encode` writes, or its only array), a text file (numbers separated by
    spaces or commas, one vector per line), or the numbers themselves (a pasted z, as DIGITS'
    forms take it)."""
    text = None
    if os.path.isfile(spec):
        try:
            if spec.endswith(".npy"):
                values = np.load(spec, allow_pickle=False)
            elif spec.endswith(".npz"):
                with np.load(spec, allow_pickle=False) as f:
                    names = list(f.keys())
                    key = "z" if "z" in names else (names[0] if len(names) == 1 else None)
                    if key is None:
                        raise InputError(f"{spec} holds {names}; expected a 'z' array")
                    values = f[key]
            else:
                with open(spec) as f:
                    text = f.read()
        except (OSError, ValueError) as e:
            raise InputError(f"cannot read latent vectors from {spec!r}: {e}") from None
    else:
        text = spec
    if text is not None:
        try:
            rows = [line.replace(",", " ").split() for line in text.strip().splitlines()]
            values = np.array([[float(v) for v in row] for row in rows if row])
        except ValueError:
            raise InputError(
                f"--z={spec[:40]!r} is neither a .npy/.npz/.txt file nor a list of numbers"
            ) from None
    values = np.asarray(values, np.float32)
    if values.ndim == 1 or (values.ndim == 2 and len(values) == 1 and values.size == latent_dim):
        values = values.reshape(1, -1)
    if values.ndim != 2 or values.shape[1] != latent_dim or len(values) == 0:
        raise InputError(
            f"latent vectors from {spec[:40]!r} have shape {values.shape}; the generator takes "
            f"(N, {latent_dim})"
        )
    return values
