"""Sample-based evaluation of a generator: the metrics of `config.evals`, during training and in
`experiments.evaluate`.

One `Evaluator` per run holds what does not change between evaluations: the fixed latent
vectors (`fixed_latents(config.seed, n)`, so the first `train.num_samples` are the progress
pictures' and a 2-D evaluation reproduces the training monitor's numbers exactly), the real
reference set (a fixed random subset of the dataset) and its features, and the feature network.
Each call samples the generator in inference mode and returns flat `{key: float}` metrics whose
keys are the ones `metrics.json`, TensorBoard and `experiments.evaluate --json` use:

=============  =============================================  =================================
metric         keys                                           needs
=============  =============================================  =================================
modes          modes, hq_fraction, reverse_kl                 a 2-D mixture (VEEGAN/PacGAN)
fid            fid                                            features
kid            kid, kid_std                                   features
is             is, is_std                                     features with logits
pr             precision, recall                              features (Kynkäänniemi 2019)
dc             density, coverage                              features (Naeem 2020)
pixel_chi2     pixel_chi2                                     images (the DIGITS monitor)
class          class_accuracy (conditional G), label_entropy,  the classifier
               label_kl
=============  =============================================  =================================

Features come from a domain classifier (a small CNN trained on the dataset and cached) or the
FID InceptionV3 (`gan_jax.feature_nets.inception`); `fid` is the Fréchet distance in whichever space
was used, and `Evaluator.feature_net` says which, since numbers from the two are not comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import ml_collections
import numpy as np

from gan_jax import pictures
from gan_jax.core.sampling import chunked, fixed_latents, make_sampler
from gan_jax.data.preprocess import to_model_range
from gan_jax.errors import ConfigError
from gan_jax.feature_nets.features import array_batches, extract_features
from gan_jax.metrics import classes, frechet, histogram, inception_score, kid, prdc
from gan_jax.metrics.mixtures import NUM_EVAL_SAMPLES, mode_metrics

METRIC_KEYS = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "is": ("is", "is_std"),
    "pr": ("precision", "recall"),
    "dc": ("density", "coverage"),
    "pixel_chi2": ("pixel_chi2",),
    "class": ("class_accuracy", "label_entropy", "label_kl"),
    "modes": ("modes", "hq_fraction", "reverse_kl"),
}
METRICS = tuple(METRIC_KEYS)
FEATURE_METRICS = ("fid", "kid", "is", "pr", "dc")
_LOWER_IS_BETTER = ("fid", "kid", "kid_std", "pixel_chi2", "reverse_kl", "label_kl", "is_std")
_HIGHER_IS_BETTER = (
    "is",
    "precision",
    "recall",
    "density",
    "coverage",
    "modes",
    "hq_fraction",
    "class_accuracy",
    "label_entropy",
)
REFERENCE_SEED = 20261122  # picks the real reference subset; fixed so numbers stay comparable


def better(key: str) -> str:
    """'min' or 'max': which direction improves metric `key` (for best-checkpoint tracking)."""
    if key in _LOWER_IS_BETTER:
        return "min"
    if key in _HIGHER_IS_BETTER:
        return "max"
    keys = ", ".join(sorted(_LOWER_IS_BETTER + _HIGHER_IS_BETTER))
    raise ConfigError(f"config.evals.best_metric={key!r} is not a metric; choose one of: {keys}")


def resolve_features(spec: str, data_shape: Sequence[int]) -> str:
    """'classifier' or 'inception' for `evals.features` = auto | classifier | inception."""
    if spec != "auto":
        return spec
    size, channels = data_shape[0], data_shape[-1]
    return "classifier" if channels == 1 or size <= 32 else "inception"


def resolve_metrics(
    spec: str | Sequence[str], mixture: bool, features: str, labelled: bool
) -> tuple[str, ...]:
    """The metric names to compute: `spec` is 'auto' or comma-separated names from METRICS."""
    if mixture:
        allowed = ("modes",)
    else:
        allowed = ("fid", "kid", "is", "pr", "dc", "pixel_chi2")
        if features == "classifier" and labelled:
            allowed += ("class",)
    if isinstance(spec, str):
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    if list(spec) == ["auto"]:
        if mixture:
            return ("modes",)
        auto = ("fid", "kid", "pr", "pixel_chi2")
        if features == "inception":
            auto += ("is",)
        return auto + (("class",) if "class" in allowed else ())
    for name in spec:
        if name not in METRICS:
            raise ConfigError(f"unknown metric {name!r}; choose from: auto, {', '.join(METRICS)}")
        if name not in allowed:
            why = (
                "2-D mixtures are scored by modes only"
                if mixture
                else "'modes' is for 2-D mixtures"
                if name == "modes"
                else "'class' needs classifier features and a labelled dataset"
            )
            raise ConfigError(f"metric {name!r} does not apply to this run: {why}")
    if not spec:
        raise ConfigError("no metrics requested; pass e.g. --metrics=fid,kid or auto")
    return tuple(dict.fromkeys(spec))


def reference_examples(source: Any, num: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A fixed random subset of `num` real examples (all of them when the dataset is smaller)
    in model range, with labels when the dataset has them; 2-D mixtures draw fresh samples."""
    if not hasattr(source, "read"):
        return np.asarray(source.examples(num), np.float32), None
    count = len(source)
    rng = np.random.default_rng(REFERENCE_SEED)
    indices = np.sort(rng.permutation(count)[: min(num, count)])
    out = source.read(indices)
    return to_model_range(out["x"]).astype(np.float32), out.get("y")


def load_feature_net(kind: str, data_config: ml_collections.ConfigDict) -> Any:
    """The feature network: an object with `apply(images) -> {'features', 'logits'}`."""
    if kind == "classifier":
        from gan_jax.feature_nets.classifier import get_classifier

        return get_classifier(data_config)
    from gan_jax.feature_nets.inception import load_fid_inception

    return load_fid_inception()


class Evaluator:
    """Scores a generator's samples against the dataset (see the module docstring)."""

    def __init__(
        self,
        config: ml_collections.ConfigDict,
        source: Any,
        generator: nn.Module,
        num_classes: int,
        metrics: str | Sequence[str] | None = None,
        num_samples: int | None = None,
        features: str | None = None,
    ) -> None:
        ev = config.evals
        self.config = config
        self.source = source
        self.mixture = getattr(source, "mixture", None)
        self.num_classes = num_classes
        self.feature_net = (
            ""
            if self.mixture is not None
            else resolve_features(features or ev.features, source.data_shape)
        )
        labelled = bool(getattr(source, "num_classes", 0))
        self.metrics = resolve_metrics(
            metrics or ev.metrics, self.mixture is not None, self.feature_net, labelled
        )
        if self.mixture is not None:
            num_samples = num_samples or NUM_EVAL_SAMPLES
            self.num_real = 0
        else:
            num_samples = num_samples or ev.num_samples
            self.num_real = ev.num_real
        self.z = fixed_latents(config.seed, num_samples, config.model.latent_dim)
        self.labels = (
            (np.arange(num_samples) % num_classes).astype(np.int32) if num_classes else None
        )
        self.batch_size = ev.batch_size
        self._apply = make_sampler(generator)
        self._net: Any = None
        self._real: dict[str, Any] | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys a call returns."""
        keys = [k for m in self.metrics for k in METRIC_KEYS[m]]
        if self.labels is None and "class_accuracy" in keys:
            keys.remove("class_accuracy")
        return tuple(keys)

    @property
    def uses_features(self) -> bool:
        return any(m in FEATURE_METRICS or m == "class" for m in self.metrics)

    def generate(self, variables: dict[str, Any]) -> np.ndarray:
        """The generator's samples for the fixed evaluation latents (and labels)."""
        return chunked(self._apply, variables, self.z, self.labels).astype(np.float32)

    def load_net(self) -> None:
        """Load (or train and cache) the feature network now, if the metrics need one: a
        missing weights file then stops a run before it trains, not at its first evaluation."""
        if self._net is None and self.uses_features:
            self._net = load_feature_net(self.feature_net, self.config.data)

    def _features(self, images: np.ndarray, desc: str) -> dict[str, np.ndarray]:
        self.load_net()
        bs = self.batch_size
        return extract_features(self._net.apply, array_batches(images, bs), len(images), bs, desc)

    def real(self) -> dict[str, Any]:
        """The real reference set: images, labels and (when needed) features, computed once."""
        if self._real is None:
            images, labels = reference_examples(self.source, self.num_real)
            self._real = {"images": images, "labels": labels}
            if self.uses_features:
                self._real.update(self._features(images, "real features"))
        return self._real

    def __call__(self, variables: dict[str, Any]) -> dict[str, float]:
        """All requested metrics for the generator with `variables` ({'params', 'batch_stats'})."""
        fake = self.generate(variables)
        return self.score(fake)

    def score(self, fake: np.ndarray) -> dict[str, float]:
        """All requested metrics for generated samples `fake` (rows follow `self.z`)."""
        if self.mixture is not None:
            return {k: float(v) for k, v in mode_metrics(fake, self.mixture).items()}
        real = self.real()
        out: dict[str, float] = {}
        if "pixel_chi2" in self.metrics:
            out["pixel_chi2"] = histogram.pixel_chi_square(real["images"], fake)
        if not self.uses_features:
            return out
        ff = self._features(fake, "sample features")
        rf = real["features"]
        if "fid" in self.metrics:
            out["fid"] = frechet.fid_from_features(rf, ff["features"])
        if "kid" in self.metrics:
            size = min(1000, len(rf), len(ff["features"]))
            out["kid"], out["kid_std"] = kid.kernel_inception_distance(
                rf, ff["features"], subset_size=size
            )
        if "is" in self.metrics:
            splits = min(10, len(fake))
            out["is"], out["is_std"] = inception_score.inception_score(
                ff["logits"], splits=splits, from_logits=True
            )
        if "pr" in self.metrics:
            out["precision"], out["recall"] = prdc.precision_recall(rf, ff["features"])
        if "dc" in self.metrics:
            out["density"], out["coverage"] = prdc.density_coverage(rf, ff["features"])
        if "class" in self.metrics:
            logits = ff["logits"]
            if self.labels is not None:
                out["class_accuracy"] = classes.conditional_accuracy(logits, self.labels)
            hist = classes.label_histogram(logits, logits.shape[-1])
            out["label_entropy"] = classes.label_entropy(hist)
            out["label_kl"] = classes.label_kl_to_uniform(hist)
        return {k: float(v) for k, v in out.items()}

    def nearest_real(self, fake: np.ndarray, k: int = 5) -> np.ndarray:
        """Indices (n, k) of each sample's k nearest reference images in pixel space (L2)."""
        images = self.real()["images"]
        real = images.reshape(len(images), -1).astype(np.float64)
        flat = fake.reshape(len(fake), -1).astype(np.float64)
        d = (flat**2).sum(1)[:, None] - 2 * flat @ real.T + (real**2).sum(1)[None, :]
        return np.argsort(d, axis=1, kind="stable")[:, :k]

    def nearest_picture(self, fake: np.ndarray, rows: int = 8, k: int = 5) -> np.ndarray:
        """The memorization check: each row is a sample followed by its `k` nearest reference
        images (pixel L2). A sample that copies a training image shows its twin beside it."""
        fake = fake[:rows]
        idx = self.nearest_real(fake, k)
        real = self.real()["images"]
        tiles = np.concatenate([fake[:, None], real[idx]], axis=1)
        return pictures.image_grid(tiles.reshape((-1, *fake.shape[1:])), ncols=k + 1)
