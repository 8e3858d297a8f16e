"""The executable cache: a re-run of an unchanged cell runs the binary built last time.

Binaries are stored under a key that covers everything that changes them (see
`key`); the cache lives in the user's cache directory, so it survives kernel
restarts, and is pruned oldest-first to a size bound.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .errors import GorunError

DEFAULT_MAX_BYTES = 1 << 30
BUILD_PREFIX = ".build-"
PRUNE_INTERVAL = 30.0  # seconds: the size bound is kept, without a directory scan per build


def cache_root() -> Path:
    """$GORUN_CACHE, else the platform's user cache directory + gorun_kernel."""
    explicit = os.environ.get("GORUN_CACHE")
    if explicit:
        return Path(explicit)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "gorun_kernel"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gorun_kernel"


def key(parts: dict[str, object]) -> str:
    """A stable digest of everything that determines the binary."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


class ExeCache:
    def __init__(self, root: Path | None = None, max_bytes: int | None = None) -> None:
        self.dir = (root or cache_root()) / "exe"
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = self.dir.stat()
        except OSError as e:
            raise GorunError(f"cannot use the executable cache {self.dir}: {e}") from None
        # Binaries from here are run: the directory must be ours and private.
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            raise GorunError(
                f"the executable cache {self.dir} is not private to you; set GORUN_CACHE"
            )
        env_max = os.environ.get("GORUN_CACHE_MAX_MB", "")
        if env_max and not env_max.isdigit():
            raise GorunError(f"GORUN_CACHE_MAX_MB={env_max} is not a number of megabytes")
        self.max_bytes = max_bytes or (int(env_max) << 20 if env_max else DEFAULT_MAX_BYTES)
        self._pruned = -PRUNE_INTERVAL

    def lookup(self, k: str) -> Path | None:
        path = self.dir / k
        try:
            os.utime(path)  # recently used: kept longest by prune()
        except OSError:
            return None
        return path

    def new_dir(self) -> Path:
        """A fresh private directory to build into, in the cache directory so that
        `store` is a rename."""
        return Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=self.dir))

    def store(self, k: str, built: Path) -> Path:
        path = self.dir / k
        os.replace(built, path)  # atomic: a parallel session sees all of it or none
        if time.monotonic() - self._pruned > PRUNE_INTERVAL:
            self.prune()
        return path

    def discard(self, directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)

    def prune(self) -> None:
        self._pruned = time.monotonic()
        entries = []
        for p in self.dir.iterdir():
            with contextlib.suppress(OSError):
                if p.is_dir():
                    if time.time() - p.stat().st_mtime > 3600:
                        shutil.rmtree(p, ignore_errors=True)  # left by a dead session
                    continue
                st = p.stat()
                entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return
        for _, size, p in sorted(entries):
            if total <= self.max_bytes * 0.8:
                break
            with contextlib.suppress(OSError):
                p.unlink()
                total -= size
