"""The session's scratch Go module: a private directory that lives as long as the session.

Each session directory holds a lock file that its process keeps locked
(flock) while it lives. The kernel releases a lock when its holder dies, even
by SIGKILL, so at start-up any directory whose lock can be taken belongs to a
dead session and is removed. Pid files would be fooled by pid reuse; locks are not.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path

from gorun_kernel import config
from gorun_kernel.build.toolchain import Toolchain
from gorun_kernel.errors import GorunError
from gorun_kernel.paths import DISPLAY_MODULE, GOLIB_DIR
from gorun_kernel.proc import linux

MODULE_PATH = "gorun"  # the scratch module's path; sub-packages are gorun/<dir>
LOCK_NAME = ".gorun-session.lock"
RUNNING_NAME = ".gorun-running"  # the process group a cell is running, while it runs
PREFIX = "session-"
NEW_PREFIX = ".new-"  # a directory being set up, not yet locked


def _shared_base() -> tuple[Path, Path]:
    """(the temp dir, this user's directory of sessions in it)."""
    root = config.directory(config.SCRATCH_DIR) or Path(tempfile.gettempdir())
    return root, root / f"gorun_kernel-{os.getuid()}"


def _trusted(base: Path) -> bool:
    """Ours: someone else's directory (or a symlink) at our name is not trusted."""
    st = os.lstat(base)
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def remove_stale_sessions() -> None:
    """At a kernel's start, before its own session is made (its engine comes later):
    the directories of dead sessions, and what their programs left running."""
    with contextlib.suppress(GorunError, OSError):
        _, base = _shared_base()
        if _trusted(base):
            remove_stale(base)


def base_dir() -> tuple[Path, bool]:
    """Where session directories live, private to this user under the temp dir;
    and whether it is a one-off directory (to remove with the session)."""
    root, base = _shared_base()
    try:
        with contextlib.suppress(FileExistsError):
            base.mkdir(mode=0o700, parents=True)
        if _trusted(base):
            return base, False
        return Path(tempfile.mkdtemp(prefix="gorun_kernel-", dir=root)), True
    except OSError as e:
        raise GorunError(f"cannot make a scratch directory in {root}: {e.strerror}") from None


def go_mod_text(toolchain: Toolchain, module: str = MODULE_PATH) -> str:
    """A new session's go.mod: the toolchain's go line, and the display module from disk."""
    line = toolchain.go_line()
    return (
        f"module {module}\n"
        + (f"\ngo {line}\n" if line else "")
        + f"\nrequire {DISPLAY_MODULE} v0.0.0\n"
        + f"\nreplace {DISPLAY_MODULE} => {json.dumps(str(GOLIB_DIR))}\n"
    )


def remove_stale(base: Path) -> list[Path]:
    """Remove the directories of sessions whose process has died. Returns them."""
    removed = []
    for entry in base.glob(NEW_PREFIX + "*"):
        # A session dies between mkdtemp and rename only by accident: old debris.
        with contextlib.suppress(OSError):
            if time.time() - entry.stat().st_mtime > 60:
                _rmtree(entry)
                removed.append(entry)
    for entry in base.glob(PREFIX + "*"):
        try:
            fd = os.open(entry / LOCK_NAME, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # its session is alive
            continue
        for record in entry.glob(RUNNING_NAME + "*"):  # the cell's, and --bg jobs'
            kill_orphans(record)
        _rmtree(entry)
        os.close(fd)
        removed.append(entry)
    return removed


def kill_orphans(record: Path) -> None:
    """End the process group a dead session left running (Linux /proc).

    The group id is only trusted if no process has since taken that number as
    its own pid: a reused pid would have started after the record was written.
    """
    try:
        pgid = int(record.read_text())
        written = record.stat().st_mtime
        started = linux.started_at(pgid)  # None: the leader is gone; its group may live on
    except (OSError, ValueError):
        return
    if started is not None and started > written + 1:
        return  # the number belongs to a newer process now
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class ScratchModule:
    """One session's scratch module directory, removed when the session ends."""

    def __init__(self, toolchain: Toolchain) -> None:
        base, one_off = base_dir()
        remove_stale(base)
        self._one_off_base = base if one_off else None
        # Lock first, then make the directory visible under its session name,
        # so that no other start-up can take a new session for a dead one.
        new = Path(tempfile.mkdtemp(prefix=NEW_PREFIX, dir=base))  # mode 0700
        self._lock_fd = os.open(new / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self.path = base / (PREFIX + new.name[len(NEW_PREFIX) :])
        os.rename(new, self.path)
        self.go_mod = self.path / "go.mod"
        self.go_sum = self.path / "go.sum"
        self.go_mod.write_text(go_mod_text(toolchain))
        self.go_sum.write_text("")
        self._closed = False
        atexit.register(self.close)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _rmtree(self._one_off_base or self.path)
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)
        atexit.unregister(self.close)

    def clear_sources(self) -> None:
        """Remove the previous cell's files: all but go.mod, go.sum and our .gorun* files."""
        for entry in self.path.iterdir():
            if entry.name in ("go.mod", "go.sum") or entry.name.startswith(".gorun"):
                continue
            if entry.is_dir() and not entry.is_symlink():
                _rmtree(entry)
            else:
                entry.unlink()

    def write(self, relpath: str, text: str) -> Path:
        """Write a file inside the module; relpath has been checked to stay inside."""
        target = self.path / relpath
        if not target.resolve().is_relative_to(self.path.resolve()):
            raise ValueError(f"{relpath!r} escapes the scratch module")  # checked earlier
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target
