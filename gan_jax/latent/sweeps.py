"""Pictures of a generator's latent space: interpolations, class and style sweeps, latent
arithmetic and analogy grids.

Each function takes a loaded `gan_jax.Generator` and returns float images in [-1, 1] laid out
as the picture shows them, (rows, cols, H, W, C), ready for `gan_jax.pictures.grid`
(notebooks) or `save_png` (the `experiments.latent` command line).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_jax.errors import InputError
from gan_jax.latent import paths

if TYPE_CHECKING:  # the latent tools take a loaded generator, without importing JAX
    from gan_jax.runs.loading import Generator


def _check_images(gen: Generator) -> None:
    if not gen.makes_images:
        raise InputError(
            f"this generator makes {gen.data_shape[0]}-D points, not images; latent pictures "
            "need an image generator"
        )


def _render(gen: Generator, z: np.ndarray, labels: Any, shape: tuple[int, ...]) -> np.ndarray:
    images = gen.sample(z=np.asarray(z, np.float32).reshape(-1, gen.latent_dim), labels=labels)
    return images.reshape((*shape, *gen.data_shape))


def _one_label(gen: Generator, label: int | None, n: int) -> np.ndarray | None:
    """`n` copies of `label` for a conditional generator (default class 0); None otherwise."""
    if not gen.num_classes:
        if label is not None:
            raise InputError("this generator is unconditional; drop the label")
        return None
    return gen.labels(0 if label is None else label, n)


def interpolation(
    gen: Generator,
    keys: np.ndarray,
    steps: int = 8,
    methods: Sequence[str] = paths.METHODS,
    label: int | None = None,
) -> np.ndarray:
    """One row per method (lerp, slerp) along the path through `keys` (K, latent_dim)."""
    _check_images(gen)
    z = np.stack([paths.through(keys, steps, m) for m in methods])
    return _render(gen, z, _one_label(gen, label, z.shape[0] * z.shape[1]), z.shape[:2])


def class_path(gen: Generator, classes: Sequence[int] | None, steps: int) -> np.ndarray:
    """Soft one-hot labels (T, steps, K) from each class to the next by slerp, ending back at
    the first class, so T = len(classes) transitions."""
    k = gen.num_classes
    if not k:
        raise InputError("class sweeps need a conditional generator (num_classes > 0)")
    classes = list(range(k)) if classes is None else [int(c) for c in classes]
    if len(classes) < 2 or min(classes) < 0 or max(classes) >= k:
        raise InputError(f"classes must be at least two of 0..{k - 1}, got {classes}")
    eye = np.eye(k, dtype=np.float32)
    ends = zip(classes, classes[1:] + classes[:1], strict=True)
    return np.stack([paths.interpolate(eye[a], eye[b], steps, "slerp") for a, b in ends])


def class_sweep(
    gen: Generator, z: np.ndarray, classes: Sequence[int] | None = None, steps: int = 8
) -> np.ndarray:
    """The same z rendered while its label moves from class to class by slerp on the one-hot.

    One column per transition (classes[j] -> classes[j + 1], the last back to the first), its
    `steps` rows going from one class (top) to the next (bottom): (steps, T, H, W, C).
    """
    _check_images(gen)
    labels = class_path(gen, classes, steps)  # (T, steps, K)
    t, s, k = labels.shape
    z = np.broadcast_to(np.asarray(z, np.float32), (t * s, gen.latent_dim))
    images = _render(gen, z, labels.reshape(t * s, k), (t, s))
    return images.swapaxes(0, 1)


def style_sweep(
    gen: Generator, keys: np.ndarray, steps: int = 6, classes: Sequence[int] | None = None
) -> np.ndarray:
    """z moved along a slerp path through `keys` (random z's), one row per class, so each
    column shows one style in every class: (classes or 1, path length, H, W, C)."""
    _check_images(gen)
    z = paths.through(keys, steps, "slerp")
    if not gen.num_classes:
        return _render(gen, z, None, (1, len(z)))
    classes = list(range(gen.num_classes)) if classes is None else [int(c) for c in classes]
    labels = np.repeat(np.asarray(classes, np.int64), len(z))
    return _render(gen, np.tile(z, (len(classes), 1)), labels, (len(classes), len(z)))


def arithmetic(
    gen: Generator,
    groups: Sequence[np.ndarray],
    labels: Sequence[Any] | None = None,
    noise: float = 0.25,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Latent arithmetic a - b + c on the mean z of each group (Radford et al. 2016; the Keras
    post's "smiling woman - neutral woman + neutral man").

    Args:
      groups: three arrays (n_i, latent_dim), the z's of a, b and c.
      labels: for a conditional generator, each group's labels (n_i,); the result is rendered
        with c's first label.
      noise: the result row shows the result and copies of it plus N(0, noise^2) noise.

    Returns:
      (result z, images (4, n + 1, H, W, C)): rows a, b, c show their members then the image of
      their mean z (rows shorter than n are padded with white); row 4 the result.
    """
    _check_images(gen)
    if len(groups) != 3 or any(len(g) == 0 for g in groups):
        raise InputError("arithmetic needs three non-empty groups of z's: a, b and c")
    if gen.num_classes and (labels is None or len(labels) != 3):
        raise InputError("a conditional generator needs the labels of each group")
    means = [np.asarray(g, np.float32).mean(axis=0) for g in groups]
    result = means[0] - means[1] + means[2]
    n = max(len(g) for g in groups)
    white = np.ones(gen.data_shape, np.float32)
    rows = []
    for i, g in enumerate(groups):
        y = None if labels is None else np.asarray(labels[i])
        members = gen.sample(z=g, labels=y)
        mean_label = None if y is None else y[:1]
        mean = gen.sample(z=means[i][None], labels=mean_label)
        pad = [white] * (n - len(g))
        rows.append(np.stack([*members, *pad, mean[0]]))
    rng = np.random.default_rng(seed)
    jitter = rng.normal(0.0, noise, (n, gen.latent_dim)).astype(np.float32)
    z = np.concatenate([result[None], result[None] + jitter])
    y = None if labels is None else np.full((n + 1,), int(np.asarray(labels[2])[0]))
    rows.append(gen.sample(z=z, labels=y))
    return result, np.stack(rows)


def analogy_latents(
    source: np.ndarray, sink1: np.ndarray, sink2: np.ndarray, size: int
) -> np.ndarray:
    """The DIGITS analogy grid's z's (size, size, D): z[i, j] = source + j/(size-1) (sink1 -
    source) + i/(size-1) (sink2 - source). Corners: source top left, sink1 top right, sink2
    bottom left, and the destination sink1 + sink2 - source bottom right."""
    if size < 2:
        raise InputError(f"size={size} must be >= 2")
    source, sink1, sink2 = (np.asarray(v, np.float64) for v in (source, sink1, sink2))
    u = np.linspace(0.0, 1.0, size)
    grid = (
        source
        + u[None, :, None] * (sink1 - source)[None, None]
        + u[:, None, None] * (sink2 - source)[None, None]
    )
    return grid.astype(np.float32)


def analogy(
    gen: Generator,
    source: np.ndarray,
    sink1: np.ndarray,
    sink2: np.ndarray,
    size: int = 8,
    label: int | None = None,
) -> np.ndarray:
    """Images of `analogy_latents` (size, size, H, W, C), all with one label."""
    _check_images(gen)
    z = analogy_latents(source, sink1, sink2, size)
    return _render(gen, z, _one_label(gen, label, size * size), (size, size))


def border_loop(grid: np.ndarray) -> np.ndarray:
    """The cells of a (rows, cols, ...) grid around its border, clockwise from the top left
    (source -> sink1 -> destination -> sink2 -> back), as frames for an animation."""
    rows, cols = grid.shape[:2]
    cells = (
        [(0, j) for j in range(cols)]
        + [(i, cols - 1) for i in range(1, rows)]
        + [(rows - 1, j) for j in range(cols - 2, -1, -1)]
        + [(i, 0) for i in range(rows - 2, 0, -1)]
    )
    return np.stack([grid[i, j] for i, j in cells])
