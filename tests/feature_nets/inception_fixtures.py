"""Numpy-only helpers shared by tests/feature_nets/test_inception.py and
tests/fixtures/make_inception_fixtures.py.

`structured_value` gives every state-dict entry distinct, deterministic values derived from its
key (no RNG stream, so torch and numpy sides regenerate the same weights on any platform).
`write_torch_zip` writes a state dict in torch.save's zip format without torch: the pickle
references `torch._utils._rebuild_tensor_v2` and `torch.FloatStorage` as GLOBALs and names the
storages by persistent id, exactly as torch.save does.
"""

from __future__ import annotations

import io
import math
import pickle
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

_STORAGE_NAMES = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.float16): "HalfStorage",
    np.dtype(np.int64): "LongStorage",
}


def structured_value(key: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Deterministic float32 values for state-dict entry `key`, scaled like a trained net's
    (He-scaled convolutions, BatchNorm statistics near identity), distinct for every key."""
    n = math.prod(shape)
    crc = zlib.crc32(f"{seed}:{key}".encode())
    phase = (crc % 10007) / 10007 * 2 * math.pi
    freq = 2.399963 * (1 + (crc >> 16) % 89 / 89)
    s = np.sin(np.arange(n, dtype=np.float64) * freq + phase).reshape(shape)
    if key.endswith("conv.weight"):
        v = s * 2.0 / math.sqrt(math.prod(shape[1:]))
    elif key == "fc.weight":
        v = s * 2.0 / math.sqrt(shape[1])
    elif key.endswith("bn.weight"):
        v = 1.0 + 0.2 * s
    elif key.endswith("running_var"):
        v = 1.0 + 0.5 * s
    else:
        v = 0.1 * s
    return v.astype(np.float32)


def structured_state_dict(keys_shapes, seed: int = 0) -> OrderedDict:
    """{key: structured_value} plus pytorch's `bn.num_batches_tracked` int64 counters."""
    out = OrderedDict()
    for key, shape in keys_shapes:
        out[key] = structured_value(key, tuple(shape), seed)
        if key.endswith("bn.running_var"):
            out[key[: -len("running_var")] + "num_batches_tracked"] = np.array(0, np.int64)
    return out


def structured_images(n: int, size: int) -> np.ndarray:
    """Deterministic NHWC images in [-1, 1]."""
    i = np.arange(n * size * size * 3, dtype=np.float64)
    return (
        np.sin(i * 0.618034 + 0.3 * np.cos(i * 0.0137)).reshape(n, size, size, 3).astype(np.float32)
    )


class _Global:
    """A reference written as pickle's GLOBAL opcode (`module\\nname\\n`) without importing it."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires reduce functions to be callable
        raise TypeError("placeholder")


class _Storage:
    def __init__(self, key: str, array: np.ndarray):
        self.key, self.array = key, array


class _TorchPickler(pickle._Pickler):
    """torch.save's pickling of a state dict, written with the pure-Python pickler."""

    def __init__(self, file, storages: list):
        super().__init__(file, protocol=2)
        self.storages = storages

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            return
        super().save(obj, save_persistent_id)

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            kind = _Global("torch", _STORAGE_NAMES[obj.array.dtype])
            return ("storage", kind, obj.key, "cpu", obj.array.size)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, np.ndarray):
            contiguous = obj.copy(order="C")  # keeps 0-d arrays 0-d, unlike ascontiguousarray
            storage = _Storage(str(len(self.storages)), contiguous.ravel())
            self.storages.append(storage)
            stride = tuple(s // obj.itemsize for s in contiguous.strides)
            args = (storage, 0, obj.shape, stride, False, OrderedDict())
            return _Global("torch._utils", "_rebuild_tensor_v2"), args
        return NotImplemented


def write_torch_zip(path, state_dict: dict, root: str = "archive") -> None:
    """Writes `state_dict` ({name: numpy array}) as torch.save's zip format would."""
    storages: list[_Storage] = []
    buf = io.BytesIO()
    _TorchPickler(buf, storages).dump(OrderedDict(state_dict))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{root}/data.pkl", buf.getvalue())
        zf.writestr(f"{root}/byteorder", "little")
        for s in storages:
            zf.writestr(
                f"{root}/data/{s.key}", s.array.astype(s.array.dtype.newbyteorder("<")).tobytes()
            )
        zf.writestr(f"{root}/version", "3\n")
