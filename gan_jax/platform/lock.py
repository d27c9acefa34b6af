"""The workdir lock: one training process per run folder.

Two processes training into one workdir would interleave checkpoints and event files and one
of them would die in orbax. `WorkdirLock` takes an advisory `fcntl.flock` on `WORKDIR/.lock`
(the kernel drops it when its process dies, however it dies, so a crashed run never blocks its
own restart) and writes the holder (`host`, `pid`, start time) into the file, for the message
the second process gets.

Hand-written on the standard library because nothing in our stack does this: `flock` is the
POSIX tool, and the PID/host record covers file systems where `flock` is not supported (some
network mounts answer ENOLCK/EOPNOTSUPP): there the record itself is the lock, and a record
left by a process that no longer runs on this host is stale and taken over. A record from
another host cannot be checked from here; the message says which file to delete.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time

from gan_jax.errors import WorkdirLocked

LOCK_FILE = ".lock"
_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _describe(holder: dict) -> str:
    started = holder.get("started")
    when = time.strftime(" since %Y-%m-%d %H:%M:%S", time.localtime(started)) if started else ""
    return f"process {holder.get('pid', '?')} on {holder.get('host', '?')}{when}"


class WorkdirLock:
    """`with WorkdirLock(workdir):` holds the lock; raises WorkdirLocked naming the holder."""

    def __init__(self, workdir: str) -> None:
        self.path = os.path.join(workdir, LOCK_FILE)
        self._fd: int | None = None

    def _read_holder(self) -> dict:
        try:
            with open(self.path) as f:
                return json.loads(f.read() or "{}")
        except (OSError, ValueError):
            return {}

    def _locked_error(self, holder: dict) -> WorkdirLocked:
        return WorkdirLocked(
            f"{os.path.dirname(self.path)} is in use by {_describe(holder)}; wait for it to "
            f"finish, stop it, or pass another --workdir (if that process is gone, delete "
            f"{self.path})"
        )

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                os.close(fd)
                raise self._locked_error(self._read_holder()) from None
            if e.errno not in _NO_FLOCK:
                os.close(fd)
                raise
            self._check_record()  # no flock on this file system: the record is the lock
        me = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self._fd = fd

    def _check_record(self) -> None:
        holder = self._read_holder()
        if not holder or holder.get("pid") == os.getpid():
            return
        same_host = holder.get("host") == socket.gethostname()
        if same_host and not _pid_alive(int(holder.get("pid", 0))):
            return  # stale: its process is gone
        raise self._locked_error(holder)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):  # no holder recorded: nothing stale for the next reader
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> WorkdirLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
