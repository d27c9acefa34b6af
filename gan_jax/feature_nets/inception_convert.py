"""Converts pytorch-fid's FID Inception weights (`pt_inception-2015-12-05-6726825d.pth`) to Flax.

The .pth is read without torch (`torch_pickle`), every tensor is checked against the FID
InceptionV3's layout and re-indexed, and the variables are written as one .npz together with
the source file's SHA-256. The 8 hex digits in the published file name are the start of its
SHA-256 (torch.hub's convention), so a download can be checked against the name.

Layout (pytorch-fid key -> Flax variable):
  X.conv.weight (O, I, kh, kw)   -> params/X/conv/kernel (kh, kw, I, O)
  X.bn.weight / X.bn.bias        -> params/X/bn/scale / params/X/bn/bias
  X.bn.running_mean / _var       -> batch_stats/X/bn/mean / batch_stats/X/bn/var
  fc.weight (1008, 2048), fc.bias -> params/fc/kernel (2048, 1008), params/fc/bias
`X.bn.num_batches_tracked` (a training counter) is ignored; anything else is an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from collections.abc import Callable

import flax
import numpy as np

from gan_jax.errors import InputError
from gan_jax.feature_nets import inception
from gan_jax.feature_nets.torch_pickle import load_state_dict

_BN = {"scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}


@dataclasses.dataclass(frozen=True)
class Entry:
    """One variable: its Flax key, pytorch-fid key and shape, and the re-indexing."""

    flax_key: str
    torch_key: str
    torch_shape: tuple[int, ...]
    to_flax: Callable[[np.ndarray], np.ndarray]


def _identity(a: np.ndarray) -> np.ndarray:
    return a


def _oihw_to_hwio(a: np.ndarray) -> np.ndarray:
    return np.transpose(a, (2, 3, 1, 0))


def layout() -> list[Entry]:
    """Every variable of the FID InceptionV3 with its pytorch-fid state-dict counterpart."""
    entries = []
    shapes = flax.traverse_util.flatten_dict(inception.variable_shapes(), sep="/")
    for key, struct in shapes.items():
        shape = tuple(struct.shape)
        collection, *path, leaf = key.split("/")
        module = ".".join(path)
        if leaf == "kernel" and len(shape) == 4:
            torch_shape = (shape[3], shape[2], shape[0], shape[1])
            entries.append(Entry(key, f"{module}.weight", torch_shape, _oihw_to_hwio))
        elif leaf == "kernel":
            entries.append(Entry(key, f"{module}.weight", shape[::-1], np.transpose))
        elif path[-1] == "bn":
            entries.append(Entry(key, f"{module}.{_BN[leaf]}", shape, _identity))
        else:
            entries.append(Entry(key, f"{module}.{leaf}", shape, _identity))
    return entries


def state_dict_to_flat(state_dict: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """pytorch-fid state dict -> flat {'params/...': float32 array}; InputError on any mismatch."""
    entries = layout()
    known = {e.torch_key for e in entries}
    missing = [e.torch_key for e in entries if e.torch_key not in state_dict]
    extra = [k for k in state_dict if k not in known and not k.endswith(".bn.num_batches_tracked")]
    if missing or extra:
        what = f"missing {len(missing)} keys (e.g. {missing[0]!r})" if missing else ""
        if extra:
            what += ("; " if what else "") + f"{len(extra)} unexpected keys (e.g. {extra[0]!r})"
        raise InputError(
            f"{source!r} is not pytorch-fid's FID Inception state dict: {what}; download "
            f"{inception.WEIGHTS_URL}"
        )
    flat = {}
    for e in entries:
        value = state_dict[e.torch_key]
        if tuple(value.shape) != e.torch_shape or not np.issubdtype(value.dtype, np.floating):
            raise InputError(
                f"{source!r}: {e.torch_key} has shape {tuple(value.shape)} {value.dtype}, "
                f"expected {e.torch_shape} float; is this the FID Inception file?"
            )
        flat[e.flax_key] = np.ascontiguousarray(e.to_flax(value), dtype=np.float32)
    return flat


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_converted(path: str, flat: dict[str, np.ndarray], source_sha256: str) -> None:
    """Writes the variables and metadata as .npz atomically (temporary file, then rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    meta = {
        inception.META_PREFIX + "format": np.array(inception.FORMAT),
        inception.META_PREFIX + "source_sha256": np.array(source_sha256),
    }
    fd, tmp = tempfile.mkstemp(prefix=".inception-", suffix=".npz.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **flat, **meta)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@dataclasses.dataclass(frozen=True)
class Conversion:
    """What `convert` read and wrote."""

    source: str
    sha256: str
    matches_expected: bool
    out: str
    num_params: int


def convert(src: str, out: str | None = None) -> Conversion:
    """Converts pytorch-fid's .pth at `src` to the .npz at `out` (default: the cache path).

    Nothing is written unless every tensor is present with the right shape.
    """
    if not os.path.isfile(src):
        raise InputError(f"--src {src!r} is not a file; download {inception.WEIGHTS_URL}")
    out = out or inception.default_weights_path()
    if os.path.isdir(out):
        raise InputError(f"--out {out!r} is a directory; give a file name ending in .npz")
    if not out.endswith(".npz"):
        raise InputError(f"--out {out!r} must end in .npz")
    sha = sha256_file(src)
    flat = state_dict_to_flat(load_state_dict(src), src)
    write_converted(out, flat, sha)
    num_params = sum(v.size for k, v in flat.items() if k.startswith("params/"))
    return Conversion(src, sha, sha.startswith(inception.EXPECTED_SHA256_PREFIX), out, num_params)
