"""Domain classifiers: a small CNN trained on a labelled dataset, the feature network for
Fréchet distance / KID / precision-recall and the judge of class-conditional accuracy and label
coverage where Inception features mean little (MNIST-like data). The network and why:
`gan_jax.feature_nets.classifier_model`; the data splits: `gan_jax.feature_nets.classifier_data`.

    clf = get_classifier(config.data)              # trains once (~1 min for MNIST on 2 cores)
    feats = extract_features(clf.features, array_batches(images, 500), len(images), 500)
    predicted = np.argmax(clf.logits(images), -1)

Trained weights are cached under `cache_dir('classifiers', KEY)` (`params.msgpack` and
`info.json`), KEY a hash of everything that determines the weights: the data config (source,
image size, crop, channels, labels), a fingerprint of the training data's content, how the
held-out set was chosen, the `ClassifierSettings` and `FORMAT_VERSION`. An entry is written in a
temporary folder and renamed into place, so a killed training never leaves half an entry.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import re
import shutil
import uuid
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import serialization

from gan_jax.errors import DataError, InputError
from gan_jax.feature_nets import classifier_data, classifier_train
from gan_jax.feature_nets.classifier_model import ClassifierSettings, DomainCNN
from gan_jax.platform.cache import cache_dir

FORMAT_VERSION = 1
DATA_FIELDS = ("source", "image_size", "crop", "channels", "labels")
PARAMS_FILE, INFO_FILE = "params.msgpack", "info.json"


class DomainClassifier:
    """A trained `DomainCNN` with jitted inference on images (B, *data_shape) in [-1, 1].

    `features` (B, feature_dim) and `logits` (B, num_classes) suit
    `gan_jax.feature_nets.features.extract_features` (one compile per batch shape; no batch-norm, so
    zero-padded rows never change the others). `info` is the cached `info.json`: held-out
    `accuracy` and `per_class_accuracy`, training `class_frequencies`, settings, source.
    """

    def __init__(
        self, params: Any, info: dict[str, Any], path: str | None = None, from_cache: bool = False
    ):
        self.info = info
        self.path = path
        self.from_cache = from_cache
        self.num_classes: int = info["num_classes"]
        self.accuracy: float = info["accuracy"]
        self.data_shape: tuple[int, ...] = tuple(info["data_shape"])
        self.settings = ClassifierSettings(**info["settings"])
        self.module = DomainCNN(self.num_classes, self.settings.width, self.settings.feature_dim)
        self.params = jax.device_put(params)
        module = self.module
        self._forward = jax.jit(lambda p, x: module.apply({"params": p}, x))

    @property
    def class_frequencies(self) -> np.ndarray:
        """Fraction of each class among the training labels (the reference histogram)."""
        return np.asarray(self.info["class_frequencies"], np.float64)

    def apply(self, images: Any) -> dict[str, jax.Array]:
        """{'features': (B, feature_dim) post-ReLU penultimate layer, 'logits': (B, K)}."""
        shape = tuple(np.shape(images))
        if shape[1:] != self.data_shape:
            raise InputError(
                f"the domain classifier for {self.info['source']} takes images of shape "
                f"(B, {', '.join(map(str, self.data_shape))}), got {shape}; pass images at the "
                "data's resolution and channels, in [-1, 1]"
            )
        return self._forward(self.params, jnp.asarray(images, jnp.float32))

    def features(self, images: Any) -> jax.Array:
        return self.apply(images)["features"]

    def logits(self, images: Any) -> jax.Array:
        return self.apply(images)["logits"]


def _validate(settings: ClassifierSettings) -> None:
    for field in ("steps", "batch_size", "width", "feature_dim"):
        if getattr(settings, field) < 1:
            raise InputError(
                f"classifier {field}={getattr(settings, field)} must be >= 1 (--{field})"
            )
    if not settings.learning_rate > 0:
        raise InputError(f"classifier learning_rate={settings.learning_rate} must be > 0")


def _real_source(data: ml_collections.ConfigDict) -> str:
    """The source with a file/folder path made absolute and resolved, so `npz:../x.npz` and
    `npz:/abs/x.npz` share one cache entry (the content fingerprint is in the key anyway)."""
    kind, sep, rest = data.source.partition(":")
    if kind in ("npz", "folder") and sep:
        return f"{kind}:{os.path.realpath(os.path.expanduser(rest))}"
    return data.source


def cache_key(
    data: ml_collections.ConfigDict,
    settings: ClassifierSettings,
    data_shape: tuple[int, ...],
    fingerprint: str,
    held_out: str,
) -> str:
    """`NAME-HxWxC-HASH`: a readable prefix and a hash of everything the weights depend on."""
    spec = {
        "format": FORMAT_VERSION,
        "data": {field: data[field] for field in DATA_FIELDS} | {"source": _real_source(data)},
        "data_shape": list(data_shape),
        "fingerprint": fingerprint,
        "held_out": held_out,
        "settings": dataclasses.asdict(settings),
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    arg = data.source.partition(":")[2].split(":")[0].rstrip("/")
    name = os.path.splitext(os.path.basename(arg))[0] or "data"
    name = re.sub(r"[^A-Za-z0-9_.]+", "-", name)[:40]
    return f"{name}-{'x'.join(map(str, data_shape))}-{digest}"


def train_command(data: ml_collections.ConfigDict, settings: ClassifierSettings) -> str:
    """The command line that trains the classifier `get_classifier(data, settings=...)` uses."""
    defaults = ml_collections.ConfigDict({"image_size": 0, "crop": 0, "channels": 0})
    parts = ["python -m experiments.train_classifier --config=<your config>"]
    parts.append(f"--config.data.source={data.source}")
    parts += [
        f"--config.data.{f}={data[f]}"
        for f in ("image_size", "crop", "channels")
        if data[f] != defaults[f]
    ]
    if data.labels != "auto":
        parts.append(f"--config.data.labels={data.labels}")
    for field in ("steps", "batch_size"):
        if getattr(settings, field) != getattr(ClassifierSettings(), field):
            parts.append(f"--{field}={getattr(settings, field)}")
    return " ".join(parts)


def save_classifier(path: str, params: Any, info: dict[str, Any]) -> None:
    """Write `path/params.msgpack` + `path/info.json` atomically (temporary folder, rename);
    an existing entry at `path` is replaced."""
    root, key = os.path.split(path)
    os.makedirs(root, exist_ok=True)
    tmp = os.path.join(root, f".{key}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    old = None
    try:
        os.makedirs(tmp)
        with open(os.path.join(tmp, PARAMS_FILE), "wb") as f:
            f.write(serialization.to_bytes(params))
        with open(os.path.join(tmp, INFO_FILE), "w") as f:
            json.dump(info, f, indent=1)
        if os.path.isdir(path):
            old = os.path.join(root, f".{key}.old-{uuid.uuid4().hex[:8]}")
            os.rename(path, old)
        try:
            os.rename(tmp, path)
        except OSError:  # another process put an entry there first: keep theirs
            if not os.path.isdir(path):
                raise
    finally:
        for leftover in (tmp, old):
            if leftover and os.path.isdir(leftover):
                shutil.rmtree(leftover, ignore_errors=True)


def load_classifier(path: str) -> DomainClassifier:
    """The classifier cached in the folder `path` (as written by `save_classifier`)."""
    try:
        with open(os.path.join(path, INFO_FILE)) as f:
            info = json.load(f)
        settings = ClassifierSettings(**info["settings"])
        module = DomainCNN(info["num_classes"], settings.width, settings.feature_dim)
        dummy = jnp.zeros((1, *info["data_shape"]), jnp.float32)
        template = jax.eval_shape(module.init, jax.random.PRNGKey(0), dummy)["params"]
        with open(os.path.join(path, PARAMS_FILE), "rb") as f:
            params = serialization.from_bytes(template, f.read())
        shapes_ok = jax.tree.all(
            jax.tree.map(lambda t, p: t.shape == np.shape(p), template, params)
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(
            f"cached domain classifier {path} is unreadable ({e}); delete that folder or "
            "retrain with --force".splitlines()[0]
        ) from None
    if not shapes_ok:
        raise DataError(
            f"cached domain classifier {path} does not match its info.json; delete that folder "
            "or retrain with --force"
        )
    return DomainClassifier(params, info, path, from_cache=True)


def get_classifier(
    data_config: ml_collections.ConfigDict,
    train: bool = True,
    cache: str | None = None,
    settings: ClassifierSettings | None = None,
    force: bool = False,
) -> DomainClassifier:
    """The domain classifier for `data_config` (a config's `data` section), from the cache.

    On a miss it is trained when `train` (see `classifier_train`), else InputError names the
    command that trains it. `cache` is the folder of classifier entries (default
    `cache_dir('classifiers')`); `force` retrains and replaces a cached entry. Unlabelled
    sources and 2-D mixtures raise DataError.
    """
    settings = settings or ClassifierSettings()
    _validate(settings)
    train_source, held_out, how = classifier_data.labelled_splits(data_config)
    key = cache_key(
        data_config,
        settings,
        train_source.data_shape,
        classifier_data.fingerprint(train_source),
        how,
    )
    path = os.path.join(cache or cache_dir("classifiers"), key)
    if os.path.isdir(path) and not force:
        return load_classifier(path)
    if not train:
        raise InputError(
            f"no domain classifier for {data_config.source} in {path}; train it first with "
            f"`{train_command(data_config, settings)}`"
        )
    params, info = classifier_train.train_classifier(train_source, held_out, settings)
    info = {
        "format": FORMAT_VERSION,
        "key": key,
        **{field: data_config[field] for field in DATA_FIELDS},
        "data_shape": list(train_source.data_shape),
        "held_out": how,
        "settings": dataclasses.asdict(settings),
        "steps": settings.steps,
        **info,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "jax_version": jax.__version__,
    }
    save_classifier(path, params, info)
    return DomainClassifier(params, info, path)
