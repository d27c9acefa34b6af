"""Reads a PyTorch `torch.save` state dict into numpy arrays, without torch.

Two formats exist. Since torch 1.6 the default is a zip archive: `<root>/data.pkl` is a pickle
whose tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` calls
and whose storages are persistent ids `('storage', torch.FloatStorage, key, location, numel)`
naming the raw little-endian bytes in `<root>/data/<key>`. Before 1.6 (and with
`_use_new_zipfile_serialization=False`) the file is a sequence of pickles: a magic number, the
protocol version, system info, the object (same persistent ids, plus a view field), the sorted
storage keys, then each storage as an int64 element count followed by its bytes.

Only the globals a state dict needs are resolved (OrderedDict, the tensor rebuild functions and
the storage types); anything else is refused, so reading an untrusted file runs no code.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

from gan_jax.errors import InputError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    """A typed storage whose bytes may arrive after the pickle (legacy format)."""

    def __init__(self, dtype: np.dtype, numel: int):
        self.dtype = dtype
        self.numel = numel
        self.data: np.ndarray | None = None


class _Tensor:
    """A strided view of a storage, materialized once every storage is read."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def materialize(self) -> np.ndarray:
        data = self.storage.data
        if any(s < 0 for s in self.size) or any(s < 0 for s in self.stride) or self.offset < 0:
            raise ValueError("negative size, stride or offset")
        last = self.offset + sum(
            (n - 1) * s for n, s in zip(self.size, self.stride, strict=True) if n > 0
        )
        if 0 not in self.size and last >= len(data):
            raise ValueError(f"tensor reaches element {last} of a {len(data)}-element storage")
        item = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :] if 0 not in self.size else data,
            shape=self.size,
            strides=[s * item for s in self.stride],
            writeable=False,
        )
        return np.array(view)


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *_):
    return _Tensor(storage, int(offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, hooks=None, *_):
    return data


_GLOBALS = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, storages: dict[str, _Storage]):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _GLOBALS:
            return _GLOBALS[module, name]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r:.80}")
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views (pre-1.0 torch files) are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, numel)
        return self.storages[key]


def _materialize(obj: Any) -> Any:
    if isinstance(obj, _Tensor):
        return obj.materialize()
    if isinstance(obj, dict):
        return OrderedDict((k, _materialize(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v) for v in obj)
    return obj


def _load_zip(path: str) -> Any:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ValueError("zip archive without a single <root>/data.pkl (not a torch file)")
        root = pickles[0][: -len("data.pkl")]
        order = "little"
        if root + "byteorder" in names:
            order = zf.read(root + "byteorder").decode().strip()
        storages: dict[str, _Storage] = {}
        obj = _Unpickler(io.BytesIO(zf.read(pickles[0])), storages).load()
        for key, storage in storages.items():
            raw = zf.read(f"{root}data/{key}")
            dtype = storage.dtype.newbyteorder("<" if order == "little" else ">")
            if len(raw) < storage.numel * dtype.itemsize:
                raise ValueError(f"storage {key} holds {len(raw)} bytes, fewer than its size")
            storage.data = np.frombuffer(raw, dtype, storage.numel).astype(storage.dtype.type)
    return _materialize(obj)


def _load_legacy(path: str) -> Any:
    with open(path, "rb") as f:
        storages: dict[str, _Storage] = {}
        if _Unpickler(f, storages).load() != LEGACY_MAGIC:
            raise ValueError("no torch magic number (not a torch file)")
        if _Unpickler(f, storages).load() != 1001:
            raise ValueError("unsupported legacy torch protocol version")
        sys_info = _Unpickler(f, storages).load()
        little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
        obj = _Unpickler(f, storages).load()
        keys = _Unpickler(f, storages).load()
        for key in keys:
            storage = storages[str(key)]
            header = f.read(8)
            if len(header) != 8:
                raise ValueError("file ends before all storages were read (truncated?)")
            (numel,) = struct.unpack("<q" if little else ">q", header)
            dtype = storage.dtype.newbyteorder("<" if little else ">")
            raw = f.read(numel * dtype.itemsize)
            if len(raw) != numel * dtype.itemsize or numel != storage.numel:
                raise ValueError(f"storage {key} is truncated or has the wrong size")
            storage.data = np.frombuffer(raw, dtype).astype(storage.dtype.type)
    return _materialize(obj)


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """The `{name: array}` state dict saved by `torch.save` at `path`, read without torch.

    Raises InputError (one line, naming the file) when the file is missing, not a torch file,
    damaged, or holds something other than a dict of tensors.
    """
    try:
        obj = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    except FileNotFoundError:
        raise InputError(f"checkpoint {path!r} does not exist; check the --src path") from None
    except IsADirectoryError:
        raise InputError(f"checkpoint {path!r} is a directory; pass the .pth file") from None
    except Exception as e:  # any parse failure of a damaged or foreign file
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path!r} is not a readable PyTorch checkpoint: {msg:.200}") from None
    if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
        raise InputError(f"{path!r} is a torch file but not a state dict of tensors")
    return dict(obj)
