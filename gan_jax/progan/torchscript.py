"""Reads the named tensors of a TorchScript archive (ocaml-torch's `.ot` files) without torch.

ocaml-torch's `Serialize.save_multi` writes its named tensors with libtorch's
`torch::serialize::OutputArchive`, i.e. as a TorchScript module archive: a zip whose
`<root>/data.pkl` pickles the module as `__torch__.*` objects (each built from a dict of its
attributes), whose tensors are the same `torch._utils._rebuild_tensor_v2` calls on persistent
storages as in a `torch.save` file (`gan_jax.feature_nets.torch_pickle`), with the storages in
`<root>/data/<key>`. Parameter names are the attribute paths joined by dots; a name that itself
contains dots (ocaml-torch registers `features.0.conv.weight` on the root module) comes out
the same.

This is the archive format of libtorch >= 1.4. Archives of libtorch 1.0 to 1.3 (a `model.json`
with raw `tensors/N` entries, no `data.pkl`) are refused with a message saying so. Only the
storage and tensor globals are resolved, and `__torch__` classes become inert attribute
holders, so reading an untrusted file runs no code.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import numpy as np

from gan_jax.errors import InputError
from gan_jax.feature_nets import torch_pickle


class _ScriptObject:
    """A `__torch__` object: only its attributes (BUILD's dict) are kept."""

    def __setstate__(self, state: Any) -> None:
        self.attributes = state if isinstance(state, dict) else {}


class _Unpickler(torch_pickle._Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "__torch__" or module.startswith("__torch__."):
            return type(name, (_ScriptObject,), {})
        return super().find_class(module, name)


def _flatten(obj: _ScriptObject, prefix: str, out: dict[str, Any]) -> None:
    for key, value in getattr(obj, "attributes", {}).items():
        if isinstance(value, torch_pickle._Tensor):
            out[prefix + key] = value
        elif isinstance(value, _ScriptObject):
            _flatten(value, f"{prefix}{key}.", out)


def _read(path: str) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pickles and any(n.endswith("/model.json") for n in names):
            raise ValueError(
                "a libtorch 1.0-1.3 archive (model.json); re-save it with libtorch >= 1.4 or "
                "use the PyTorch .pth of the same weights"
            )
        if len(pickles) != 1:
            raise ValueError("zip archive without a single <root>/data.pkl")
        root = pickles[0][: -len("data.pkl")]
        storages: dict[str, torch_pickle._Storage] = {}
        obj = _Unpickler(io.BytesIO(zf.read(pickles[0])), storages).load()
        for key, storage in storages.items():
            raw = zf.read(f"{root}data/{key}")
            dtype = storage.dtype.newbyteorder("<")
            if len(raw) < storage.numel * dtype.itemsize:
                raise ValueError(f"storage {key} holds {len(raw)} bytes, fewer than its size")
            storage.data = np.frombuffer(raw, dtype, storage.numel).astype(storage.dtype.type)
    if not isinstance(obj, _ScriptObject):
        raise ValueError("its data.pkl is not a TorchScript module")
    tensors: dict[str, Any] = {}
    _flatten(obj, "", tensors)
    return {k: v.materialize() for k, v in tensors.items()}


def load_named_tensors(path: str) -> dict[str, np.ndarray]:
    """`{name: array}` of the TorchScript archive (e.g. an ocaml-torch `.ot`) at `path`.

    Raises InputError (one line, naming the file) when it is missing or not such an archive.
    """
    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("not a zip archive")
        tensors = _read(path)
    except FileNotFoundError:
        raise InputError(f"{path!r} does not exist; check the --src path") from None
    except IsADirectoryError:
        raise InputError(f"{path!r} is a directory; pass the .ot file") from None
    except Exception as e:  # any parse failure of a damaged or foreign file
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path!r} is not a readable TorchScript archive: {msg:.200}") from None
    if not tensors:
        raise InputError(f"{path!r} is a TorchScript archive without tensors")
    return tensors
