"""An unchanged cell run again: its build remembered and checked, not worked out again.

A cell's build begins with the executable cache key, which covers everything
that changes the binary: the composed files, the flags and the environment,
go.mod and go.sum, and the fingerprints of the display package's tree and of
the library next to the notebook. Computing it reads those files and walks
those trees on every cell. The memo keeps, per session, what a cell's build
found, under exactly what the build was asked (`memo_key`), with the state it
depended on: on the next run of the same cell it checks that go.mod and go.sum
hold the same bytes, that the trees' stamps are unchanged (localmods.TreeState)
and that the executable cache still has the binary, and runs it. Anything else
takes the ordinary way, which notes the new state.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel.build import gobuild, localmods
from gorun_kernel.build.execache import ExeCache
from gorun_kernel.build.gobuild import Built
from gorun_kernel.compose.compose import Composed, compose_snippet
from gorun_kernel.compose.stdlib import StdIndex

MEMO_SIZE = 16  # cells whose build a session remembers
MemoKey = tuple[object, ...]


@dataclass(frozen=True)
class Remembered:
    """What an earlier build of a cell found, and everything it depended on."""

    exe_key: str  # the executable cache key of the program as it built
    show: bool  # how it finally built (a snippet's retries: composed again so)
    drop: frozenset[str]
    files: dict[str, str]  # the files it finally built from
    go_mod: bytes
    go_sum: bytes
    local: dict[str, localmods.LocalModule]  # the modules the scratch module replaced
    trees: tuple[localmods.TreeState | None, ...]  # the local modules', the display package's


def memo_key(
    composed: Composed, flags: list[str], env: dict[str, str], cwd: str, gowork: str | None
) -> MemoKey | None:
    """What a cell's build is asked, exactly: its files as composed (the session's
    declarations are in them), its flags, the environment the binary depends on;
    None for a build the memo leaves alone (txtar and test cells, //go:embed:
    files outside the cell that are not stamped here)."""
    if composed.form not in ("snippet", "program"):
        return None
    if any("//go:embed" in text for text in composed.files.values()):
        return None
    return (
        composed.form,
        tuple(composed.files.items()),
        composed.show,
        composed.drop,
        tuple(flags),
        tuple(env.get(k) for k in gobuild.BUILD_ENV_VARS),
        cwd,
        gowork,
    )


class RerunMemo:
    """A session's remembered builds, the most recently used kept."""

    def __init__(self, cache: ExeCache, go_mod: Path, go_sum: Path) -> None:
        self.cache = cache
        self.go_mod = StampedFile(go_mod)
        self.go_sum = StampedFile(go_sum)
        self.entries: OrderedDict[MemoKey, Remembered] = OrderedDict()
        self.hits = 0  # builds answered from the memo (tests, benchmarks)

    def find(
        self,
        key: MemoKey,
        composed: Composed,
        local: dict[str, localmods.LocalModule],
        std: Callable[[], StdIndex],
        count: bool = True,
    ) -> tuple[Built, Composed] | None:
        """The program the cell built last time, and the cell as it built, if nothing
        it depends on changed since and the cache still has it; None: build as usual.
        count: a build answered (a head start's checks are not: engine.py)."""
        memo = self.entries.get(key)
        if memo is None:
            return None
        if (composed.show, composed.drop) != (memo.show, memo.drop):
            composed = compose_snippet(composed, std(), memo.show, memo.drop)
        if (
            composed.files != memo.files
            or local != memo.local
            or self.go_mod.read() != memo.go_mod
            or self.go_sum.read() != memo.go_sum
            or not all(tree is None or tree.holds() for tree in memo.trees)
        ):
            return None
        exe = self.cache.lookup(memo.exe_key)  # (and held, as any hit is)
        if exe is None:
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        self.hits += count
        return Built(exe, cached=True, by="cache"), composed

    def note(self, key: MemoKey, memo: Remembered) -> None:
        self.entries[key] = memo
        self.entries.move_to_end(key)
        while len(self.entries) > MEMO_SIZE:
            self.entries.popitem(last=False)

    def forget(self) -> None:
        self.entries.clear()


class StampedFile:
    """A small file the memo depends on (go.mod, go.sum): its bytes, read again only
    when its stamp changed, or was too young to vouch for them (localmods.racy_ns).

    Each check of a re-run is a system call, and in the kernel each lets its other
    threads in (the GIL): one stat rather than an open, two reads and a close."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._stamp: localmods.Stamp = None  # the stamp the bytes below are vouched for by
        self._bytes: bytes | None = None

    def read(self) -> bytes | None:
        """The file's bytes now; None if it cannot be read."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if stamp == self._stamp:
            return self._bytes
        data = read(self.path)
        # Taken before the read and old enough: a change after the read would
        # have a newer time, so the next stat would differ.
        young = time.time_ns() - localmods.racy_ns([st.st_dev])
        old = max(st.st_mtime_ns, st.st_ctime_ns) < young
        self._stamp, self._bytes = (stamp, data) if old and data is not None else (None, None)
        return data


def read(path: Path | str) -> bytes | None:
    """A small file's bytes (go.mod, go.sum), without pathlib's layers; None if unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
