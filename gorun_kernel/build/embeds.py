"""`//go:embed` in a cell: the files it names are the ones next to the notebook.

A cell is built in the session's scratch module, but whoever reads
`//go:embed data.txt` in a notebook means the data.txt beside it. Before go
runs, the files a cell's patterns match in the notebook's directory are
linked (or copied) into the build directory, where go finds them; their
names, sizes and times join the executable cache key, so an edited data file
is built in again. A file the cell itself provides (a txtar data file) wins.
"""

from __future__ import annotations

import glob
import os
import posixpath
import re
import shlex
import shutil
from pathlib import Path

_DIRECTIVE = re.compile(r"^[ \t]*//go:embed[ \t]+(.*)$", re.M)


def patterns(files: dict[str, str]) -> list[tuple[str, str]]:
    """(package directory, pattern) for each //go:embed pattern in the cell's .go files."""
    found = []
    for name, text in files.items():
        if not name.endswith(".go") or "//go:embed" not in text:
            continue
        pkg_dir = posixpath.dirname(name)
        for m in _DIRECTIVE.finditer(text):
            try:
                words = shlex.split(m.group(1).replace("`", '"'))
            except ValueError:
                continue  # go reports the malformed directive
            for word in words:
                word = word.removeprefix("all:")
                parts = word.split("/")
                if word and not word.startswith("/") and ".." not in parts and "." not in parts:
                    found.append((pkg_dir, word))
    return found


def find(files: dict[str, str], cwd: str) -> list[str]:
    """Paths (relative to cwd, with /) of the notebook's files the patterns match;
    a matched directory brings every file under it."""
    matched: set[str] = set()
    for pkg_dir, pattern in patterns(files):
        base = os.path.join(cwd, pkg_dir)
        for hit in glob.glob(pattern, root_dir=base, include_hidden=True):
            rel = posixpath.join(pkg_dir, hit.replace(os.sep, "/"))
            full = os.path.join(cwd, rel)
            if os.path.isdir(full):
                for dirpath, _, names in os.walk(full):
                    sub = os.path.relpath(dirpath, cwd).replace(os.sep, "/")
                    matched.update(posixpath.join(sub, n) for n in names)
            elif os.path.isfile(full):
                matched.add(rel)
    return sorted(p for p in matched if p not in files)


def fingerprint(paths: list[str], cwd: str) -> list[tuple[str, int, int]]:
    """What tells a changed data file: its name, size and modification time."""
    out = []
    for p in paths:
        try:
            st = os.stat(os.path.join(cwd, p))
        except OSError:
            continue
        out.append((p, st.st_size, st.st_mtime_ns))
    return out


def place(paths: list[str], cwd: str, root: Path) -> None:
    """Put the matched files where go looks for them: the build directory."""
    for p in paths:
        target = root / p
        target.parent.mkdir(parents=True, exist_ok=True)
        source = os.path.join(cwd, p)
        try:
            os.link(source, target)  # cheap, and go only reads it
        except OSError:
            shutil.copyfile(source, target)
