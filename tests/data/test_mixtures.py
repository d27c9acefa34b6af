"""Tests for the 2-D Gaussian mixture benchmarks and the VEEGAN/PacGAN mode metrics."""

import itertools
import math

import numpy as np
import pytest

from gan_jax.data.mixtures import MIXTURES, get_mixture, sample
from gan_jax.errors import DataError
from gan_jax.metrics.mixtures import NUM_EVAL_SAMPLES, mode_metrics


def _pairwise(means):
    return np.linalg.norm(means[:, None] - means[None, :], axis=-1)


# --- geometry -------------------------------------------------------------------------------


def test_ring8_has_eight_distinct_equally_spaced_means_on_unit_circle():
    ring = get_mixture("ring8")
    assert ring.means.shape == (8, 2) and ring.means.dtype == np.float64
    assert ring.std == 0.01
    np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 1.0, atol=1e-12)
    d = _pairwise(ring.means)
    # Neighbours are 2 sin(pi/8) apart; the linspace(endpoint=True) bug gives a zero distance.
    off_diag = d[~np.eye(8, dtype=bool)]
    assert off_diag.min() == pytest.approx(2 * math.sin(math.pi / 8))
    for k in range(8):
        assert d[k, (k + 1) % 8] == pytest.approx(2 * math.sin(math.pi / 8))
        assert d[k, (k + 4) % 8] == pytest.approx(2.0)
    np.testing.assert_allclose(ring.means[0], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(ring.means[2], [0.0, 1.0], atol=1e-12)


def test_grid25_means_are_the_5x5_lattice():
    grid = get_mixture("grid25")
    assert grid.means.shape == (25, 2)
    assert grid.std == 0.05
    expected = set(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
    assert {tuple(m) for m in grid.means.tolist()} == expected
    assert _pairwise(grid.means)[~np.eye(25, dtype=bool)].min() == pytest.approx(2.0)


def test_registry_and_unknown_name():
    assert set(MIXTURES) == {"ring8", "grid25"}
    assert get_mixture("grid25") is MIXTURES["grid25"]
    with pytest.raises(DataError, match=r"^unknown mixture 'x'; choose one of: grid25, ring8$"):
        get_mixture("x")


def test_means_are_read_only():
    with pytest.raises(ValueError):
        get_mixture("ring8").means[0, 0] = 5.0


# --- sampling -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_samples_cluster_around_means_with_uniform_modes(name):
    mixture = get_mixture(name)
    n = 20_000
    x = sample(mixture, n, np.random.default_rng(0))
    assert x.shape == (n, 2) and x.dtype == np.float32

    d = np.linalg.norm(x[:, None].astype(np.float64) - mixture.means[None], axis=-1)
    nearest = d.argmin(axis=1)
    residual = x - mixture.means[nearest]
    assert d.min(axis=1).max() < 6 * mixture.std
    np.testing.assert_allclose(residual.std(axis=0), mixture.std, rtol=0.05)
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=0.05 * mixture.std)

    counts = np.bincount(nearest, minlength=mixture.num_modes)
    expected = n / mixture.num_modes
    assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected))


def test_sample_is_deterministic_given_seed():
    ring = get_mixture("ring8")
    a = sample(ring, 100, np.random.default_rng(7))
    b = sample(ring, 100, np.random.default_rng(7))
    c = sample(ring, 100, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert sample(ring, 0, np.random.default_rng(0)).shape == (0, 2)


# --- mode metrics ---------------------------------------------------------------------------


def test_num_eval_samples():
    assert NUM_EVAL_SAMPLES == 2500


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_samples_exactly_at_every_mean(name):
    mixture = get_mixture(name)
    k = mixture.num_modes
    x = np.repeat(mixture.means, 3, axis=0)
    m = mode_metrics(x, mixture)
    assert m["modes"] == k
    assert m["hq_fraction"] == 1.0
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_all_samples_on_one_mode(name):
    mixture = get_mixture(name)
    x = np.tile(mixture.means[3], (50, 1))
    m = mode_metrics(x, mixture)
    assert m["modes"] == 1
    assert m["hq_fraction"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(mixture.num_modes))


def test_samples_far_from_every_mode():
    x = np.array([[100.0, 100.0], [-50.0, 3.0], [1.0, 1.0]])
    m = mode_metrics(x, get_mixture("grid25"))
    assert m == {"modes": 0, "hq_fraction": 0.0, "reverse_kl": float("inf")}


def test_mixed_hq_and_noise_exact_numbers():
    ring = get_mixture("ring8")
    # 20 HQ samples on modes 0..3 with counts 8, 4, 4, 4, plus 20 at the origin (distance 1
    # from every mean: low quality).
    hq = np.concatenate([np.tile(ring.means[i], (c, 1)) for i, c in enumerate([8, 4, 4, 4])])
    x = np.concatenate([hq, np.zeros((20, 2))])
    m = mode_metrics(x, ring)
    assert m["modes"] == 4
    assert m["hq_fraction"] == 0.5
    expected_kl = 0.4 * math.log(0.4 * 8) + 3 * 0.2 * math.log(0.2 * 8)
    assert m["reverse_kl"] == pytest.approx(expected_kl, rel=1e-12)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_hq_threshold_is_three_sigma(name):
    mixture = get_mixture(name)
    direction = np.array([0.6, 0.8])  # unit vector
    inside = mixture.means[1] + 2.9 * mixture.std * direction
    outside = mixture.means[1] + 3.1 * mixture.std * direction
    m = mode_metrics(np.stack([inside, outside]), mixture)
    assert m["hq_fraction"] == 0.5
    assert m["modes"] == 1
    assert mode_metrics(outside[None], mixture)["modes"] == 0


def test_non_finite_samples_are_low_quality():
    ring = get_mixture("ring8")
    x = np.array([[np.nan, 0.0], [np.inf, 1.0], ring.means[5]])
    m = mode_metrics(x, ring)
    assert m["modes"] == 1
    assert m["hq_fraction"] == pytest.approx(1 / 3)


def test_true_samples_score_like_the_target():
    """Real data cover every mode with ~P(chi_2 <= 3) = 1 - exp(-4.5) HQ and near-zero KL."""
    for mixture in MIXTURES.values():
        x = sample(mixture, NUM_EVAL_SAMPLES, np.random.default_rng(1))
        m = mode_metrics(x, mixture)
        assert m["modes"] == mixture.num_modes
        assert m["hq_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
        assert 0.0 <= m["reverse_kl"] < 0.02


@pytest.mark.parametrize("shape", [(0, 2), (5,), (5, 3)])
def test_bad_sample_shapes_raise(shape):
    with pytest.raises(ValueError, match="shape"):
        mode_metrics(np.zeros(shape), get_mixture("ring8"))
