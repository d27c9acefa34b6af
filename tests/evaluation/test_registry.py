"""Tests for the metric registry: an incomplete or clashing entry is refused; the directions,
'auto' sets and applicability errors match hand-written expectations; and one registered entry
is enough for a metric to be resolved, computed by the Evaluator, ranked by `better` and drawn
in the chart."""

import contextlib
import re

import flax.linen as nn
import numpy as np
import pytest
from helpers import FakeNet, tiny_config

from gan_jax.errors import ConfigError
from gan_jax.evaluation import evaluator, registry
from gan_jax.evaluation.evaluator import Evaluator
from gan_jax.evaluation.registry import better, resolve_metrics
from gan_jax.tasks.gan import CHART_PANELS
from gan_jax.training import history

# Written out by hand from the metric definitions, not from the registry.
DIRECTIONS = {
    "fid": "min",
    "kid": "min",
    "kid_std": "min",
    "is": "max",
    "is_std": "min",
    "precision": "max",
    "recall": "max",
    "density": "max",
    "coverage": "max",
    "pixel_chi2": "min",
    "class_accuracy": "max",
    "label_entropy": "max",
    "label_kl": "min",
    "modes": "max",
    "hq_fraction": "max",
    "reverse_kl": "min",
}
PANELS = {
    ("losses", ("d_loss", "g_loss")),
    ("mean D output", ("d_real", "d_fake")),
    ("pixel histogram chi2", ("pixel_chi2",)),
    ("Frechet distance", ("fid",)),
    ("KID", ("kid",)),
    ("precision / recall", ("precision", "recall")),
    ("modes", ("modes",)),
    ("high-quality fraction", ("hq_fraction",)),
}
IMAGE_AUTO = ("fid", "kid", "pr", "pixel_chi2")


@pytest.fixture()
def fake_net(monkeypatch):
    monkeypatch.setattr(evaluator, "load_feature_net", lambda kind, data: FakeNet(28 * 28))


@contextlib.contextmanager
def registered(metric: registry.Metric):
    """`metric` in the registry for the block only, so no test entry outlives its test."""
    registry.register(metric)
    try:
        yield metric
    finally:
        registry.unregister(metric.name)
    assert metric.name not in registry.names()


def _brightness(c: registry.Context) -> dict[str, float]:
    out = {
        "brightness": float(c.fake.mean()),
        "feature_gap": float(np.abs(c.fake_features.mean(0) - c.real_features.mean(0)).sum()),
    }
    if c.labels is not None:
        out["label_mean"] = float(c.labels.mean())
    return out


BRIGHTNESS = registry.Metric(
    "brightness",
    keys={"brightness": registry.MAX, "feature_gap": registry.MIN, "label_mean": registry.MAX},
    compute=_brightness,
    why_not=registry.images_only,
    auto=registry.always,
    features=True,
    conditional_keys=frozenset({"label_mean"}),
    panels=(("brightness", ("brightness",)), ("feature gap", ("feature_gap",))),
)


def _evaluator(digits_npz, metrics: str, num_classes: int) -> Evaluator:
    from gan_jax.data import make_source

    config = tiny_config("mnist_dcgan", **{"data.source": f"npz:{digits_npz}"})
    config.evals.num_real = 16
    source = make_source(config.data)
    return Evaluator(config, source, nn.Dense(1), num_classes, metrics, 12, "classifier")


def _fake(n: int = 12) -> np.ndarray:
    return np.random.default_rng(2).uniform(-1, 1, (n, 28, 28, 1)).astype(np.float32)


def test_better_matches_the_hand_written_directions():
    assert registry.directions() == DIRECTIONS
    for key, direction in DIRECTIONS.items():
        assert better(key) == direction, key
    with pytest.raises(ConfigError, match=r"^config.evals.best_metric='loss' is not a metric; "):
        better("loss")


@pytest.mark.parametrize(
    "run, expected",
    [
        ((True, "", False), ("modes",)),
        ((False, "inception", False), (*IMAGE_AUTO, "is")),
        ((False, "inception", True), (*IMAGE_AUTO, "is")),
        ((False, "classifier", True), (*IMAGE_AUTO, "class")),
        ((False, "classifier", False), IMAGE_AUTO),
    ],
)
def test_auto_sets(run, expected):
    assert resolve_metrics("auto", *run) == expected
    assert resolve_metrics(["auto"], *run) == expected


@pytest.mark.parametrize(
    "name, run, why",
    [
        ("modes", (False, "classifier", True), "'modes' is for 2-D mixtures"),
        ("fid", (True, "", False), "2-D mixtures are scored by modes only"),
        ("class", (True, "", True), "2-D mixtures are scored by modes only"),
        ("class", (False, "inception", True), "'class' needs classifier features and a labelled"),
        ("class", (False, "classifier", False), "'class' needs classifier features and a labelled"),
    ],
)
def test_a_metric_that_does_not_apply_says_why(name, run, why):
    message = f"metric '{name}' does not apply to this run: {why}"
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        resolve_metrics(name, *run)


def test_unknown_and_empty_specs():
    with pytest.raises(ConfigError, match=r"^unknown metric 'fidd'; choose from: auto, fid, kid"):
        resolve_metrics("fidd", False, "classifier", False)
    with pytest.raises(ConfigError, match="no metrics requested"):
        resolve_metrics(" , ", False, "classifier", False)


def test_class_accuracy_only_for_a_conditional_generator():
    assert registry.output_keys(["class"], conditional=True) == (
        "class_accuracy",
        "label_entropy",
        "label_kl",
    )
    assert registry.output_keys(["class"], conditional=False) == ("label_entropy", "label_kl")


def test_one_entry_is_enough(digits_npz, fake_net, tmp_path, monkeypatch):
    with registered(BRIGHTNESS):
        assert resolve_metrics("auto", False, "classifier", True)[-1] == "brightness"
        assert resolve_metrics("brightness,fid", False, "inception", False) == ("brightness", "fid")
        with pytest.raises(ConfigError, match="2-D mixtures are scored by modes only"):
            resolve_metrics("brightness", True, "", False)
        assert better("brightness") == "max" and better("feature_gap") == "min"

        fake = _fake()
        conditional = _evaluator(digits_npz, "fid,brightness", 10)
        assert conditional.keys == ("fid", "brightness", "feature_gap", "label_mean")
        scores = conditional.score(fake)
        assert tuple(scores) == conditional.keys
        assert scores["brightness"] == pytest.approx(float(fake.mean()))
        assert scores["label_mean"] == pytest.approx(float(conditional.labels.mean()))
        assert scores["feature_gap"] > 0

        unconditional = _evaluator(digits_npz, "brightness", 0)
        assert unconditional.keys == ("brightness", "feature_gap")
        assert tuple(unconditional.score(fake)) == unconditional.keys

        drawn = []

        def line_chart(panels):
            drawn.extend(title for title, _ in panels)
            return np.zeros((4, 4, 3), np.uint8)

        monkeypatch.setattr(history.pictures, "line_chart", line_chart)
        rows = history.History(str(tmp_path), 0, CHART_PANELS)
        rows.append(1, {"brightness": 0.1, "feature_gap": 2.0, "d_loss": 1.0})
        assert rows.plot() is not None
        assert drawn == ["losses", "brightness", "feature gap"]


def test_features_are_extracted_once_and_shared(digits_npz, fake_net, monkeypatch):
    ev = _evaluator(digits_npz, "fid,kid,pr,dc,pixel_chi2", 0)
    ev.real()
    calls = []
    extract = ev._features

    def counted(images, desc):
        calls.append(desc)
        return extract(images, desc)

    monkeypatch.setattr(ev, "_features", counted)
    scores = ev.score(_fake())
    assert calls == ["sample features"]
    assert tuple(scores) == ev.keys


def test_register_checks_the_entry():
    def entry(name, keys, **kw):
        return registry.Metric(
            name, keys, lambda c: {}, registry.images_only, registry.always, **kw
        )

    with pytest.raises(ValueError, match="name 'fid' is taken"):
        registry.register(entry("fid", {"other": "min"}))
    with pytest.raises(ValueError, match="name 'auto' is taken"):
        registry.register(entry("auto", {"other": "min"}))
    with pytest.raises(ValueError, match="key 'kid' belongs to another metric"):
        registry.register(entry("kid2", {"kid": "min"}))
    with pytest.raises(ValueError, match="has direction 'lower'"):
        registry.register(entry("x", {"x": "lower"}))
    with pytest.raises(ValueError, match="panels and conditional keys must be its keys"):
        registry.register(entry("x", {"x": "min"}, panels=(("y", ("y",)),)))
    with pytest.raises(ValueError, match="panels and conditional keys must be its keys"):
        registry.register(entry("x", {"x": "min"}, conditional_keys=frozenset({"y"})))
    assert "x" not in registry.names() and "kid2" not in registry.names()
    assert "auto" not in registry.names()


def test_score_rejects_keys_the_entry_does_not_declare():
    wrong = registry.Metric(
        "wrong", {"w": "min"}, lambda c: {"v": 1.0}, registry.images_only, registry.always
    )
    with registered(wrong), pytest.raises(RuntimeError, match="returned keys"):
        registry.score(["wrong"], registry.Context(fake=_fake(), labels=None))


def test_history_draws_the_training_then_the_registry_panels(tmp_path):
    panels = history.History(str(tmp_path), 0, CHART_PANELS).panels
    assert set(panels) == PANELS
    assert [title for title, _ in panels[:2]] == ["losses", "mean D output"]
    assert panels[2:] == registry.chart_panels()


def test_the_docstring_table_lists_every_metric_and_its_keys():
    doc = registry.__doc__
    table = doc[doc.index("=====") : doc.rindex("=====")]
    rows: dict[str, str] = {}
    name = ""
    for line in table.splitlines():
        if not line.strip() or line.startswith("="):
            continue
        if not line.startswith(" "):
            name = line.split()[0]
            rows[name] = ""
        rows[name] += line
    rows.pop("metric")
    assert set(rows) == set(registry.names())
    for m in registry.entries():
        for key in m.keys:
            assert re.search(rf"\b{key}\b", rows[m.name]), (m.name, key)
