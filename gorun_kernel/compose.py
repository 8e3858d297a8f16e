"""The compose stage: cell text -> the files of a program and their line table.

Pure: no processes, no files. A cell is one of three forms (see README):
a whole `package main` program, a multi-file txtar cell, or a snippet whose
declarations join the session. The result says which files to write where,
and for every generated line which cell line it came from (diagnostics.py
uses that to point errors and traces at the user's lines).

A snippet is planned against the session without changing it: the plan is
committed by the engine only once the program built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from . import txtar
from .diagnostics import LineTable, Origin
from .errors import CellError
from .parse import parse_cell
from .snippets import Plan, Session
from .stdlib import StdIndex

TXTAR_DIR = "txtar"  # where a multi-file cell is written, inside the scratch module

Form = Literal["program", "snippet", "txtar", "empty"]


@dataclass
class Composed:
    """A cell as files for the scratch module."""

    form: Form
    files: dict[str, str]  # path (relative to subdir) -> text
    table: LineTable
    subdir: str = ""  # where the files go in the scratch module ("" or TXTAR_DIR)
    imports: list[str] = field(default_factory=list)  # import paths the cell names
    plan: Plan | None = None  # a snippet's declarations, to commit once it built
    show: bool = False  # a snippet shows its final expression's value
    drop: frozenset[str] = frozenset()  # import paths left out (go said: not used)

    @property
    def own_module(self) -> bool:
        """A txtar cell with its own go.mod: not built in the session's module."""
        return "go.mod" in self.files


def compose_cell(
    code: str, first_line: int, label: str, session: Session, std: Callable[[], StdIndex]
) -> Composed:
    """The files for a cell. first_line: the notebook's line number of its first line."""
    if not code.strip():
        raise CellError("the cell is empty: write Go in it (a snippet or a package main)")
    try:
        code.encode()
    except UnicodeEncodeError as e:
        line = first_line + code.count("\n", 0, e.start)
        raise CellError(f"line {line}: the text is not valid Unicode") from None
    if txtar.is_txtar(code):
        files, table = txtar.split(code, first_line)
        return Composed("txtar", files, table, subdir=TXTAR_DIR)
    cell = parse_cell(code)
    if cell.package is None and not cell.items:
        return Composed("empty", {}, {})  # only comments
    imports = [p for item in cell.items if item.kind == "import" for _, p, _ in item.imports]
    if cell.package is not None:
        table: LineTable = {
            "main.go": [Origin(first_line + i, t) for i, t in enumerate(code.split("\n"))]
        }
        return Composed("program", {"main.go": code}, table, imports=imports)
    plan = session.plan(cell, code, first_line, label, std())
    base = Composed("snippet", {}, {}, imports=imports, plan=plan)
    return compose_snippet(base, session, std(), show=plan.final is not None)


def compose_snippet(
    composed: Composed,
    session: Session,
    std: StdIndex,
    show: bool,
    drop: frozenset[str] = frozenset(),
) -> Composed:
    """A snippet's program, showing its final value or not, leaving out `drop`."""
    assert composed.plan is not None
    program = session.compose(composed.plan, std, show, drop)
    return replace(composed, files=program.files, table=program.table, show=show, drop=drop)
