"""The executable cache: a re-run of an unchanged cell runs the binary built last time.

Binaries are stored under a key that covers everything that changes them (see
`key`); the cache lives in the user's cache directory, so it survives kernel
restarts, and is pruned oldest-first to a size bound. Pruning touches only
what the cache wrote (entries named by a key, build directories of its own),
never the binary about to run. A cache directory we cannot write still serves
what it has; new builds then go to a directory of the session's, and are not
kept.

Kernels of one user share the cache, so "never the binary about to run" holds
across processes too: a session holds a shared lock (flock) on the few binaries
it used last, from their lookup or store until it has used others, and pruning
removes only what it can lock exclusively.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

from gorun_kernel import config
from gorun_kernel.errors import GorunError
from gorun_kernel.paths import cache_root

DEFAULT_MAX_BYTES = 1 << 30
BUILD_PREFIX = ".build-"
PRUNE_INTERVAL = 30.0  # seconds: the size bound is kept, without a directory scan per build
FRESH = 60.0  # seconds: a binary used or built this recently is not stamped again when used
_KEY_NAME = re.compile(r"^[0-9a-f]{40}$")  # the names `key` makes: only these are pruned
# Binaries a session holds locked: a test cell's binary and go's test2json, and one
# more (what one cell runs); older ones are let go.
HELD = 3


def key(parts: dict[str, object]) -> str:
    """A stable digest of everything that determines the binary."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


class ExeCache:
    def __init__(self, root: Path | None = None, max_bytes: int | None = None) -> None:
        self.dir = (root or cache_root()) / "exe"
        # Read-only: lookups find what is there, builds go to the fallback.
        with contextlib.suppress(OSError):
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            st = self.dir.stat()
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise GorunError(f"cannot use the executable cache {self.dir}: {e}") from None
        # Binaries from here are run: the directory must be ours and private.
        if st is not None and (st.st_uid != os.getuid() or st.st_mode & 0o022):
            raise GorunError(
                f"the executable cache {self.dir} is not private to you; set GORUN_CACHE"
            )
        self.writable = st is not None and os.access(self.dir, os.W_OK | os.X_OK)
        env_max = config.whole_number(config.CACHE_MAX_MB, DEFAULT_MAX_BYTES >> 20, "megabytes")
        if max_bytes is None:
            max_bytes = env_max << 20
        self.max_bytes = max_bytes
        # Where builds go when the cache cannot keep them (read-only, or a
        # size bound of 0): the session sets it to a directory of its own.
        self.fallback: Path | None = None
        self.note: str | None = None
        if not self.writable:
            self.note = (
                f"[gorun: the executable cache {self.dir} is read-only: builds are not kept]"
            )
        self._pruned = -PRUNE_INTERVAL
        self._held: OrderedDict[str, int] = OrderedDict()  # name -> locked descriptor

    def _hold(self, path: Path) -> bool:
        """Lock path's binary against other sessions' pruning; False if it is gone."""
        if path.name in self._held:
            self._held.move_to_end(path.name)
            return True
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a pruner unlinks it
            # Pruned between our open and our lock: the name is gone (or is a newer
            # binary stored under it, which is then looked up again).
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except OSError:
            same = False
        if not same:
            os.close(fd)
            return False
        self._held[path.name] = fd
        while len(self._held) > HELD:
            os.close(self._held.popitem(last=False)[1])
        return True

    def close(self) -> None:
        """Let go of the binaries this session holds."""
        while self._held:
            os.close(self._held.popitem()[1])

    @property
    def keeps(self) -> bool:
        """Whether new builds are stored (else they run once and are removed)."""
        return self.writable and self.max_bytes > 0

    def lookup(self, k: str) -> Path | None:
        path = self.dir / k
        try:
            st = os.stat(path)
        except OSError:
            return None
        # Recently used: kept longest by prune(). A stamp of the last minute says so
        # already: a re-run does not write the inode again (a journalled write,
        # 0.1-0.2 ms of an unchanged cell's few).
        if not self.writable or time.time() - st.st_mtime > FRESH:
            try:
                os.utime(path)
            except FileNotFoundError:
                return None
            except OSError:
                # A read-only cache still serves what it has (and nobody prunes it).
                return path if os.access(path, os.X_OK) and path.is_file() else None
        return path if self._hold(path) else None

    def new_dir(self) -> Path:
        """A fresh private directory to build into, in the cache directory so that
        `store` is a rename."""
        where = self.dir if self.writable else self.fallback
        if where is None:
            raise GorunError(f"the executable cache {self.dir} is read-only; set GORUN_CACHE")
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=where))

    def store(self, k: str, built: Path) -> Path:
        path = self.dir / k
        os.replace(built, path)  # atomic: a parallel session sees all of it or none
        self._hold(path)
        if time.monotonic() - self._pruned > PRUNE_INTERVAL:
            self.prune(keep=path)
        return path

    def discard(self, directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)

    def prune(self, keep: Path | None = None) -> None:
        """Remove the oldest binaries down to the bound; never `keep` (about to run)."""
        self._pruned = time.monotonic()
        entries = []
        for p in self.dir.iterdir():
            with contextlib.suppress(OSError):
                if p.name.startswith(BUILD_PREFIX) and p.is_dir():
                    if time.time() - p.stat().st_mtime > 3600:
                        shutil.rmtree(p, ignore_errors=True)  # left by a dead session
                    continue
                if not _KEY_NAME.match(p.name) or p == keep:
                    continue  # not ours to remove, or the binary about to run
                st = p.stat()
                entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return
        for _, size, p in sorted(entries):
            if total <= self.max_bytes * 0.8:
                break
            if _remove_unused(p):
                total -= size


def _remove_unused(path: Path) -> bool:
    """Unlink a binary no session holds (ours included: its lock is another open file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink()
    except OSError:  # BlockingIOError: a session is about to run it
        return False
    finally:
        os.close(fd)
    return True
