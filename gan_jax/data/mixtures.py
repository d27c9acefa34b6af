"""The 2-D Gaussian mixture benchmarks used to measure mode collapse.

Two synthetic targets, as defined in VEEGAN (Srivastava et al., 2017, "VEEGAN: Reducing Mode
Collapse in GANs using Implicit Variational Learning") and PacGAN (Lin et al., 2018, "PacGAN: The
power of two samples in generative adversarial networks"):

* ``ring8``: 8 Gaussians with means ``(cos 2πk/8, sin 2πk/8)`` for ``k = 0..7`` and σ = 0.01.
* ``grid25``: 25 Gaussians with means on ``{-4, -2, 0, 2, 4}²`` and σ = 0.05.

A widely copied implementation builds the ring angles with
``np.linspace(0, 2 * np.pi, 8)``; because ``linspace`` includes the endpoint, the first and last
angles coincide (0 and 2π) and the "8-mode" ring really has 7 distinct modes at uneven spacing.
Here the angles are ``2πk/8`` for ``k = 0..7``, i.e. ``linspace(..., endpoint=False)``.

Sampling uses numpy (not JAX) on purpose: the data are tiny, and a seeded
``np.random.Generator`` makes evaluation sets reproducible independently of the training PRNG.
Mode-coverage metrics for these targets live in `gan_jax.metrics.mixtures`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gan_jax.errors import DataError


@dataclasses.dataclass(frozen=True, eq=False)
class Mixture:
    """An equal-weight mixture of isotropic 2-D Gaussians.

    Attributes:
      name: registry key, e.g. ``'ring8'``.
      means: ``(K, 2)`` float64 array of component means (read-only).
      std: per-coordinate standard deviation σ shared by all components.

    Equality is identity (``eq=False``): the generated ``__eq__`` would compare arrays, which is
    ambiguous, and would make instances unhashable.
    """

    name: str
    means: np.ndarray
    std: float

    @property
    def num_modes(self) -> int:
        """Number of components K."""
        return int(self.means.shape[0])


def _make(name: str, means: np.ndarray, std: float) -> Mixture:
    means = np.array(means, dtype=np.float64)
    means.setflags(write=False)
    return Mixture(name=name, means=means, std=float(std))


def _ring8() -> Mixture:
    angles = 2.0 * np.pi * np.arange(8) / 8.0
    return _make("ring8", np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01)


def _grid25() -> Mixture:
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return _make("grid25", np.stack([xs.ravel(), ys.ravel()], axis=1), 0.05)


MIXTURES: dict[str, Mixture] = {m.name: m for m in (_ring8(), _grid25())}


def get_mixture(name: str) -> Mixture:
    """Returns the registered mixture called ``name``; raises `DataError` for unknown names."""
    try:
        return MIXTURES[name]
    except KeyError:
        choices = ", ".join(sorted(MIXTURES))
        raise DataError(f"unknown mixture {name!r}; choose one of: {choices}") from None


def sample(mixture: Mixture, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws ``n`` points from ``mixture`` as an ``(n, 2)`` float32 array.

    Each point picks its component uniformly at random, then adds isotropic Gaussian noise with
    standard deviation ``mixture.std``. The same ``rng`` state gives the same points.
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    modes = rng.integers(mixture.num_modes, size=n)
    noise = rng.standard_normal((n, 2)) * mixture.std
    return (mixture.means[modes] + noise).astype(np.float32)
