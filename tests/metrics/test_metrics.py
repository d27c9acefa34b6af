"""Tests for the feature-space metrics: each against an independent float64 computation (the
pytorch-fid sqrtm code path, explicit double loops, brute-force neighbours) or a hand-computed
value. At 2048 dimensions FID is checked with more samples than dimensions (full rank) and with
fewer (singular covariances), in seconds; GAN_JAX_SLOW_TESTS=1 also runs the closed-form check
there."""

import math
import os

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.distance import cdist
from scipy.special import softmax

from gan_jax.errors import InputError
from gan_jax.metrics import classes, frechet, histogram, inception_score, kid, prdc

SLOW = pytest.mark.skipif(not os.environ.get("GAN_JAX_SLOW_TESTS"), reason="GAN_JAX_SLOW_TESTS=1")

# --- FID ----------------------------------------------------------------------------------------


def _fid_pytorch_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance (the TTUR code path), float64 scipy sqrtm."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def _feature_sets(rng, n_real, n_fake, dim):
    """Correlated non-negative 'pool features' and a shifted, rescaled fake set."""
    mix = rng.normal(size=(dim, dim)) / math.sqrt(dim)
    real = np.abs(rng.normal(size=(n_real, dim)) @ mix)
    fake = 1.1 * np.abs(rng.normal(size=(n_fake, dim)) @ mix + 0.05)
    return real, fake


@pytest.mark.parametrize(
    "n_real, n_fake, dim",
    [(1000, 800, 64), (40, 30, 64), (300, 200, 256)],  # the last two: rank-deficient Σ (n < d)
)
def test_fid_matches_pytorch_fid_sqrtm_reference(n_real, n_fake, dim):
    real, fake = _feature_sets(np.random.default_rng(dim + n_real), n_real, n_fake, dim)
    mu1, sigma1 = real.mean(0), np.cov(real, rowvar=False)
    mu2, sigma2 = fake.mean(0), np.cov(fake, rowvar=False)
    expected = _fid_pytorch_fid(mu1, sigma1, mu2, sigma2)
    assert frechet.fid_from_features(real, fake) == pytest.approx(expected, rel=1e-6)
    assert frechet.frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(expected, rel=1e-6)


def _trace_sqrt_product_symmetric_root(sigma1, sigma2):
    """Tr (Σ₁Σ₂)^½ = Σᵢ √λᵢ(Σ₁^½ Σ₂ Σ₁^½) (a similar matrix), with Σ₁^½ = V √W Vᵀ the symmetric
    square root from eigh, float64: a different factorization from the code's Cholesky factor,
    and seconds at d = 2048 where scipy's sqrtm takes ten."""
    w, v = np.linalg.eigh(sigma1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = root @ sigma2 @ root
    return np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum()


def test_fid_matches_a_symmetric_root_reference_at_2048_dims_full_rank():
    """InceptionV3-sized features from more samples than dimensions (the protocol's case): both
    covariances are positive definite, so the code takes its Cholesky path, in both orders."""
    n_real, n_fake = 2304, 2176
    real, fake = _feature_sets(np.random.default_rng(n_real), n_real, n_fake, 2048)
    (mu1, sigma1), (mu2, sigma2) = frechet.gaussian_stats(real), frechet.gaussian_stats(fake)
    for sigma in (sigma1, sigma2):
        np.linalg.cholesky(sigma)  # raises if the full-rank path would not run
    diff = mu1 - mu2
    trace = np.trace(sigma1) + np.trace(sigma2)
    expected = diff @ diff + trace - 2 * _trace_sqrt_product_symmetric_root(sigma1, sigma2)
    assert frechet.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-8)
    assert frechet.frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(expected, rel=1e-8)


def test_fid_at_2048_dims_with_fewer_samples_than_dims():
    """The fast, always-run 2048-d check: InceptionV3-sized features from fewer samples than
    dimensions (a tiny run's evaluation), so both covariances are singular (rank n - 1) and the
    rank-tolerance (eigh) path runs at the size it is used at. The reference is exact and cheap:
    with centred samples X₁, X₂, Tr (Σ₁Σ₂)^½ is the nuclear norm of X₁X₂ᵀ / √((n₁-1)(n₂-1))."""
    n_real, n_fake = 64, 48
    real, fake = _feature_sets(np.random.default_rng(n_real), n_real, n_fake, 2048)
    x1, x2 = real - real.mean(0), fake - fake.mean(0)
    d1, d2 = n_real - 1, n_fake - 1
    cross = np.linalg.svd(x1 @ x2.T, compute_uv=False).sum() / math.sqrt(d1 * d2)
    diff = real.mean(0) - fake.mean(0)
    expected = diff @ diff + np.sum(x1**2) / d1 + np.sum(x2**2) / d2 - 2 * cross
    assert frechet.fid_from_features(real, fake) == pytest.approx(expected, rel=1e-6)
    assert frechet.fid_from_features(fake, real) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("dim", [512, pytest.param(2048, marks=SLOW)])
@pytest.mark.parametrize("singular", [False, True])  # Cholesky path / eigh path
def test_fid_closed_form_for_commuting_covariances(dim, singular):
    # Σ₁ = Q diag(a) Qᵀ, Σ₂ = Q diag(b) Qᵀ commute: FID = ‖Δμ‖² + Σ (√a − √b)², exactly.
    # Singular: a quarter of each spectrum is zero, as with fewer samples than dimensions.
    rng = np.random.default_rng(dim)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    a, b = rng.uniform(0.1, 2.0, dim), rng.uniform(0.0, 3.0, dim)
    if singular:
        a[: dim // 4] = 0.0
        b[dim // 8 : 3 * dim // 8] = 0.0
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet.frechet_distance(mu1, (q * a) @ q.T, mu2, (q * b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-6)


def test_fid_of_identical_statistics_is_zero_and_of_a_translation_is_the_squared_shift():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 32))
    assert frechet.fid_from_features(x, x) == pytest.approx(0.0, abs=1e-9)
    shift = rng.normal(size=32)
    assert frechet.fid_from_features(x, x + shift) == pytest.approx(shift @ shift, rel=1e-9)


def test_gaussian_stats_are_mean_and_unbiased_covariance():
    x = np.random.default_rng(2).normal(size=(50, 3)).astype(np.float32)
    mu, sigma = frechet.gaussian_stats(x)
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(0)
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(mu, x64.mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma, centred.T @ centred / 49, rtol=1e-12)
    assert frechet.gaussian_stats(x[:, :1])[1].shape == (1, 1)


def test_fid_rejects_bad_shapes():
    with pytest.raises(InputError, match=r"\(5,\)"):
        frechet.gaussian_stats(np.zeros(5))
    with pytest.raises(InputError, match="at least 2 rows"):
        frechet.fid_from_features(np.zeros((1, 4)), np.zeros((3, 4)))
    with pytest.raises(InputError, match=r"feature sizes \(4 vs 3\)"):
        frechet.fid_from_features(np.zeros((3, 4)), np.zeros((3, 3)))
    with pytest.raises(InputError, match=r"\(4, 3\)"):
        frechet.frechet_distance(np.zeros(4), np.zeros((4, 3)), np.zeros(4), np.eye(4))
    with pytest.raises(InputError, match="different sizes"):
        frechet.frechet_distance(np.zeros(4), np.eye(4), np.zeros(3), np.eye(3))
    with pytest.raises(InputError, match="NaN"):
        frechet.fid_from_features(np.full((3, 2), np.nan), np.zeros((3, 2)))


# --- KID ----------------------------------------------------------------------------------------


def _mmd2_double_loop(x, y):
    """Unbiased MMD² with k(a, b) = (a·b / d + 1)³, element by element in float64."""
    m, d = x.shape
    kernel = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3  # noqa: E731
    within = sum(
        kernel(x[i], x[j]) + kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j
    )
    cross = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m))
    return within / (m * (m - 1)) - 2.0 * cross / (m * m)


def _mmd2_matrices(x, y):
    m, d = x.shape
    kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    off = ~np.eye(m, dtype=bool)
    return (kxx[off].sum() + kyy[off].sum()) / (m * (m - 1)) - 2.0 * kxy.sum() / (m * m)


def _kid_reference(real, fake, num_subsets, subset_size, seed, mmd2):
    idx_real, idx_fake = kid.subset_indices(len(real), len(fake), num_subsets, subset_size, seed)
    values = [
        mmd2(real[r].astype(np.float64), fake[f].astype(np.float64))
        for r, f in zip(idx_real, idx_fake, strict=True)
    ]
    return np.mean(values), np.std(values)


def test_kid_matches_double_loop_reference():
    real, fake = _feature_sets(np.random.default_rng(3), 30, 25, 8)
    got = kid.kernel_inception_distance(real, fake, num_subsets=4, subset_size=12, seed=5)
    expected = _kid_reference(real, fake, 4, 12, 5, _mmd2_double_loop)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_kid_matches_float64_reference_on_inception_like_features():
    # Inception pool features are non-negative with x·y/d ~ 0.2: kernel values ~2 while MMD² is
    # ~1e-3, so float32 errors in the kernel sums would show here.
    real, fake = _feature_sets(np.random.default_rng(4), 700, 600, 512)
    real, fake = real.astype(np.float32), fake.astype(np.float32)
    got = kid.kernel_inception_distance(real, fake, num_subsets=6, subset_size=250, seed=1)
    expected = _kid_reference(real, fake, 6, 250, 1, _mmd2_matrices)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-4, atol=1e-8)


def test_kid_is_about_zero_for_one_distribution_and_grows_with_the_shift():
    rng = np.random.default_rng(6)
    real = np.abs(rng.normal(size=(800, 64)))
    same = np.abs(rng.normal(size=(800, 64)))
    kids = [
        kid.kernel_inception_distance(real, same + shift, num_subsets=20, subset_size=200)
        for shift in (0.0, 0.05, 0.2, 0.5)
    ]
    means = [mean for mean, _ in kids]
    assert abs(means[0]) < 2 * kids[0][1]  # unbiased: within the subset noise of 0
    assert abs(means[0]) < 0.05 * means[1]
    assert means == sorted(means) and means[3] > 100 * means[1]


def test_kid_subset_size_is_clipped_to_the_smaller_set():
    real, fake = _feature_sets(np.random.default_rng(7), 40, 30, 16)
    got = kid.kernel_inception_distance(real, fake, num_subsets=3, subset_size=1000)
    idx_real, idx_fake = kid.subset_indices(40, 30, 3, 1000, 0)
    assert idx_real.shape == idx_fake.shape == (3, 30)
    assert sorted(idx_fake[0]) == list(range(30))  # the whole smaller set, permuted
    assert all(len(set(row)) == 30 for row in idx_real)  # distinct rows within a subset
    np.testing.assert_allclose(
        got, _kid_reference(real, fake, 3, 1000, 0, _mmd2_matrices), rtol=1e-4, atol=1e-6
    )
    # Equal sets no larger than the subset: every subset is the same pair of sets.
    mean, std = kid.kernel_inception_distance(real[:30], fake, num_subsets=3, subset_size=100)
    assert std == pytest.approx(0.0, abs=1e-7)
    assert mean == pytest.approx(_mmd2_matrices(real[:30], fake), rel=1e-4)


def test_kid_is_deterministic_in_the_seed():
    real, fake = _feature_sets(np.random.default_rng(8), 60, 60, 8)
    first = kid.kernel_inception_distance(real, fake, num_subsets=5, subset_size=20, seed=3)
    assert kid.kernel_inception_distance(real, fake, num_subsets=5, subset_size=20, seed=3) == first
    assert kid.kernel_inception_distance(real, fake, num_subsets=5, subset_size=20, seed=4) != first


def test_kid_rejects_bad_arguments():
    ok = np.ones((10, 4))
    with pytest.raises(InputError, match=r"\(10,\)"):
        kid.kernel_inception_distance(np.ones(10), ok)
    with pytest.raises(InputError, match=r"feature sizes \(4 vs 5\)"):
        kid.kernel_inception_distance(ok, np.ones((10, 5)))
    with pytest.raises(InputError, match="at least 2 rows"):
        kid.kernel_inception_distance(ok, np.ones((1, 4)))
    with pytest.raises(InputError, match="subset_size must be an integer >= 2"):
        kid.kernel_inception_distance(ok, ok, subset_size=1)
    with pytest.raises(InputError, match="num_subsets"):
        kid.kernel_inception_distance(ok, ok, num_subsets=0)


# --- Inception Score ----------------------------------------------------------------------------


def _is_original(preds, splits):
    """openai/improved-gan's get_inception_score loop, float64."""
    scores = []
    n = preds.shape[0]
    for i in range(splits):
        part = preds[(i * n // splits) : ((i + 1) * n // splits), :]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return np.mean(scores), np.std(scores)


def test_inception_score_matches_original_code():
    rng = np.random.default_rng(9)
    logits = rng.normal(size=(1003, 20)) * 3  # 1003 rows: unequal splits
    probs = softmax(logits, axis=1)
    expected = _is_original(probs, 10)
    np.testing.assert_allclose(inception_score.inception_score(probs), expected, rtol=1e-10)
    np.testing.assert_allclose(
        inception_score.inception_score(logits, from_logits=True), expected, rtol=1e-10
    )
    np.testing.assert_allclose(
        inception_score.inception_score(probs.astype(np.float32), splits=3),
        _is_original(probs.astype(np.float32).astype(np.float64), 3),
        rtol=1e-6,
    )


def test_inception_score_extremes():
    k = 7
    uniform = np.full((70, k), 1.0 / k)
    assert inception_score.inception_score(uniform) == pytest.approx((1.0, 0.0))
    assert inception_score.inception_score(np.zeros((70, k)), from_logits=True) == pytest.approx(
        (1.0, 0.0)
    )
    one_hot = np.eye(k)[np.arange(70) % k]  # each split of 7 rows holds every class once
    assert inception_score.inception_score(one_hot, splits=10) == pytest.approx((k, 0.0))
    # Two splits scoring 1 and K: mean (1 + K) / 2, std (K − 1) / 2.
    both = np.concatenate([uniform[:14], one_hot[:14]])
    assert inception_score.inception_score(both, splits=2) == pytest.approx(
        ((1 + k) / 2, (k - 1) / 2)
    )


def test_inception_score_rejects_bad_input():
    with pytest.raises(InputError, match="from_logits=True"):
        inception_score.inception_score(np.random.default_rng(0).normal(size=(20, 5)))
    with pytest.raises(InputError, match="10 splits need at least 10 rows"):
        inception_score.inception_score(np.full((5, 2), 0.5))
    with pytest.raises(InputError, match=r"\(5,\)"):
        inception_score.inception_score(np.full(5, 0.2))


# --- precision / recall / density / coverage ----------------------------------------------------


def _radii(x, k):
    d = cdist(x, x)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def _prdc_brute_force(real, fake, k_pr, k_dc):
    d = cdist(real, fake)  # (n_real, n_fake), float64
    real_pr, fake_pr, real_dc = _radii(real, k_pr), _radii(fake, k_pr), _radii(real, k_dc)
    return {
        "precision": np.mean((d <= real_pr[:, None]).any(axis=0)),
        "recall": np.mean((d <= fake_pr[None, :]).any(axis=1)),
        "density": np.mean((d < real_dc[:, None]).sum(axis=0)) / k_dc,
        "coverage": np.mean(d.min(axis=1) < real_dc),
    }


@pytest.mark.parametrize("block_size", [16, 1024])
def test_prdc_matches_brute_force(block_size):
    rng = np.random.default_rng(10)
    real = rng.normal(size=(150, 24)) + 3.0  # an offset, so centring matters
    fake = np.concatenate([rng.normal(size=(60, 24)) * 1.3 + 3.0, rng.normal(size=(37, 24)) + 6.0])
    got = prdc.prdc(real, fake, k_pr=3, k_dc=5, block_size=block_size)
    expected = _prdc_brute_force(real, fake, 3, 5)
    assert got == pytest.approx(expected, abs=1e-12)
    assert 0 < got["precision"] < 1 and 0 < got["recall"] < 1 and 0 < got["coverage"] < 1
    pr = prdc.precision_recall(real, fake, k=4, block_size=block_size)
    dc = prdc.density_coverage(real, fake, k=2, block_size=block_size)
    four, two = _prdc_brute_force(real, fake, 4, 4), _prdc_brute_force(real, fake, 2, 2)
    assert pr == pytest.approx((four["precision"], four["recall"]), abs=1e-12)
    assert dc == pytest.approx((two["density"], two["coverage"]), abs=1e-12)


def test_knn_radii_exclude_self_by_index_with_duplicates():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(40, 5))
    x[1] = x[0]  # a duplicate: its 1st neighbour is at distance 0
    got = prdc.knn_squared_radii(x.astype(np.float32), (1, 3), block_size=16)
    np.testing.assert_allclose(np.sqrt(got[0]), _radii(x, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.sqrt(got[1]), _radii(x, 3), rtol=1e-5)
    assert got[0][0] == got[0][1] == 0.0


def test_prdc_identical_and_far_apart_sets():
    x = np.random.default_rng(12).normal(size=(200, 16))
    same = prdc.prdc(x, x, block_size=64)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    far = prdc.prdc(x, x + 100.0, block_size=64)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_fake_set_on_half_the_real_clusters():
    # 2-D, 100 points per cluster: k-NN precision/recall underestimate in higher dimensions at
    # small n (the finite-sample bias Naeem et al. point out); density/coverage do not.
    rng = np.random.default_rng(13)
    centres = rng.normal(size=(10, 2)) * 20.0
    real = centres[np.arange(1000) % 10] + rng.normal(size=(1000, 2))
    fake = centres[np.arange(1000) % 5] + rng.normal(size=(1000, 2))  # clusters 0..4 only
    got = prdc.prdc(real, fake, block_size=256)
    assert got["precision"] > 0.95
    assert got["density"] == pytest.approx(1.0, abs=0.1)
    assert got["recall"] == pytest.approx(0.5, abs=0.04)
    assert got["coverage"] == pytest.approx(0.5, abs=0.03)


def test_prdc_boundary_conventions_on_exact_ties():
    # Integer points: every squared distance is exact in float32. Real 0..9 (k = 1: radius 1),
    # fake {10, 20} (radius 10). Fake 10 lies exactly on real 9's sphere: it counts for
    # precision (≤, Kynkäänniemi et al.'s code) but not for density or coverage (<, Naeem et
    # al.'s code).
    real = np.arange(10.0)[:, None]
    fake = np.array([[10.0], [20.0]])
    expected = {"precision": 0.5, "recall": 1.0, "density": 0.0, "coverage": 0.0}
    assert prdc.prdc(real, fake, k_pr=1, k_dc=1, block_size=4) == expected
    assert _prdc_brute_force(real, fake, 1, 1) == expected


def test_prdc_rejects_bad_arguments():
    x = np.zeros((5, 3))
    with pytest.raises(InputError, match="k = 5 needs more than k samples"):
        prdc.prdc(x, x)
    with pytest.raises(InputError, match=r"feature sizes \(3 vs 2\)"):
        prdc.precision_recall(x, np.zeros((5, 2)), k=1)
    with pytest.raises(InputError, match="k must be an integer >= 1"):
        prdc.density_coverage(x, x, k=0)
    with pytest.raises(InputError, match=r"\(5,\)"):
        prdc.precision_recall(np.zeros(5), x, k=1)


# --- pixel histogram chi-square -----------------------------------------------------------------


def test_pixel_histogram_counts_by_hand():
    values = np.array([-1.0, -0.6, 0.0, 0.4, 0.99, 1.0, 5.0, -7.0]).reshape(2, 2, 2, 1)
    # Bins [-1, -.5), [-.5, 0), [0, .5), [.5, 1]; 5 and -7 are clipped into the end bins.
    np.testing.assert_array_equal(
        histogram.pixel_histogram(values, bins=4), [3 / 8, 0, 2 / 8, 3 / 8]
    )
    np.testing.assert_array_equal(
        histogram.pixel_histogram(np.array([0.0, 1.0]), bins=2, value_range=(0, 2)), [0.5, 0.5]
    )


def test_chi_square_distance_by_hand_and_extremes():
    # ½ [(.25² / .75) · 2 + .5² / .5] = ½ [1/6 + 1/2] = 1/3
    assert histogram.chi_square_distance([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == pytest.approx(1 / 3)
    assert histogram.chi_square_distance([2, 2, 0], [1, 1, 2]) == pytest.approx(1 / 3)  # counts
    assert histogram.chi_square_distance([0.0, 1.0, 0.0], [0.0, 0.0, 1.0]) == 1.0
    real = np.random.default_rng(14).uniform(-1, 1, size=(8, 6, 6, 1))
    assert histogram.pixel_chi_square(real, real) == 0.0
    assert histogram.pixel_chi_square(np.full((2, 4, 4, 1), -1.0), np.ones((2, 4, 4, 1))) == 1.0
    # Half the pixels at -1 vs all at -1 with 2 bins: p = (1/2, 1/2), q = (1, 0):
    # ½ [(1/2)² / (3/2) + (1/2)² / (1/2)] = ½ [1/6 + 1/2] = 1/3.
    half = np.concatenate([np.full(8, -1.0), np.full(8, 0.5)])
    assert histogram.pixel_chi_square(half, np.full(16, -1.0), bins=2) == pytest.approx(1 / 3)


def test_histogram_rejects_bad_input():
    with pytest.raises(InputError, match="NaN"):
        histogram.pixel_histogram(np.array([0.0, np.nan]))
    with pytest.raises(InputError, match="low < high"):
        histogram.pixel_histogram(np.zeros(3), value_range=(1, -1))
    with pytest.raises(InputError, match="same bins"):
        histogram.chi_square_distance([0.5, 0.5], [1.0, 0.0, 0.0])
    with pytest.raises(InputError, match=r"shape \(2, 2\)"):
        histogram.chi_square_distance(np.ones((2, 2)), np.ones(4))
    with pytest.raises(InputError, match="positive sum"):
        histogram.chi_square_distance([0.0, 0.0], [1.0, 0.0])


# --- class-level metrics ------------------------------------------------------------------------


def test_conditional_accuracy_by_hand():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    # arg-max: 0, 1, 0, 0 against labels 0, 1, 2, 2 -> 2 of 4 right
    assert classes.conditional_accuracy(logits, np.array([0, 1, 2, 2])) == 0.5
    assert classes.conditional_accuracy(softmax(logits, axis=1), np.array([0, 1, 0, 0])) == 1.0
    with pytest.raises(InputError, match=r"labels has shape \(3,\)"):
        classes.conditional_accuracy(logits, np.array([0, 1, 2]))
    with pytest.raises(InputError, match=r"\[0, 3\)"):
        classes.conditional_accuracy(logits, np.array([0, 1, 2, 3]))
    with pytest.raises(InputError, match="integer"):
        classes.conditional_accuracy(logits, np.array([0.0, 1.0, 2.0, 2.0]))


def test_label_histogram_from_predictions_scores_and_probabilities():
    np.testing.assert_array_equal(
        classes.label_histogram(np.array([0, 2, 2, 3]), 4), [0.25, 0.0, 0.5, 0.25]
    )
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_array_equal(classes.label_histogram(scores, 3), [0.5, 0.0, 0.5])
    np.testing.assert_allclose(classes.label_histogram(scores, 3, soft=True), [0.4, 0.15, 0.45])
    with pytest.raises(InputError, match=r"expected \(n, 4\)"):
        classes.label_histogram(scores, 4)
    with pytest.raises(InputError, match=r"\[0, 3\)"):
        classes.label_histogram(np.array([0, 3]), 3)


def test_label_entropy_and_kl_to_uniform_by_hand():
    k = 10
    uniform, single = np.full(k, 0.1), np.eye(k)[3]
    assert classes.label_entropy(uniform) == pytest.approx(math.log(k))
    assert classes.label_kl_to_uniform(uniform) == pytest.approx(0.0, abs=1e-12)
    assert classes.label_entropy(single) == 0.0
    assert classes.label_kl_to_uniform(single) == pytest.approx(math.log(k))
    # q = (1/2, 1/4, 1/4, 0): H = ½ log 2 + ½ log 4 = 1.5 log 2; KL = log 4 − H = 0.5 log 2.
    counts = np.array([2, 1, 1, 0])
    assert classes.label_entropy(counts) == pytest.approx(1.5 * math.log(2))
    assert classes.label_kl_to_uniform(counts) == pytest.approx(0.5 * math.log(2))
    with pytest.raises(InputError, match=r"shape \(2, 2\)"):
        classes.label_entropy(np.ones((2, 2)))
