"""Attribute vectors (the DIGITS GAN walkthrough): encode a labelled dataset, and for each
attribute take the mean z of the images that have it minus the mean z of those that do not.
Adding k times that vector to any z moves its image towards the attribute ("Black Hair +1,
Blond Hair -1").
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_jax.errors import InputError
from gan_jax.platform.files import write_bytes_atomic

if TYPE_CHECKING:  # the latent tools take a loaded generator, without importing JAX
    from gan_jax.runs.loading import Generator


def attribute_vectors(z: np.ndarray, attributes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vectors (A, D), counts (A, 2)) from latent vectors z (N, D) and an attribute matrix
    (N, A) (nonzero / True = has it). counts[a] = (images with, images without); the vector of
    an attribute that is missing on either side is NaN (it is undefined)."""
    z = np.asarray(z, np.float64)
    has = np.asarray(attributes) > 0
    if has.ndim != 2 or len(has) != len(z):
        raise InputError(
            f"attributes must be an (N, A) matrix for the N={len(z)} images, got {has.shape}"
        )
    with_n = has.sum(axis=0)
    without_n = len(z) - with_n
    with_mean = has.T.astype(np.float64) @ z / np.maximum(with_n, 1)[:, None]
    without_mean = (~has).T.astype(np.float64) @ z / np.maximum(without_n, 1)[:, None]
    vectors = with_mean - without_mean
    vectors[(with_n == 0) | (without_n == 0)] = np.nan
    return vectors.astype(np.float32), np.stack([with_n, without_n], axis=1)


def parse_edits(text: str) -> dict[str, float]:
    """'Black_Hair:1,Blond_Hair:-1' -> {'Black_Hair': 1.0, 'Blond_Hair': -1.0}; a name without
    a weight counts 1."""
    edits = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, weight = item.partition(":")
        try:
            edits[name.strip()] = float(weight) if sep else 1.0
        except ValueError:
            raise InputError(
                f"bad edit {item!r}; write NAME:WEIGHT, e.g. Black_Hair:1,Blond_Hair:-1"
            ) from None
    if not edits:
        raise InputError("no edits given; write NAME:WEIGHT, e.g. Black_Hair:1,Blond_Hair:-1")
    return edits


def combine(vectors: np.ndarray, names: Sequence[str], edits: Mapping[str, float]) -> np.ndarray:
    """sum of weight * vector over the named attributes."""
    index = {name: i for i, name in enumerate(names)}
    total = np.zeros(vectors.shape[1], np.float32)
    for name, weight in edits.items():
        if name not in index:
            raise InputError(f"unknown attribute {name!r}; choose from: {', '.join(names)}")
        vector = vectors[index[name]]
        if not np.all(np.isfinite(vector)):
            raise InputError(
                f"attribute {name!r} has no vector: the images it was computed from all had it "
                "or all lacked it"
            )
        total += weight * vector
    return total


def edit(
    gen: Generator,
    z: np.ndarray,
    direction: np.ndarray,
    scales: Sequence[float],
    labels: Any = None,
) -> np.ndarray:
    """Each z (N, D) moved by scale * direction for every scale: (N, len(scales), H, W, C)."""
    z = np.asarray(z, np.float32)
    scales = np.asarray(scales, np.float32)
    moved = z[:, None, :] + scales[None, :, None] * np.asarray(direction, np.float32)
    if labels is not None:
        labels = np.repeat(np.asarray(labels), len(scales), axis=0)
    images = gen.sample(z=moved.reshape(-1, z.shape[1]), labels=labels)
    return images.reshape((len(z), len(scales), *images.shape[1:]))


def parse_table(text: str) -> list[dict[str, float]]:
    """DIGITS' attribute-edit table: rows separated by ';', each 'NAME:WEIGHT,...' as in
    `parse_edits`; a blank row is the unedited z ('Black_Hair:1,Blond_Hair:-1;;Smiling:-1')."""
    rows = [part.strip() for part in text.split(";")]
    if len(rows) == 1 and not rows[0]:
        raise InputError("no rows given; write NAME:WEIGHT,...;NAME:WEIGHT,... (';' between rows)")
    return [parse_edits(row) if row else {} for row in rows]


def edit_table(
    gen: Generator,
    z: np.ndarray,
    vectors: np.ndarray,
    names: Sequence[str],
    rows: Sequence[Mapping[str, float]],
    labels: Any = None,
) -> np.ndarray:
    """One image per row of the table and z: row r shows z + sum of weight · vector over its
    attributes (an empty row: z itself). Returns (len(rows), N, H, W, C)."""
    z = np.asarray(z, np.float32)
    moves = np.stack(
        [combine(vectors, names, row) if row else np.zeros(z.shape[1], np.float32) for row in rows]
    )
    moved = moves[:, None, :] + z[None, :, :]
    if labels is not None:
        labels = np.tile(np.asarray(labels), len(rows))
    images = gen.sample(z=moved.reshape(-1, z.shape[1]), labels=labels)
    return images.reshape((len(rows), len(z), *images.shape[1:]))


def save(path: str | os.PathLike, vectors: np.ndarray, names: Sequence[str], counts) -> None:
    """Write vectors, attribute names and counts to an .npz (atomically)."""
    buffer = io.BytesIO()
    np.savez(buffer, vectors=vectors, names=np.asarray(list(names), dtype=str), counts=counts)
    write_bytes_atomic(buffer.getvalue(), path)


def load(path: str | os.PathLike) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(vectors, names, counts) written by `save`."""
    if not os.path.exists(path):
        raise InputError(
            f"attribute vectors {os.fspath(path)!r} do not exist; compute them first with "
            "`python -m experiments.latent attributes`"
        )
    with np.load(path, allow_pickle=False) as f:
        return f["vectors"], [str(n) for n in f["names"]], f["counts"]
