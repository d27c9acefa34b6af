"""Atomic file writes for everything a run leaves on disk (JSON, PNG, GIF, the run's files).

One writer: bytes go to a temporary file beside the target, are flushed to disk, then renamed
over it, so a crash or a full disk never leaves half a file for a reader (TensorBoard, a
browser, a resumed run). In a multi-process run only process 0 writes
(`gan_jax.platform.distributed.is_primary`), so every process may call these.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path
from typing import Any

from gan_jax.platform.distributed import is_primary


def write_bytes_atomic(data: bytes, path: str | os.PathLike) -> None:
    """Writes `data` to a temporary file beside `path`, then renames it over `path`.

    In a multi-process run only process 0 writes (see `gan_jax.platform.distributed.is_primary`).
    """
    if not is_primary():
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def finite_or_none(obj: Any) -> Any:
    """`obj` with non-finite floats (in dicts, recursively) replaced by None: standard JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    return obj


def write_json_atomic(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` as indented, key-sorted JSON through `write_bytes_atomic`.

    Non-finite floats become `null` so the file stays standard JSON.
    """
    text = json.dumps(finite_or_none(obj), indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(text.encode(), path)
