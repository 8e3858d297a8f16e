"""Multi-file cells in the Go Playground's txtar format.

    package main            <- text before the first marker is main.go
    ...
    -- greet/greet.go --
    package greet
    ...
    -- go.mod --
    module play

A line `-- name --` starts a file. Names must be clean relative paths that stay
inside the scratch module; anything else is refused, naming the line.
"""

from __future__ import annotations

import posixpath
import re

from gorun_kernel.diagnostics import LineTable, Origin
from gorun_kernel.errors import CellError

_MARKER = re.compile(r"^-- (.*) --\r?$")  # a cell typed on Windows ends lines in CRLF
MAX_DEPTH = 32  # directories in a file's path: deeper is no module layout anyone writes


def is_txtar(code: str) -> bool:
    return any(_MARKER.match(line) for line in code.split("\n"))


def check_name(name: str, line: int) -> None:
    def bad(why: str) -> CellError:
        return CellError(f"line {line}: bad file name {name!r} in -- name --: {why}")

    if not name.strip():
        raise bad("the name is empty")
    if "\\" in name or "\0" in name:
        raise bad("use / to separate directories")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise bad("absolute paths are not allowed; give a path inside the module")
    if name == "." or ".." in name.split("/") or posixpath.normpath(name) != name:
        raise bad("the path must be clean and stay inside the module (no .., no ./, no //)")
    if name.split("/")[0].startswith(".gorun"):
        raise bad("names starting with .gorun are reserved")
    if any(len(part.encode()) > 255 for part in name.split("/")):
        raise bad("a name in the path is too long")
    if name.count("/") >= MAX_DEPTH:
        raise bad(f"the path is more than {MAX_DEPTH} directories deep")


def split(code: str, first_line: int) -> tuple[dict[str, str], LineTable]:
    """{name: content} and the line table of a txtar cell."""
    files: dict[str, list[str]] = {}
    table: LineTable = {}
    name = "main.go"
    lines = code.split("\n")
    current: list[str] = []
    origins: list[Origin | None] = []
    starts: dict[str, int] = {}

    def close() -> None:
        # Text before the first marker that is only blank is not a main.go.
        if name == "main.go" and "main.go" not in starts and not "".join(current).strip():
            return
        files[name] = current
        table[name] = origins

    for i, line in enumerate(lines):
        m = _MARKER.match(line)
        if m is None:
            current.append(line)  # as written: a data file keeps its CRLF
            origins.append(Origin(first_line + i, line.removesuffix("\r")))
            continue
        close()
        name = m.group(1)
        check_name(name, first_line + i)
        if name in files or name in starts:
            raise CellError(
                f"line {first_line + i}: file {name!r} appears twice "
                f"(first at line {starts.get(name, first_line)})"
            )
        starts[name] = first_line + i
        current, origins = [], []
    close()
    if "go.sum" in files and "go.mod" not in files:
        raise CellError(
            f"line {starts['go.sum']}: a go.sum needs the go.mod it belongs to in the same "
            "cell (without one, the cell uses the session's module and its go.sum)"
        )
    # A name cannot be both a file and a directory ("a" and "a/b").
    for name in files:
        for parent in (name.rsplit("/", i)[0] for i in range(1, name.count("/") + 1)):
            if parent in files:
                raise CellError(
                    f"line {starts.get(name, first_line)}: {name!r} puts a directory "
                    f"where the file {parent!r} is"
                )
    return {n: "\n".join(t).rstrip("\n") + "\n" for n, t in files.items()}, table
