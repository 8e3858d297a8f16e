"""An index of the standard library, read from the toolchain's own GOROOT,
and of the Go packages shipped with gorun_kernel (display, cache).

For automatic imports we need, for each package name (`rand`), the packages
that have it (math/rand, math/rand/v2, crypto/rand) and what each exports, so
that `rand.IntN` picks math/rand/v2. GOROOT's sources are gofmt-formatted, so
top-level declarations start at column 0 (or at one tab inside a group) and a
line scan finds them in a fraction of a second. The index is cached per
toolchain in the user's cache directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel.paths import DISPLAY_MODULE, GOLIB_DIR, cache_root

INDEX_VERSION = 1
_PACKAGE = re.compile(r"^package (\w+)", re.M)
_TOP = re.compile(r"^(?:func|type|var|const) ([A-Z]\w*)", re.M)
_GROUP = re.compile(r"^(?:type|var|const) \($(.*?)^\)", re.M | re.S)
_GROUP_NAMES = re.compile(r"^\t([A-Z]\w*(?:, *[A-Z_]\w*)*)", re.M)
# Files that only build with "ignore", or under a GOEXPERIMENT (encoding/json/v2
# in Go 1.25), are not what a plain build sees.
_IGNORED = re.compile(r"^//go:build (?:ignore|.*(?<!!)goexperiment\.)", re.M)


@dataclass(frozen=True)
class Package:
    path: str
    name: str
    exports: frozenset[str]


def _skip_dir(rel: str) -> bool:
    parts = rel.split("/")
    return (
        parts[0] in ("cmd", "builtin")
        or "internal" in parts
        or "testdata" in parts
        or "vendor" in parts
        or any(p.startswith((".", "_")) for p in parts)
    )


def scan(goroot: str) -> dict[str, dict[str, list[str]]]:
    """{import path: {"name": name, "exports": [...]}} for GOROOT/src."""
    index = scan_tree(Path(goroot, "src"))
    index.pop(".", None)
    return index


def shipped() -> dict[str, dict[str, list[str]]]:
    """The Go packages shipped with gorun_kernel (display, cache), by import path."""
    return {
        DISPLAY_MODULE if rel == "." else f"{DISPLAY_MODULE}/{rel}": pkg
        for rel, pkg in scan_tree(GOLIB_DIR).items()
    }


def scan_tree(src: Path) -> dict[str, dict[str, list[str]]]:
    """{directory relative to src: {"name": name, "exports": [...]}} for a tree of packages."""
    index: dict[str, dict[str, list[str]]] = {}
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src).replace(os.sep, "/")
        if rel != "." and _skip_dir(rel):
            dirnames[:] = []
            continue
        name, exports = None, set()
        for fname in filenames:
            if not fname.endswith(".go") or fname.endswith("_test.go"):
                continue
            try:
                text = Path(dirpath, fname).read_text(errors="replace")
            except OSError:
                continue
            m = _PACKAGE.search(text)
            if not m or m.group(1) == "main" or _IGNORED.search(text):
                continue
            name = m.group(1)
            exports.update(_TOP.findall(text))
            for group in _GROUP.findall(text):
                for names in _GROUP_NAMES.findall(group):
                    exports.update(n.strip() for n in names.split(",") if n.strip()[:1].isupper())
        if name:
            index[rel] = {"name": name, "exports": sorted(exports)}
    return index


class StdIndex:
    def __init__(self, packages: dict[str, dict[str, list[str]]]) -> None:
        self.by_path = {
            p: Package(p, v["name"], frozenset(v["exports"])) for p, v in packages.items()
        }
        self.by_name: dict[str, list[Package]] = {}
        for pkg in self.by_path.values():
            self.by_name.setdefault(pkg.name, []).append(pkg)

    @classmethod
    def for_goroot(cls, goroot: str, version: str) -> StdIndex:
        """Load the cached index for this toolchain, or scan GOROOT and cache it."""
        tag = hashlib.sha256(f"{INDEX_VERSION}:{goroot}:{version}".encode()).hexdigest()[:16]
        path = cache_root() / "stdlib" / f"{version or 'go'}-{tag}.json"
        # The shipped packages are scanned each time: a few files, and they
        # change with gorun_kernel, not with the toolchain.
        with contextlib.suppress(OSError, ValueError):
            return cls({**json.loads(path.read_text()), **shipped()})
        packages = scan(goroot)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps(packages))
                os.replace(tmp, path)
        except BaseException:  # an interrupt while a cell is read abandons this: no debris
            tmp.unlink(missing_ok=True)
            raise
        return cls({**packages, **shipped()})

    def name_of(self, path: str) -> str | None:
        pkg = self.by_path.get(path)
        return pkg.name if pkg else None

    def candidates(self, name: str, selectors: set[str]) -> list[str]:
        """Import paths of the packages `name` that export all of `selectors`, best first.

        The order is goimports': for rand, crypto/rand, then math/rand/v2, then
        math/rand. For the other names several packages share, goimports picks
        one at random; we pick the general-purpose one (PREFERRED), then, for a
        name this table does not know, the shortest path, then the first by name.
        """
        fits = [p.path for p in self.by_name.get(name, []) if selectors <= p.exports]
        order = PREFERRED.get(name, ())
        return sorted(fits, key=lambda p: (_index(order, p), len(p), p))

    def resolve(self, name: str, selectors: set[str]) -> str | None:
        """The import path for package `name` exporting all of `selectors`, or None."""
        fits = self.candidates(name, selectors)
        return fits[0] if fits else None


# Names several standard packages share, and which one a snippet means by it
# (the first that has every name the snippet uses from it).
PREFERRED = {
    "rand": ("crypto/rand", "math/rand/v2", "math/rand"),  # goimports' own order
    "template": ("text/template", "html/template"),
    "scanner": ("text/scanner", "go/scanner"),
    "pprof": ("runtime/pprof", "net/http/pprof"),
}


def _index(order: tuple[str, ...], path: str) -> int:
    return order.index(path) if path in order else len(order)
