"""The evaluation metrics, each described once: what `config.evals.metrics` / `--metrics` take.

Every part of gan_jax that knows about a metric reads this table: `resolve_metrics` (which
metrics apply to a run, and the 'auto' set), `Evaluator.keys` / `Evaluator.score`, `better`
(the direction `evals.best_metric` improves in) and the panels of `loss_curves.png`
(`gan_jax.training.history`). The keys are the ones `metrics.json`, TensorBoard and
`experiments.evaluate --json` use:

=============  =============================================  =================================
metric         keys                                           needs
=============  =============================================  =================================
fid            fid                                            features
kid            kid, kid_std                                   features
pr             precision, recall                              features (Kynkäänniemi 2019)
dc             density, coverage                              features (Naeem 2020)
pixel_chi2     pixel_chi2                                     images (the DIGITS monitor)
is             is, is_std                                     features with logits
class          class_accuracy (conditional G), label_entropy,  the classifier and a labelled
               label_kl                                       dataset
modes          modes, hq_fraction, reverse_kl                 a 2-D mixture (VEEGAN/PacGAN)
=============  =============================================  =================================

Adding a metric is one entry: write its function on arrays in `gan_jax/metrics/` (tested against
an independent computation), then add to `_BUILTIN` (or, from outside the package, `register`)
an entry such as this one for a hypothetical `sharpness` module::

    def _sharpness(c: Context) -> dict[str, float]:
        from gan_jax.metrics import sharpness

        return {"sharpness": sharpness.mean_laplacian(c.fake)}

    Metric(
        "sharp",                  # the name --metrics / evals.metrics take
        keys={"sharpness": MAX},  # output keys, each with the direction that improves it
        compute=_sharpness,       # Context -> {key: value}
        why_not=images_only,      # None, or why it does not apply to a run
        auto=always,              # in the 'auto' set (when it applies)?
        panels=(("sharpness", ("sharpness",)),),  # loss_curves.png panels: (title, keys drawn)
    )

`features=True` asks for the feature network (`c.real_features`, `c.fake_features`,
`c.fake_logits`, extracted once per evaluation for all metrics); `conditional_keys` are keys
only a label-conditioned generator gets. `register` checks that names and keys are new.

The table's order is the order of the 'auto' set and of the chart panels. Compute functions
import their metric module when called, so importing this module stays light (no JAX) and the
command line can list the names in its `--help`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from gan_jax.errors import ConfigError

if TYPE_CHECKING:
    from gan_jax.data.mixtures import Mixture

MIN, MAX = "min", "max"
Panel = tuple[str, tuple[str, ...]]


@dataclasses.dataclass(frozen=True)
class RunKind:
    """What decides which metrics apply to a run."""

    mixture: bool  # a 2-D Gaussian mixture (else images)
    features: str  # 'classifier' | 'inception' ('' for mixtures)
    labelled: bool  # the dataset has class labels


@dataclasses.dataclass(frozen=True)
class Context:
    """What a metric is computed from, gathered once per evaluation and shared by all metrics.
    Fields a run does not have (real images for a mixture, features when no chosen metric
    needs them) are None."""

    fake: np.ndarray  # the generated samples, rows following the fixed latents
    labels: np.ndarray | None  # the labels the generator was conditioned on (None: unconditional)
    mixture: Mixture | None = None  # the target `Mixture` of a 2-D run
    real_images: np.ndarray | None = None  # the real reference set, in model range
    real_labels: np.ndarray | None = None
    real_features: np.ndarray | None = None
    fake_features: np.ndarray | None = None
    fake_logits: np.ndarray | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class Metric:
    """One metric: its name, output keys with directions, how to compute it, where it applies,
    and how `loss_curves.png` draws it (see the module docstring)."""

    name: str
    keys: Mapping[str, str]  # output key -> MIN or MAX, in output order
    compute: Callable[[Context], Mapping[str, float]]
    why_not: Callable[[RunKind], str | None]  # None when the metric applies to the run
    auto: Callable[[RunKind], bool]  # part of the 'auto' set (when it applies)
    features: bool = False  # needs the feature network (real and fake features and logits)
    conditional_keys: frozenset[str] = frozenset()  # only for a label-conditioned generator
    panels: tuple[Panel, ...] = ()

    def output_keys(self, conditional: bool) -> tuple[str, ...]:
        """The keys `compute` returns for a conditional or an unconditional generator."""
        return tuple(k for k in self.keys if conditional or k not in self.conditional_keys)


# What an entry's `auto` and `why_not` take: predicates on the run.


def always(run: RunKind) -> bool:
    """In the 'auto' set of every run it applies to."""
    return True


def never(run: RunKind) -> bool:
    """Computed only when asked for by name."""
    return False


def with_inception(run: RunKind) -> bool:
    """In the 'auto' set with Inception features (the Inception Score is defined on them)."""
    return run.features == "inception"


def images_only(run: RunKind) -> str | None:
    """Applies to image runs; a 2-D mixture has its own protocol."""
    return "2-D mixtures are scored by modes only" if run.mixture else None


def mixtures_only(run: RunKind) -> str | None:
    """Applies to 2-D mixture runs only (the VEEGAN/PacGAN mode protocol)."""
    return None if run.mixture else "'modes' is for 2-D mixtures"


def classifier_and_labels(run: RunKind) -> str | None:
    """Applies to image runs scored by the domain classifier on a labelled dataset: its logits
    are predicted dataset classes."""
    if run.mixture:
        return images_only(run)
    if run.features == "classifier" and run.labelled:
        return None
    return "'class' needs classifier features and a labelled dataset"


def _fid(c: Context) -> dict[str, float]:
    from gan_jax.metrics import frechet

    return {"fid": frechet.fid_from_features(c.real_features, c.fake_features)}


def _kid(c: Context) -> dict[str, float]:
    from gan_jax.metrics import kid

    size = min(1000, len(c.real_features), len(c.fake_features))
    value, std = kid.kernel_inception_distance(c.real_features, c.fake_features, subset_size=size)
    return {"kid": value, "kid_std": std}


def _pr(c: Context) -> dict[str, float]:
    from gan_jax.metrics import prdc

    precision, recall = prdc.precision_recall(c.real_features, c.fake_features)
    return {"precision": precision, "recall": recall}


def _dc(c: Context) -> dict[str, float]:
    from gan_jax.metrics import prdc

    density, coverage = prdc.density_coverage(c.real_features, c.fake_features)
    return {"density": density, "coverage": coverage}


def _pixel_chi2(c: Context) -> dict[str, float]:
    from gan_jax.metrics import histogram

    return {"pixel_chi2": histogram.pixel_chi_square(c.real_images, c.fake)}


def _is(c: Context) -> dict[str, float]:
    from gan_jax.metrics import inception_score

    splits = min(10, len(c.fake))
    value, std = inception_score.inception_score(c.fake_logits, splits=splits, from_logits=True)
    return {"is": value, "is_std": std}


def _class(c: Context) -> dict[str, float]:
    from gan_jax.metrics import classes

    out = {}
    if c.labels is not None:
        out["class_accuracy"] = classes.conditional_accuracy(c.fake_logits, c.labels)
    hist = classes.label_histogram(c.fake_logits, c.fake_logits.shape[-1])
    out["label_entropy"] = classes.label_entropy(hist)
    out["label_kl"] = classes.label_kl_to_uniform(hist)
    return out


def _modes(c: Context) -> dict[str, float]:
    from gan_jax.metrics.mixtures import mode_metrics

    return mode_metrics(c.fake, c.mixture)


_BUILTIN = (
    Metric(
        "fid",
        keys={"fid": MIN},
        compute=_fid,
        why_not=images_only,
        auto=always,
        features=True,
        panels=(("Frechet distance", ("fid",)),),
    ),
    Metric(
        "kid",
        keys={"kid": MIN, "kid_std": MIN},
        compute=_kid,
        why_not=images_only,
        auto=always,
        features=True,
        panels=(("KID", ("kid",)),),
    ),
    Metric(
        "pr",
        keys={"precision": MAX, "recall": MAX},
        compute=_pr,
        why_not=images_only,
        auto=always,
        features=True,
        panels=(("precision / recall", ("precision", "recall")),),
    ),
    Metric(
        "dc",
        keys={"density": MAX, "coverage": MAX},
        compute=_dc,
        why_not=images_only,
        auto=never,
        features=True,
    ),
    Metric(
        "pixel_chi2",
        keys={"pixel_chi2": MIN},
        compute=_pixel_chi2,
        why_not=images_only,
        auto=always,
        panels=(("pixel histogram chi2", ("pixel_chi2",)),),
    ),
    Metric(
        "is",
        keys={"is": MAX, "is_std": MIN},
        compute=_is,
        why_not=images_only,
        auto=with_inception,
        features=True,
    ),
    Metric(
        "class",
        keys={"class_accuracy": MAX, "label_entropy": MAX, "label_kl": MIN},
        compute=_class,
        why_not=classifier_and_labels,
        auto=always,
        features=True,
        conditional_keys=frozenset({"class_accuracy"}),
    ),
    Metric(
        "modes",
        keys={"modes": MAX, "hq_fraction": MAX, "reverse_kl": MIN},
        compute=_modes,
        why_not=mixtures_only,
        auto=always,
        panels=(("modes", ("modes",)), ("high-quality fraction", ("hq_fraction",))),
    ),
)
_TABLE: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Adds `metric` to the table; its name and keys must be new and its directions MIN/MAX."""
    if metric.name in _TABLE or metric.name == "auto":
        raise ValueError(f"metric name {metric.name!r} is taken")
    taken = {k for m in _TABLE.values() for k in m.keys}
    for key, direction in metric.keys.items():
        if key in taken:
            raise ValueError(f"metric {metric.name!r}: key {key!r} belongs to another metric")
        if direction not in (MIN, MAX):
            raise ValueError(f"metric {metric.name!r}: key {key!r} has direction {direction!r}")
    drawn = {k for _, keys in metric.panels for k in keys}
    if not drawn <= set(metric.keys) or not metric.conditional_keys <= set(metric.keys):
        raise ValueError(f"metric {metric.name!r}: panels and conditional keys must be its keys")
    _TABLE[metric.name] = metric
    return metric


def unregister(name: str) -> None:
    """Removes the metric `name` (e.g. one a test or a notebook registered)."""
    del _TABLE[name]


for _metric in _BUILTIN:
    register(_metric)


def entries() -> tuple[Metric, ...]:
    """Every registered metric, in table order."""
    return tuple(_TABLE.values())


def names() -> tuple[str, ...]:
    """The metric names `evals.metrics` and `--metrics` accept (besides 'auto')."""
    return tuple(_TABLE)


def get(name: str) -> Metric:
    """The entry of metric `name` (KeyError if none: `resolve_metrics` checks names first)."""
    return _TABLE[name]


def directions() -> dict[str, str]:
    """Every output key with the direction that improves it."""
    return {k: d for m in _TABLE.values() for k, d in m.keys.items()}


def better(key: str) -> str:
    """'min' or 'max': which direction improves metric `key` (for best-checkpoint tracking)."""
    found = directions()
    if key not in found:
        keys = ", ".join(sorted(found))
        raise ConfigError(
            f"config.evals.best_metric={key!r} is not a metric; choose one of: {keys}"
        )
    return found[key]


def resolve_metrics(
    spec: str | Sequence[str], mixture: bool, features: str, labelled: bool
) -> tuple[str, ...]:
    """The metric names to compute: `spec` is 'auto' or comma-separated names from `names()`.
    Raises ConfigError for an unknown name or one that does not apply to the run, with why."""
    run = RunKind(mixture, features, labelled)
    if isinstance(spec, str):
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    if list(spec) == ["auto"]:
        return tuple(m.name for m in _TABLE.values() if m.why_not(run) is None and m.auto(run))
    for name in spec:
        if name not in _TABLE:
            raise ConfigError(f"unknown metric {name!r}; choose from: auto, {', '.join(_TABLE)}")
        why = _TABLE[name].why_not(run)
        if why is not None:
            raise ConfigError(f"metric {name!r} does not apply to this run: {why}")
    if not spec:
        raise ConfigError("no metrics requested; pass e.g. --metrics=fid,kid or auto")
    return tuple(dict.fromkeys(spec))


def output_keys(chosen: Iterable[str], conditional: bool) -> tuple[str, ...]:
    """The keys `score` returns for the metrics `chosen`."""
    return tuple(k for name in chosen for k in _TABLE[name].output_keys(conditional))


def needs_features(chosen: Iterable[str]) -> bool:
    """Whether any of the metrics `chosen` needs the feature network."""
    return any(_TABLE[name].features for name in chosen)


def score(chosen: Iterable[str], context: Context) -> dict[str, float]:
    """The metrics `chosen` on `context`, as flat `{key: float}` in `output_keys` order."""
    out: dict[str, float] = {}
    for name in chosen:
        metric = _TABLE[name]
        values = metric.compute(context)
        expected = metric.output_keys(context.labels is not None)
        if set(values) != set(expected):
            raise RuntimeError(f"metric {name!r} returned keys {sorted(values)}, not {expected}")
        out.update((k, float(values[k])) for k in expected)
    return out


def chart_panels() -> tuple[Panel, ...]:
    """The `loss_curves.png` panels of every metric, in table order: (title, keys drawn)."""
    return tuple(panel for m in _TABLE.values() for panel in m.panels)
