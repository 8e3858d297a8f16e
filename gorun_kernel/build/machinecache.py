"""The machine-wide warmed build cache: filled once, read by every user's kernel.

    python -m gorun_kernel warm --machine      (as root, or in an image build)

fills `/var/cache/gorun_kernel` (GORUN_MACHINE_CACHE moves it, for tests) with
a go build cache warmed with what cells build (warm.py's tiers, a test cell's
packages and go's test2json) and gorun's standard-library index. Everything in
it is readable by every user and writable by its owner alone.

Every kernel (and the magic) then seeds its user's own GOCACHE from it before
its first cell (`seed`): each entry the user lacks is hard-linked where the
file system allows it (the owner of the machine cache, fs.protected_hardlinks
off) and copied otherwise (about 100 MB, a fraction of a second), so a new
user's first cell is an ordinary edited cell. Nothing is written to the machine
cache by a user's kernel: go never rewrites a cache entry it finds valid, and a
user who is not its owner has no write permission anyway (a hard link shares
the file, never its permissions). A user who cannot read it seeds nothing and
works as before (the background warm-up).

A seeded GOCACHE holds a marker (`gorun-seeded`) with the machine cache's stamp:
a kernel that finds it the same does nothing more than read one small file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from gorun_kernel import config

DEFAULT = Path("/var/cache/gorun_kernel")
GOCACHE = "go-build"  # go's build cache, inside the machine cache
GORUN = "gorun"  # gorun's own cache (the standard-library index), inside it
STAMP = "stamp"  # written last by `warm --machine`: "<go version> <time>"; complete when there
MARKER = "gorun-seeded"  # in a seeded GOCACHE: the stamp it was seeded from


def location() -> Path:
    """Where the machine cache is: GORUN_MACHINE_CACHE, else /var/cache/gorun_kernel."""
    return config.directory(config.MACHINE_CACHE) or DEFAULT


def stamp(root: Path | None = None) -> str | None:
    """The machine cache's stamp, None when there is none this user can read."""
    try:
        return (root or location()).joinpath(STAMP).read_text()
    except (OSError, UnicodeDecodeError):
        return None


def seed(gocache: str | Path, go_version: str, root: Path | None = None) -> bool:
    """Give the user's GOCACHE every entry of the machine cache it lacks. True if seeded now.

    Nothing when there is no machine cache this user can read, when it was made
    by another Go version, when GOCACHE is off, or when this GOCACHE was seeded
    from the same stamp already (one read)."""
    root = root or location()
    made = stamp(root)
    if made is None or not gocache or str(gocache) == "off":
        return False
    if made.split(" ", 1)[0] != go_version:
        return False  # another toolchain's entries: none would be looked up
    dest = Path(gocache)
    marker = dest / MARKER
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if marker.read_text() == made:
            return False
    try:
        link_missing(root / GOCACHE, dest)
        _write(marker, made)
    except OSError:
        return False  # a seed is a nicety: no space, no permission: build as before
    return True


def seed_gorun_cache(gorun_cache: Path, root: Path | None = None) -> bool:
    """Copy the machine's standard-library index into a user's GORUN_CACHE when it lacks it."""
    if stamp(root) is None:
        return False
    return copy_stdlib_index((root or location()) / GORUN, gorun_cache)


def copy_stdlib_index(source: Path, gorun_cache: Path) -> bool:
    """Copy the standard-library index of one gorun cache into another that lacks it.

    Only the index (a few MB): the executable cache stays each user's own. True if copied."""
    index = source / "stdlib"
    target = gorun_cache / "stdlib"
    if target.exists() or not index.is_dir():
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(index, target, dirs_exist_ok=True)
    except OSError:
        return False
    return True


def link_missing(source: Path, dest: Path) -> int:
    """Hard-link (else copy) each file of source that dest lacks; the number added.

    go's build cache: directories 00..ff of entries named by their hash, which go
    never rewrites once valid. trim.txt (the time go last trimmed) is copied, never
    linked: go rewrites that one file in place."""
    added = 0
    dest.mkdir(parents=True, exist_ok=True)
    for dirpath, _dirs, filenames in os.walk(source):
        rel = os.path.relpath(dirpath, source)
        target = dest if rel == "." else dest / rel
        target.mkdir(exist_ok=True)
        for name in filenames:
            if rel == "." and name == MARKER:
                continue
            src, dst = os.path.join(dirpath, name), target / name
            if dst.exists():
                continue
            if rel == "." and name == "trim.txt":
                _copy(src, dst)
                added += 1
                continue
            try:
                os.link(src, dst)
            except FileExistsError:
                continue  # another kernel of this user seeding at the same time
            except OSError:  # another owner (protected_hardlinks), another file system
                _copy(src, dst)
            added += 1
    return added


def _copy(src: str, dst: Path) -> None:
    """Copy by way of a temporary name: a reader never sees half an entry."""
    fd, tmp = tempfile.mkstemp(prefix=".seed-", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def publish(root: Path, go_version: str, when: str) -> None:
    """After a fill: readable by all, writable by the owner alone, then stamped (last)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            _chmod(os.path.join(dirpath, name), 0o755)
        for name in filenames:
            _chmod(os.path.join(dirpath, name), 0o644)
    _chmod(str(root), 0o755)
    _write(root / STAMP, f"{go_version} {when}\n")
    _chmod(str(root / STAMP), 0o644)


def _chmod(path: str, mode: int) -> None:
    st = os.lstat(path)
    if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)
