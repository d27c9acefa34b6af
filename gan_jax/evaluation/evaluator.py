"""Sample-based evaluation of a generator: the metrics of `config.evals`, during training and in
`experiments.evaluate`.

One `Evaluator` per run holds what does not change between evaluations: the fixed latent
vectors (`fixed_latents(config.seed, n)`, so the first `train.num_samples` are the progress
pictures' and a 2-D evaluation reproduces the training monitor's numbers exactly), the real
reference set (a fixed random subset of the dataset) and its features, and the feature network.
Each call samples the generator in inference mode, gathers what the chosen metrics need into one
`registry.Context` (features are extracted once and shared) and returns the flat `{key: float}`
metrics of `gan_jax.evaluation.registry`, which lists the metrics, their keys and their needs.

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
from gan_jax.evaluation import registry
from gan_jax.evaluation.registry import resolve_metrics
from gan_jax.feature_nets.features import array_batches, extract_features
from gan_jax.metrics.mixtures import NUM_EVAL_SAMPLES

REFERENCE_SEED = 20261122  # picks the real reference subset; fixed so numbers stay comparable


def resolve_features(spec: str, data_shape: Sequence[int]) -> str:
    """'classifier' or 'inception' for `evals.features` = auto | classifier | inception."""
    if spec != "auto":
        return spec
    size, channels = data_shape[0], data_shape[-1]
    return "classifier" if channels == 1 or size <= 32 else "inception"


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
        self.z = fixed_latents(config.seed, num_samples, config.model.latent_dim, generator)
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
        return registry.output_keys(self.metrics, conditional=self.labels is not None)

    @property
    def uses_features(self) -> bool:
        """Whether a chosen metric needs the feature network."""
        return registry.needs_features(self.metrics)

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
        return registry.score(self.metrics, self.context(fake))

    def context(self, fake: np.ndarray) -> registry.Context:
        """What the metrics are computed from: `fake`, the conditioning labels, the mixture or
        the real reference set, and both sets' features when a chosen metric needs them."""
        if self.mixture is not None:
            return registry.Context(fake=fake, labels=self.labels, mixture=self.mixture)
        real = self.real()
        fake_out = self._features(fake, "sample features") if self.uses_features else {}
        return registry.Context(
            fake=fake,
            labels=self.labels,
            real_images=real["images"],
            real_labels=real["labels"],
            real_features=real.get("features"),
            fake_features=fake_out.get("features"),
            fake_logits=fake_out.get("logits"),
        )

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
