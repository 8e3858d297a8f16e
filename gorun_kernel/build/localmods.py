"""The Go module (or workspace) around the notebook, for cells that import it.

A documentation notebook sitting in `docs/` of a library wants `import
"example.org/lib/shapes"` to mean the library next to it, with its own
dependencies. The scratch module gets, the first time a cell imports such a
package, `require` and `replace => <dir>` lines for that module (and the
module's own replace directives, made absolute), as a go.work would give. A
go.work around the notebook (or $GOWORK) is honoured the same way: each module
it uses, and its replaces.

The library's files change between cells; the executable cache key includes a
fingerprint of them (names, sizes, modification times), so an edit is never
hidden by a cached binary.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gorun_kernel.build import treewatch

_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "testdata", "vendor", "__pycache__"}


@dataclass(frozen=True)
class LocalModule:
    path: str  # the module path from its go.mod
    dir: Path
    # (old, new) for `go mod edit -replace=old=new`, paths made absolute
    replaces: tuple[tuple[str, str], ...] = field(default=())

    def provides(self, import_path: str) -> bool:
        return import_path == self.path or import_path.startswith(self.path + "/")

    def require_version(self) -> str:
        """The placeholder version go itself uses for a replaced module."""
        m = re.search(r"(?:/|\.)v(\d+)$", self.path)
        major = m.group(1) if m and int(m.group(1)) >= 2 else "0"
        return f"v{major}.0.0-00010101000000-000000000000"


def _strip_comments(text: str) -> list[str]:
    return [line.split("//", 1)[0].strip() for line in text.splitlines()]


def _directives(text: str, verb: str) -> list[str]:
    """The arguments of every `verb ...` line and `verb ( ... )` block entry."""
    out, block = [], False
    for line in _strip_comments(text):
        if block:
            if line == ")":
                block = False
            elif line:
                out.append(line)
        elif line == f"{verb} (" or line == f"{verb}(":
            block = True
        elif line.startswith(verb + " ") or line.startswith(verb + "\t"):
            out.append(line[len(verb) :].strip())
    return out


def _unquote(word: str) -> str:
    return word[1:-1] if len(word) >= 2 and word[0] == word[-1] and word[0] in '"`' else word


def _replace_arg(spec: str, base: Path) -> tuple[str, str] | None:
    """`old [v] => new [v]` -> ("old[@v]", "new[@v]"), a local new made absolute."""
    if "=>" not in spec:
        return None
    left, right = (part.split() for part in spec.split("=>", 1))
    if not left or not right:
        return None
    old = _unquote(left[0]) + (f"@{left[1]}" if len(left) > 1 else "")
    new = _unquote(right[0])
    if len(right) > 1:
        new += f"@{right[1]}"
    elif new.startswith((".", "/")):
        new = str((base / new).resolve())
    return old, new


def read_module(gomod: Path) -> LocalModule | None:
    try:
        text = gomod.read_text()
    except OSError:
        return None
    names = _directives(text, "module")
    if not names:
        return None
    replaces = tuple(
        r for r in (_replace_arg(s, gomod.parent) for s in _directives(text, "replace")) if r
    )
    return LocalModule(_unquote(names[0].split()[0]), gomod.parent.resolve(), replaces)


def _find_upwards(start: Path, name: str) -> Path | None:
    for d in (start, *start.parents):
        candidate = d / name
        if candidate.is_file():
            return candidate
    return None


def around(cwd: str, gowork: str | None) -> list[LocalModule]:
    """The modules a cell in cwd may import: a go.work's, or the one go.mod around cwd."""
    start = Path(cwd).resolve()
    work: Path | None = None
    if gowork == "off":
        work = None
    elif gowork:
        work = Path(gowork)
    else:
        work = _find_upwards(start, "go.work")
    if work is not None and work.is_file():
        text = work.read_text()
        mods = [
            read_module((work.parent / _unquote(u.split()[0])) / "go.mod")
            for u in _directives(text, "use")
        ]
        extra = tuple(
            r for r in (_replace_arg(s, work.parent) for s in _directives(text, "replace")) if r
        )
        found = [m for m in mods if m is not None]
        if found and extra:
            found[0] = LocalModule(found[0].path, found[0].dir, found[0].replaces + extra)
        return found
    gomod = _find_upwards(start, "go.mod")
    module = read_module(gomod) if gomod is not None else None
    return [module] if module is not None else []


def fingerprint(dirs: list[Path]) -> list[tuple[str, int, int]]:
    """(path, size, mtime) of the files of these module trees (nested modules excluded).

    Read on every cell (golib's, and the library's next to the notebook), so by
    os.scandir: os.walk's listing, joins and stats cost several times more."""
    seen: list[tuple[str, int, int]] = []
    for top in dirs:
        _fingerprint_dir(str(top), True, seen, None)
    return seen


# A stamp: what os.stat says of an entry (inode, size, modification and change
# times), or None for one that cannot be stat'ed (a broken link, a gone directory).
Stamp = tuple[int, int, int, int] | None
# A stamp younger than this when it was taken may not tell a later change: a file
# written again within the same tick of its file system's clock keeps its times
# (git's "racily clean" files, the same reasoning). On this machine's own file
# systems the times are the kernel's clock, in ticks of 10 ms at most; another
# machine's (NFS, SMB, FUSE) may keep times as coarse as 2 s.
RACY_NS = 2_000_000_000
LOCAL_RACY_NS = 50_000_000


def racy_ns(devs: Iterable[int]) -> int:
    """How young a stamp on these devices is too young to vouch for its file."""
    if all(treewatch.local_device(dev) for dev in devs):
        return min(RACY_NS, LOCAL_RACY_NS)
    return RACY_NS


def stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _of(st)


def _of(st: os.stat_result) -> Stamp:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True)
class TreeState:
    """Module trees' fingerprint, and the stamps that tell cheaply that it still holds.

    The stamps are of every directory the walk read (a file added, removed or
    renamed changes its directory's times, a nested module's go.mod too) and of
    every file it listed: while none changed, a walk would list the same files,
    sizes and times, so the fingerprint is the walk's without walking. Where an
    inotify watch could be exact (treewatch.py), it tells the same in one read."""

    files: list[tuple[str, int, int]]  # the fingerprint
    stamps: tuple[tuple[str, Stamp], ...]
    trusted: bool  # nothing changed within racy_ns of the walk
    watch: treewatch.Watch | None = field(default=None, compare=False)

    def holds(self) -> bool:
        """Whether a walk now would give this fingerprint (False: walk again)."""
        if self.watch is not None:
            return self.watch.quiet()
        return self.trusted and all(stamp(path) == s for path, s in self.stamps)

    def close(self) -> None:
        """Let go of the watch (a newer walk replaces this state)."""
        if self.watch is not None:
            self.watch.close()


class Trees:
    """Module trees' states by their directories: walked again only when a stamp changed."""

    def __init__(self) -> None:
        self._states: dict[tuple[Path, ...], TreeState] = {}

    def state(self, dirs: tuple[Path, ...]) -> TreeState:
        """The trees' state: the last walk's while it holds, else a new walk."""
        state = self._states.get(dirs)
        if state is None or not state.holds():
            if state is not None:
                state.close()
            state = self._states[dirs] = snapshot(dirs)
        return state


# The display package's tree, the same for every session of the process.
TREES = Trees()


def snapshot(dirs: list[Path] | tuple[Path, ...]) -> TreeState:
    """Walk the trees as fingerprint does, noting the stamps of what it read."""
    taken = time.time_ns()
    watch = treewatch.Watch.start()
    seen: list[tuple[str, int, int]] = []
    stamps: list[tuple[str, Stamp]] = []
    devs: set[int] = set()
    for top in dirs:
        _fingerprint_dir(str(top), True, seen, stamps, watch, devs)
    recent = taken - racy_ns(devs)
    trusted = all(s is None or max(s[2], s[3]) < recent for _, s in stamps)
    if watch is not None and not watch.usable:
        watch.close()
        watch = None
    return TreeState(seen, tuple(stamps), trusted, watch)


def _fingerprint_dir(
    path: str,
    top: bool,
    seen: list[tuple[str, int, int]],
    stamps: list[tuple[str, Stamp]] | None,
    watch: treewatch.Watch | None = None,
    devs: set[int] | None = None,
) -> None:
    """One directory, then its subdirectories in name order, as os.walk goes top-down
    (symbolic links to directories are not followed; what cannot be read is left out).
    stamps, when given, gets the stamp of the directory and of each file listed;
    watch, when given, watches each directory before it is read."""
    if stamps is not None:
        try:
            st: os.stat_result | None = os.stat(path)
        except OSError:
            st = None
        if watch is not None:
            watch.add(path, st.st_dev if st is not None else None)
        if devs is not None and st is not None:
            devs.add(st.st_dev)
        # Before it is read: a change after shows (in its stamp, or as an event).
        stamps.append((path, _of(st) if st is not None else None))
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    files, subdirs = [], []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        (subdirs if is_dir else files).append(entry)
    if not top and any(e.name == "go.mod" for e in files):
        return  # another module
    for entry in files:
        try:
            st = entry.stat()
        except OSError:
            if stamps is not None:
                stamps.append((entry.path, None))  # a broken link, until it is mended
            if watch is not None:
                watch.unusable()
            continue
        if watch is not None and (entry.is_symlink() or st.st_nlink > 1):
            # A link's target, or a file's other names: changes made there are not
            # events of this directory's.
            watch.unusable()
        seen.append((entry.path, st.st_size, st.st_mtime_ns))
        if stamps is not None:
            stamps.append((entry.path, (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)))
    for entry in subdirs:
        if entry.name in _SKIP_DIRS or entry.name.startswith((".", "_")) or entry.is_symlink():
            continue
        _fingerprint_dir(entry.path, False, seen, stamps, watch, devs)
