"""The FID feature network: preprocessing exactly as TF-FID, weights loading, jitted features.

Preprocessing. TF-FID and TTUR (`fid.py`) feed images with values in [0, 255] of any size into
the graph's `ExpandDims:0` tensor; the graph itself then applies `ResizeBilinear` to 299x299 and
`(x - 128) / 128`. The 2015 GraphDef predates the `half_pixel_centers` attribute, so the resize
is TF1's legacy bilinear (align_corners=False, half_pixel_centers=False): output pixel `i` samples
input coordinate `i * in / out`, clamped at the last row/column. pytorch-fid instead resizes
[0, 1] images with `F.interpolate(mode="bilinear", align_corners=False)` (half-pixel centers)
and scales with `2x - 1`; for images not already 299x299 its features differ slightly from the
TF graph's. `preprocess` follows the TF graph: gan_jax images in [-1, 1] are mapped to [0, 255]
(`(x + 1) * 127.5`, exact for images that came from uint8), resized with the legacy rule, then
scaled with `(x - 128) / 128`. Grayscale images are replicated to 3 channels.

Weights. pytorch-fid's port of the graph, `pt_inception-2015-12-05-6726825d.pth`, is converted
once (without torch) by `python -m experiments.convert_inception --src=PATH` into a .npz under
`cache_dir('inception')`; `load_fid_inception` reads it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable

import flax
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.errors import InputError
from gan_jax.feature_nets.inception_net import InceptionV3
from gan_jax.platform.cache import cache_dir

INPUT_SIZE = 299
WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)
EXPECTED_SHA256_PREFIX = "6726825d"
CONVERTED_NAME = "pt_inception-2015-12-05.npz"
FORMAT = "gan_jax.fid_inception.v1"
META_PREFIX = "_meta/"
CONVERT_COMMAND = (
    "python -m experiments.convert_inception --src=pt_inception-2015-12-05-6726825d.pth"
)


def default_weights_path() -> str:
    """Where `convert_inception` writes and `load_fid_inception` reads by default."""
    return cache_dir("inception", CONVERTED_NAME)


def legacy_resize_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) matrix of TF1 legacy bilinear weights along one axis.

    Row `i` samples source coordinate `s = i * in_size / out_size` (align_corners=False,
    half_pixel_centers=False): weight `1 - f` on `floor(s)` and `f` on `min(floor(s) + 1, in - 1)`
    where `f = s - floor(s)`. `s` and `f` are computed in float32 as TF's kernel does (its
    rounding moves `f` by up to ~3e-5 near s = 350, i.e. ~0.008 on a 0..255 image).
    """
    scale = np.float32(in_size) / np.float32(out_size)
    src = np.arange(out_size, dtype=np.float32) * scale
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = (src - np.floor(src)).astype(np.float64)
    m = np.zeros((out_size, in_size), np.float64)
    rows = np.arange(out_size)
    np.add.at(m, (rows, lo), 1.0 - frac)
    np.add.at(m, (rows, hi), frac)
    return m


def resize_bilinear_tf1(x: jax.Array, size: tuple[int, int]) -> jax.Array:
    """NHWC bilinear resize equal to `tf.compat.v1.image.resize_bilinear(x, size,
    align_corners=False, half_pixel_centers=False)`, as two matrix products."""
    h, w = x.shape[1:3]
    if (h, w) == tuple(size):
        return x
    ry = jnp.asarray(legacy_resize_matrix(h, size[0]), x.dtype)
    rx = jnp.asarray(legacy_resize_matrix(w, size[1]), x.dtype)
    hp = jax.lax.Precision.HIGHEST
    x = jnp.einsum("oh,nhwc->nowc", ry, x, precision=hp)
    return jnp.einsum("pw,nowc->nopc", rx, x, precision=hp)


def check_images(shape: tuple[int, ...]) -> None:
    """InputError unless `shape` is a batch of NHWC images with 1 or 3 channels."""
    if len(shape) != 4 or shape[-1] not in (1, 3):
        raise InputError(
            f"FID Inception expects NHWC images with 1 or 3 channels, got shape {tuple(shape)}; "
            "pass a batch (N, H, W, C) with values in [-1, 1]"
        )


def preprocess(images: jax.Array) -> jax.Array:
    """[-1, 1] NHWC images (1 or 3 channels, any size) -> the graph's 299x299x3 input.

    Replicates grayscale, maps to [0, 255], TF1-legacy-resizes to 299x299, then `(x - 128) / 128`.
    """
    check_images(images.shape)
    x = jnp.asarray(images, jnp.float32)
    if x.shape[-1] == 1:
        x = jnp.repeat(x, 3, axis=-1)
    x = (x + 1.0) * 127.5
    x = resize_bilinear_tf1(x, (INPUT_SIZE, INPUT_SIZE))
    return (x - 128.0) / 128.0


def variable_shapes(module: InceptionV3 | None = None) -> dict:
    """The FID network's variables ('params' and 'batch_stats') as ShapeDtypeStructs."""
    module = module or InceptionV3()
    x = jax.ShapeDtypeStruct((1, INPUT_SIZE, INPUT_SIZE, 3), jnp.float32)
    return flax.core.unfreeze(jax.eval_shape(module.init, jax.random.key(0), x))


class FIDInception:
    """The FID network with fixed variables and jitted entry points on [-1, 1] NHWC images.

    `features(images)` -> (N, 2048) pool3 features (FID); `logits(images)` -> (N, 1008)
    (Inception Score); `apply(images)` -> {'features', 'logits'} in one pass (the interface the
    domain classifiers share). All preprocess (see `preprocess`) and suit
    `metrics.features.extract_features`.
    """

    def __init__(self, variables: dict, source: str, source_sha256: str | None = None):
        self.module = InceptionV3()
        self.variables = jax.device_put(variables)
        self.source = source
        self.source_sha256 = source_sha256
        self._both = jax.jit(self._apply)
        self.features = self._select("features")
        self.logits = self._select("logits")

    def _apply(self, variables: dict, images: jax.Array) -> dict[str, jax.Array]:
        out = self.module.apply(variables, preprocess(images))
        return {"features": out["pool3"], "logits": out["logits"]}

    def _select(self, key: str) -> Callable[[jax.Array], jax.Array]:
        fn = jax.jit(lambda variables, images: self._apply(variables, images)[key])

        def call(images: jax.Array) -> jax.Array:
            check_images(np.shape(images))
            return fn(self.variables, images)

        call.__doc__ = f"[-1, 1] NHWC images -> the network's {key!r}."
        return call

    def apply(self, images: jax.Array) -> dict[str, jax.Array]:
        """[-1, 1] NHWC images -> {'features': pool3 (N, 2048), 'logits': (N, 1008)}."""
        check_images(np.shape(images))
        return self._both(self.variables, images)

    @property
    def matches_published(self) -> bool:
        """Whether the weights were converted from a file whose SHA-256 starts with the
        published prefix (False for random weights and any other file)."""
        return bool(self.source_sha256 and self.source_sha256.startswith(EXPECTED_SHA256_PREFIX))

    def num_params(self) -> int:
        return sum(int(np.size(p)) for p in jax.tree.leaves(self.variables["params"]))


def random_fid_inception(seed: int = 0) -> FIDInception:
    """The FID architecture with random He-scaled weights and identity BatchNorm statistics
    (for timing; not for scores). Drawn with numpy: no init program to compile."""
    rng = np.random.default_rng(seed)
    flat = {}
    for key, s in flax.traverse_util.flatten_dict(variable_shapes(), sep="/").items():
        if key.endswith("/kernel"):
            fan_in = int(np.prod(s.shape[:-1]))
            value = rng.standard_normal(s.shape) * np.sqrt(2.0 / fan_in)
        else:
            value = np.ones(s.shape) if key.endswith(("/scale", "/var")) else np.zeros(s.shape)
        flat[key] = value.astype(np.float32)
    variables = flax.traverse_util.unflatten_dict(flat, sep="/")
    return FIDInception(variables, source=f"random(seed={seed})")


def read_converted(path: str) -> tuple[dict, str | None]:
    """Reads and validates a converted .npz; returns (variables, source SHA-256)."""
    fix = f"re-create it with `{CONVERT_COMMAND} --out={path}`"
    try:
        with np.load(path, allow_pickle=False) as data:
            flat = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        msg = f"cannot read converted FID Inception weights {path!r} ({e}); {fix}"
        raise InputError(msg) from None
    fmt = str(flat.pop(META_PREFIX + "format", ""))
    sha = flat.pop(META_PREFIX + "source_sha256", None)
    if fmt != FORMAT:
        raise InputError(f"{path!r} is not a converted FID Inception file (format {fmt!r}); {fix}")
    shapes = flax.traverse_util.flatten_dict(variable_shapes(), sep="/")
    expected = {k: tuple(v.shape) for k, v in shapes.items()}
    got = {k: tuple(v.shape) for k, v in flat.items()}
    if got != expected:
        bad = sorted(set(expected) ^ set(got)) or [k for k in expected if expected[k] != got[k]]
        raise InputError(f"{path!r} does not fit the FID InceptionV3 (e.g. {bad[0]!r}); {fix}")
    variables = flax.traverse_util.unflatten_dict(
        {k: v.astype(np.float32) for k, v in flat.items()}, sep="/"
    )
    return variables, (None if sha is None else str(sha))


def load_fid_inception(path: str | None = None) -> FIDInception:
    """The FID InceptionV3 with the converted published weights (default: the cache's copy).

    Raises InputError with the download URL and the convert command when the file is missing.
    """
    path = path or default_weights_path()
    if not os.path.exists(path):
        raise InputError(
            f"FID Inception weights not found at {path!r}: download {WEIGHTS_URL} once, then run "
            f"`{CONVERT_COMMAND}`" + ("" if path == default_weights_path() else f" --out={path}")
        )
    variables, sha = read_converted(path)
    return FIDInception(variables, source=path, source_sha256=sha)
