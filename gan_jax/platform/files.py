"""Atomic file writes for everything a run leaves on disk (JSON, PNG, GIF, the run's files).

One writer: bytes go to a temporary file beside the target, are flushed to disk, then renamed
over it, so a crash or a full disk never leaves half a file for a reader (TensorBoard, a
browser, a resumed run). In a multi-process run only process 0 writes
(`gan_jax.platform.distributed.is_primary`), so every process may call these. Files are
created with `open()`'s default mode, so they get the user's umask like any other file (a
colleague on a shared cluster can read the run when the umask lets them).

`os_error_line` turns an OSError (disk full, read-only folder, a file where a folder should be)
into the one-line `RunFault` message the command-line tools print with exit status 3.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import uuid
from pathlib import Path
from typing import Any

from gan_jax.errors import RunFault
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


_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)
_FULL = (errno.ENOSPC, errno.EDQUOT)


def os_error_line(e: OSError, what: str = "the run", where: str | None = None) -> str:
    """One line for an OSError: what failed, on which path (`where` when the error names
    none, e.g. orbax's background writes), and what to do about it."""
    path = e.filename or where or "?"
    reason = e.strerror or str(e)
    if e.errno in _FULL:
        return (
            f"no space left writing {path} ({reason}); free space (or use another --workdir) "
            f"and rerun the same command: {what} resumes from its last checkpoint"
        )
    if e.errno in _READ_ONLY:
        return (
            f"cannot write {path} ({reason}); the folder is read-only for this user: make it "
            "writable, or work in a writable copy of the run (or another --workdir)"
        )
    if e.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"{path} is not a folder ({reason}); --workdir must name a folder (new or a run's)"
    return f"{reason}: {path}"


_STATUS_ERRNO = {  # tensorstore (orbax's array writer) reports OS errors as absl statuses
    "RESOURCE_EXHAUSTED": errno.ENOSPC,
    "No space left on device": errno.ENOSPC,
    "PERMISSION_DENIED": errno.EACCES,
    "Read-only file system": errno.EROFS,
}


def as_os_error(e: BaseException) -> OSError | None:
    """The OSError behind `e`: `e` itself, one in its cause/context chain, or the ValueError
    tensorstore raises for one (`RESOURCE_EXHAUSTED: Error writing local file "PATH"`) turned
    into the OSError it stands for; None when `e` is not an environment fault."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError):
            return e
        text = str(e)
        for marker, code in _STATUS_ERRNO.items():
            if marker in text:
                path = re.search(r'file "([^"]+)"', text)
                return OSError(code, os.strerror(code), path.group(1) if path else None)
        e = e.__cause__ if e.__cause__ is not None or e.__suppress_context__ else e.__context__
    return None


def run_fault(e: OSError, what: str = "the run", where: str | None = None) -> RunFault:
    """The `RunFault` for `e` (raise it `from None`: the line says everything)."""
    return RunFault(os_error_line(e, what, where))


def check_writable(directory: str | os.PathLike) -> None:
    """Create `directory` and a scratch file in it, so a read-only or full folder fails before
    any work is done rather than at its first write (root ignores permission bits, so asking
    `os.access` is not enough). Raises the OSError."""
    os.makedirs(directory, exist_ok=True)
    probe = Path(directory) / f".write-test.{uuid.uuid4().hex}"
    with open(probe, "xb") as f:
        f.write(b"x")
    probe.unlink()
