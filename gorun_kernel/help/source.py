"""The program a cell being typed would become, for type-aware completion and inspection.

The cell is composed with the session's declarations and imports exactly as
for a build (`_compose` is the one place this module calls the compose stage),
without changing the session. The cursor is mapped into the composed file
through the line table, and positions found there are mapped back to cells.

Two edits make a half-typed cell useful to the type checker: after `x.` a
placeholder name is typed for the user (`x._`), so the parser sees a selector
and not `x.nextLine`; and when `x` is a standard package the cell has not
imported (snippets import them by themselves, once the name after the dot is
known), the import is added, so its members can be listed.

A cell being typed is rarely whole: `func f() {` not closed yet, a call
whose parenthesis is still open, a half-typed line below the cursor. Go's
parser gives up on such a file where it goes wrong, and a function that
never ends is no declaration at all (the snippet rules make it a statement).
So a cell whose brackets do not balance is cut after the cursor's line (what
is below is being typed, or does not matter there) and closed (`repair`);
nothing before the cursor moves. Should that not compose, the cell is
composed as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gorun_kernel.build import localmods
from gorun_kernel.compose import compose
from gorun_kernel.compose.compose import Composed
from gorun_kernel.compose.decls import Import
from gorun_kernel.diagnostics import LineTable, Origin
from gorun_kernel.errors import GorunError
from gorun_kernel.help import brackets

if TYPE_CHECKING:
    from gorun_kernel.engine import Engine

HELP_LABEL = "[typing]"  # the label the cell being typed gets; its lines map to "this cell"
PLACEHOLDER = "_"
FINGERPRINT_EVERY = 2.0  # seconds between walks of the library next to the notebook
_OPERAND = re.compile(r"(?<![\w.])([^\W\d]\w*)\.(\w*)$")


@dataclass
class Source:
    """What the helper is asked about: files, the one with the cursor, the cursor in bytes."""

    files: dict[str, str]
    file: str
    offset: int
    table: LineTable
    imports: list[str] = field(default_factory=list)  # import paths the cell names

    def where(self, file: str, line: int) -> Origin | None:
        """The cell line a line of a composed file came from."""
        origins = self.table.get(file, [])
        return origins[line - 1] if 0 < line <= len(origins) else None


def _compose(engine: Engine, body: str, first_line: int, test: bool) -> Composed:
    """The cell composed as for a build (snippets: without showing a value); a
    test cell (%%gotest) as for `go test`: main.go and its _test.go file."""
    if test:
        return compose.compose_tests(body, first_line, HELP_LABEL, engine.session, engine.stdlib)
    composed = compose.compose_cell(body, first_line, HELP_LABEL, engine.session, engine.stdlib)
    if composed.form == "snippet":
        composed = compose.compose_snippet(composed, engine.stdlib(), show=False)
    return composed


def source_for(
    engine: Engine, body: str, cursor: int, first_line: int, test: bool = False
) -> Source | None:
    """The program for the cell `body` with the cursor at `cursor` (code points into body);
    None for a cell the helper cannot help with (txtar, empty, a composing error)."""
    before = body[:cursor]
    if before.endswith("."):
        body = before + PLACEHOLDER + body[cursor:]
    composed = None
    for text in dict.fromkeys([repair(body, cursor), body]):
        with contextlib.suppress(GorunError):
            composed = _compose(engine, text, first_line, test)
            body = text
            break
    if composed is None:
        return None
    m = _OPERAND.search(before)
    if composed.plan is not None and m and _import_std(engine, composed, m.group(1)):
        try:
            composed = compose.compose_snippet(composed, engine.stdlib(), False)
        except GorunError:
            return None
    if composed.form not in ("snippet", "program", "test"):
        return None
    row = before.count("\n")
    col = len(before) - (before.rfind("\n") + 1)
    found = _composed_line(composed, first_line + row, body.split("\n")[row], col)
    if found is None:
        return None
    name, index = found
    lines = composed.files[name].split("\n")
    offset = sum(len(line.encode()) + 1 for line in lines[:index])
    offset += len(lines[index][:col].encode())
    return Source(composed.files, name, offset, composed.table, composed.imports)


def open_brackets(text: str) -> list[str] | None:
    """The brackets left open at the end of Go text, innermost last; None when a
    bracket closes the wrong one or a string does not end (nothing to mend there)."""
    found = brackets.scan(text)
    return found.stack if found.problem is None else None


def repair(body: str, cursor: int) -> str:
    """The cell cut after the cursor's line, with its open brackets closed, when its
    brackets do not balance (see the module's doc); else the cell as it is."""
    if open_brackets(body) == []:
        return body  # balanced: go's parser copes with a half-typed line by itself
    end = body.find("\n", cursor)
    kept = body if end < 0 else body[:end]
    stack = open_brackets(kept)
    return body if stack is None else _closed(kept, stack)


def _closed(text: str, stack: list[str]) -> str:
    """text and the closers of `stack`, on its last line: a line break after a name
    would end the statement there (Go's semicolon rule); after a line comment, next line."""
    closers = "".join(brackets.CLOSER[b] for b in reversed(stack))
    last = text[text.rfind("\n") + 1 :]
    return text + ("\n" if "//" in last else "") + closers


def _import_std(engine: Engine, composed: Composed, name: str) -> bool:
    """Import the standard package `name` into the plan, unless the name means
    something else there. True if it was added."""
    plan = composed.plan
    assert plan is not None
    if any(i.name == name for i in plan.imports.values()):
        return False
    if any(name in d.names for d in plan.decls.values()):
        return False
    path = engine.stdlib().resolve(name, set())
    if path is None:
        return False
    plan.imports[name] = Import(name, None, path, HELP_LABEL, 0, "", True)
    return True


def _composed_line(
    composed: Composed, line: int, cell_text: str, col: int
) -> tuple[str, int] | None:
    """The composed file and line holding column `col` of cell line `line`.

    Two statements on one cell line become two composed lines, each padded to
    its column: the one whose text before the cursor agrees longest with the
    cell's is the one with the cursor.
    """
    best, best_len = None, -1
    want = cell_text[:col]
    for name, origins in composed.table.items():
        lines = composed.files.get(name, "").split("\n")
        for i, origin in enumerate(origins):
            if origin is None or origin.cell is not None or origin.line != line:
                continue
            if not origin.caret or i >= len(lines):
                continue
            # A statement's line ends at its last token: blanks typed after it
            # (`x := a + |`) are not in the composed line, the cursor is at its end.
            n = min(col, len(lines[i]))
            if want[n:].strip():
                continue
            have = lines[i][:n]
            same = next((k for k in range(n) if have[n - 1 - k] != want[n - 1 - k]), n)
            if same > best_len:
                best, best_len = (name, i), same
    return best


def _target(spec: str) -> str:
    """A `go mod edit -replace` side (path@version, or a directory) in go.mod's syntax."""
    if spec.startswith("/"):
        return f'"{spec}"'
    return spec.replace("@", " ", 1)


class ModuleView:
    """The go.mod the helper's `go list` reads: the session's, plus the module around
    the notebook for a cell that imports it before it ever ran (a build adds it to
    the session's go.mod later). Written in the session's directory, never the user's."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dir = engine.scratch.path / ".gorun-typeinfo"
        self._written: tuple[str, str] | None = None
        self._fingerprint: tuple[float, tuple[str, ...], str] = (0.0, (), "")

    def prepare(self, imports: list[str], cwd: str) -> tuple[str, str]:
        """(go.mod path, generation): the generation changes whenever what go list
        would answer may have changed (go.mod, go.sum, the local module's files)."""
        scratch = self.engine.scratch
        gomod, gosum = scratch.go_mod.read_text(), scratch.go_sum.read_text()
        cells = self.engine.cells
        local = dict(cells.local)
        with contextlib.suppress(OSError, ValueError):
            for module in localmods.around(cwd, os.environ.get("GOWORK")):
                if module.path not in local and any(module.provides(p) for p in imports):
                    local[module.path] = module
                    gomod += (
                        f"\nrequire {module.path} {module.require_version()}\n"
                        f'replace {module.path} => "{module.dir}"\n'
                        + "".join(
                            f"replace {_target(old)} => {_target(new)}\n"
                            for old, new in module.replaces
                        )
                    )
                    sums = module.dir / "go.sum"
                    if sums.is_file():  # a regular file: never block on a FIFO
                        gosum += sums.read_text()
        if self._written != (gomod, gosum):
            self.dir.mkdir(exist_ok=True)
            (self.dir / "go.mod").write_text(gomod)
            (self.dir / "go.sum").write_text(gosum)
            self._written = (gomod, gosum)
        stamp = self._local_stamp(sorted(str(m.dir) for m in local.values()))
        gen = hashlib.sha256(f"{gomod}\0{gosum}\0{stamp}".encode()).hexdigest()[:16]
        return str(self.dir / "go.mod"), gen

    def _local_stamp(self, dirs: list[str]) -> str:
        """A digest of the local modules' files, walked at most every FINGERPRINT_EVERY s."""
        if not dirs:
            return ""
        when, seen, stamp = self._fingerprint
        if tuple(dirs) == seen and time.monotonic() - when < FINGERPRINT_EVERY:
            return stamp
        prints = localmods.fingerprint([Path(d) for d in dirs])
        stamp = hashlib.sha256(repr(prints).encode()).hexdigest()[:16]
        self._fingerprint = (time.monotonic(), tuple(dirs), stamp)
        return stamp
