"""Domain classifier: learning, held-out scoring, determinism, the cache, errors, the CLI."""

import dataclasses
import os

import jax
import numpy as np
import pytest
from helpers import ROOT, data_config, run_module

from gan_jax.errors import DataError, InputError
from gan_jax.feature_nets import classifier_data, classifier_train
from gan_jax.feature_nets.classifier import get_classifier, load_classifier
from gan_jax.feature_nets.classifier_model import ClassifierSettings, DomainCNN, num_stages
from gan_jax.feature_nets.features import array_batches, extract_features

FAST = ClassifierSettings(steps=30, batch_size=16, learning_rate=1e-2, width=8, feature_dim=16)
MNIST = os.path.join(ROOT, "..", "shared", "data", "mnist.npz")  # build machines only


def bars(n, k, side=28, channels=1, seed=0):
    """Class c is a bright horizontal bar at its own height over dim noise (easy to learn)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.integers(0, 60, (n, side, side, channels), dtype=np.uint8)
    for i, c in enumerate(y):
        row = 2 + c * (side - 6) // (k - 1)
        x[i, row : row + 3] = 255
    return x, y


def write_bars(path, k=4, n=96, test=40, side=28, channels=1, seed=0, labels=True):
    x, y = bars(n, k, side, channels, seed)
    arrays = {"x_train": x}
    if labels:
        arrays["y_train"] = y
    if test:
        arrays["x_test"], arrays["y_test"] = bars(test, k, side, channels, seed + 1)
    np.savez(path, **arrays)
    return f"npz:{path}"


def leaves_equal(a, b):
    return all(
        np.array_equal(np.asarray(x), np.asarray(y))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A classifier trained on the bars data set in its own cache: (data config, cache, clf)."""
    tmp = tmp_path_factory.mktemp("classifier")
    data = data_config(write_bars(tmp / "bars.npz"))
    cache = str(tmp / "cache")
    return data, cache, get_classifier(data, cache=cache, settings=FAST)


def test_learns_easy_classes_and_scores_the_test_arrays(trained):
    data, _, clf = trained
    assert not clf.from_cache
    assert clf.info["held_out"] == "x_test/y_test" and clf.info["held_out_examples"] == 40
    assert clf.num_classes == 4 and clf.data_shape == (28, 28, 1)
    assert clf.accuracy >= 0.95
    x_test, y_test = bars(40, 4, seed=1)  # what write_bars stored as x_test / y_test
    predicted = np.argmax(np.asarray(clf.logits(x_test / 127.5 - 1.0)), axis=-1)
    assert clf.accuracy == np.mean(predicted == y_test)
    for c in range(4):
        assert clf.info["per_class_accuracy"][c] == np.mean(predicted[y_test == c] == c)
    np.testing.assert_allclose(clf.class_frequencies, np.full(4, 0.25))


def test_training_twice_gives_bit_identical_weights(tmp_path):
    train, test, _ = classifier_data.labelled_splits(data_config(write_bars(tmp_path / "b.npz")))
    settings = dataclasses.replace(FAST, steps=5)
    first, info = classifier_train.train_classifier(train, test, settings)
    second, _ = classifier_train.train_classifier(train, test, settings)
    assert leaves_equal(first, second)
    other, _ = classifier_train.train_classifier(train, test, dataclasses.replace(settings, seed=1))
    assert not leaves_equal(first, other)
    assert info["train_examples"] == 96 and info["batch_size"] == 16


def test_cache_hit_reloads_identical_weights_without_training(trained, monkeypatch):
    data, cache, clf = trained

    def no_training(*args, **kwargs):
        raise AssertionError("trained on a cache hit")

    monkeypatch.setattr(classifier_train, "train_classifier", no_training)
    again = get_classifier(data, cache=cache, settings=FAST, train=False)
    assert again.from_cache and again.path == clf.path
    assert leaves_equal(again.params, clf.params)
    assert again.info == load_classifier(clf.path).info
    x, _ = bars(8, 4, seed=5)
    np.testing.assert_array_equal(np.asarray(again.features(x)), np.asarray(clf.features(x)))
    with pytest.raises(AssertionError, match="trained on a cache hit"):  # --force retrains
        get_classifier(data, cache=cache, settings=FAST, force=True)
    assert load_classifier(clf.path).from_cache  # a failed retrain left the entry intact


def test_miss_without_training_names_the_command(trained):
    data, cache, _ = trained
    with pytest.raises(InputError, match=r"experiments.train_classifier .*--steps=7"):
        get_classifier(data, cache=cache, settings=dataclasses.replace(FAST, steps=7), train=False)
    with pytest.raises(InputError, match="steps=0 must be >= 1"):
        get_classifier(data, cache=cache, settings=dataclasses.replace(FAST, steps=0))


def test_interrupted_save_leaves_no_entry(tmp_path, monkeypatch):
    from flax import serialization

    data = data_config(write_bars(tmp_path / "b.npz"))
    cache = tmp_path / "cache"

    def broken(params):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "to_bytes", broken)
    with pytest.raises(KeyboardInterrupt):
        get_classifier(data, cache=str(cache), settings=dataclasses.replace(FAST, steps=1))
    assert os.listdir(cache) == []
    with pytest.raises(InputError, match="no domain classifier"):
        get_classifier(
            data, cache=str(cache), settings=dataclasses.replace(FAST, steps=1), train=False
        )


def test_fingerprint_follows_content_not_file_metadata(tmp_path):
    path = tmp_path / "b.npz"

    def fingerprint(seed):
        write_bars(path, seed=seed)
        train, _, _ = classifier_data.labelled_splits(data_config(f"npz:{path}"))
        return classifier_data.fingerprint(train)

    assert fingerprint(0) == fingerprint(0)  # rewritten file, same content
    assert fingerprint(0) != fingerprint(1)


def test_without_test_arrays_the_last_tenth_is_held_out(tmp_path):
    data = data_config(write_bars(tmp_path / "b.npz", n=100, test=0))
    train, held, how = classifier_data.labelled_splits(data)
    assert how == "last 10 of 100 training examples"
    assert (len(train), len(held)) == (90, 10)
    x, y = bars(100, 4)
    np.testing.assert_array_equal(held.labels, y[90:])
    np.testing.assert_array_equal(held.read(np.arange(10))["x"], x[90:])
    seen = {train.batch(s, 16, 0)["x"][i].tobytes() for s in range(10) for i in range(16)}
    assert len(seen) == 90 and not seen & {img.tobytes() for img in x[90:]}


def test_unlabelled_sources_are_refused(tmp_path):
    with pytest.raises(DataError, match="needs class labels"):
        classifier_data.labelled_splits(data_config(write_bars(tmp_path / "u.npz", labels=False)))
    with pytest.raises(DataError, match="labels=auto"):
        classifier_data.labelled_splits(data_config(write_bars(tmp_path / "l.npz"), labels="none"))
    with pytest.raises(DataError, match="mode metrics"):
        get_classifier(data_config("ring8"), cache=str(tmp_path))


@pytest.mark.parametrize(
    ("side", "channels", "stages", "flat"),
    [(28, 1, 2, 7 * 7 * 64), (32, 3, 2, 8 * 8 * 64), (64, 3, 3, 8 * 8 * 128), (128, 1, 4, 8192)],
)
def test_network_downsamples_to_at_most_8(side, channels, stages, flat):
    assert num_stages(side) == stages
    module = DomainCNN(num_classes=5)
    params = jax.eval_shape(
        module.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((2, side, side, channels), "f4")
    )["params"]
    assert params["features"]["kernel"].shape == (flat, 128)
    assert params["logits"]["kernel"].shape == (128, 5)


def test_features_shape_and_padded_batches(tmp_path):
    data = data_config(write_bars(tmp_path / "rgb.npz", side=32, channels=3))
    clf = get_classifier(
        data, cache=str(tmp_path / "cache"), settings=ClassifierSettings(steps=2, batch_size=8)
    )
    x = bars(10, 4, side=32, channels=3, seed=3)[0] / 127.5 - 1.0
    out = clf.apply(x)
    assert out["features"].shape == (10, 128) and out["logits"].shape == (10, 4)
    assert np.all(np.asarray(out["features"]) >= 0)  # post-ReLU
    batched = extract_features(clf.features, array_batches(x, 4), 10, 4)
    np.testing.assert_allclose(batched, np.asarray(out["features"]), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match=r"shape \(B, 32, 32, 3\)"):
        clf.features(x[..., :1])


def test_mnist_file_uses_its_test_arrays():
    if not os.path.exists(MNIST):
        pytest.skip(f"{MNIST} not present")
    train, held, how = classifier_data.labelled_splits(data_config(f"npz:{MNIST}"))
    assert how == "x_test/y_test" and (len(train), len(held)) == (60000, 10000)
    assert held.num_classes == train.num_classes == 10


def _cli(*args, cache):
    return run_module("experiments.train_classifier", *args, env={"GAN_JAX_CACHE": str(cache)})


def test_cli_trains_then_hits_the_cache(tmp_path):
    source = write_bars(tmp_path / "b.npz")
    args = ["--config=mnist_dcgan", f"--config.data.source={source}", "--steps=3", "--batch_size=8"]
    first = _cli(*args, cache=tmp_path / "cache")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "trained 3 steps" in first.stdout and "held-out accuracy" in first.stdout
    second = _cli(*args, cache=tmp_path / "cache")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "cache hit" in second.stdout
    assert str(tmp_path / "cache" / "classifiers") in second.stdout


def test_cli_bad_config_value_exits_2(tmp_path):
    result = _cli("--config=mnist_dcgan", "--config.data.channels=5", cache=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: config.data.channels=5")


def test_tfds_train_split_is_scored_on_the_test_split(monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    # mock_data has no split metadata; a prepared mnist lists 'train' and 'test'
    monkeypatch.setattr(classifier_data, "_tfds_test_split", lambda data, name: name == "mnist")
    with tfds.testing.mock_data(num_examples=20):
        train, held, how = classifier_data.labelled_splits(data_config("tfds:mnist"))
        assert how == "tfds split 'test'" and held.name == "tfds:mnist:test"
        _, part, how = classifier_data.labelled_splits(data_config("tfds:mnist:train[:50%]"))
    assert how == "last 2 of 20 training examples" and len(part) == 2
    assert len(train) == len(held) == 20
