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
from functools import lru_cache
from typing import Literal

from gorun_kernel.compose import txtar
from gorun_kernel.compose.decls import Plan, test_function
from gorun_kernel.compose.emit import emit, emit_tests
from gorun_kernel.compose.linedirs import annotate, merge
from gorun_kernel.compose.parse import Cell, parse_cell
from gorun_kernel.compose.session import Session
from gorun_kernel.compose.stdlib import StdIndex
from gorun_kernel.diagnostics import LineTable, Origin
from gorun_kernel.errors import CellError

TXTAR_DIR = "txtar"  # where a multi-file cell is written, inside the scratch module

Form = Literal["program", "snippet", "txtar", "empty", "test"]


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
    # A test run: the cells whose test functions run, and those the cell itself declares.
    test_cells: frozenset[str] = frozenset()
    own_tests: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # which package an ambiguous name is

    @property
    def own_module(self) -> bool:
        """A txtar cell with its own go.mod: not built in the session's module."""
        return "go.mod" in self.files


@lru_cache(maxsize=64)
def _parsed(code: str) -> Cell:
    """parse_cell, once per text: a cell run again is not parsed again. (The Cell is
    shared by the plans made from it: nothing downstream changes an Item.)"""
    return parse_cell(code)


def _check_text(code: str, first_line: int) -> None:
    try:
        code.encode()
    except UnicodeEncodeError as e:
        line = first_line + code.count("\n", 0, e.start)
        raise CellError(f"line {line}: the text is not valid Unicode") from None


def compose_cell(
    code: str,
    first_line: int,
    label: str,
    session: Session,
    std: Callable[[], StdIndex],
    owner: str | None = None,
    exports: list[str] | None = None,
    shown_only: bool = False,
) -> Composed:
    """The files for a cell. first_line: the notebook's line number of its first line;
    owner: the cell's identity, when the front-end knows it (see Session.plan);
    exports: names main sends to Python at its end (the magic's --export);
    shown_only: its final value goes to the kernel alone (Plan.shown_only)."""
    if not code.strip():
        raise CellError("the cell is empty: write Go in it (a snippet or a package main)")
    _check_text(code, first_line)
    if txtar.is_txtar(code):
        files, table = txtar.split(code, first_line)
        for name in [n for n in files if n.endswith(".go")]:
            lines = files[name].split("\n")[:-1]
            files[name], entries = annotate(name, lines, table[name][: len(lines)])
            merge(table, entries)
        return Composed("txtar", files, table, subdir=TXTAR_DIR)
    # CRLF means nothing more than LF to Go (raw strings drop the CR), and
    # the parser and the quoted lines are simpler without it.
    code = code.replace("\r\n", "\n")
    cell = _parsed(code)
    if cell.package is None and not cell.items:
        return Composed("empty", {}, {})  # only comments
    imports = [p for item in cell.items if item.kind == "import" for _, p, _ in item.imports]
    if cell.package is not None:
        lines = code.split("\n")
        origins: list[Origin | None] = [Origin(first_line + i, t) for i, t in enumerate(lines)]
        text, table = annotate("main.go", lines, origins)
        return Composed("program", {"main.go": text}, table, imports=imports)
    plan = session.plan(cell, code, first_line, label, std(), owner)
    plan.exports = list(exports or [])
    plan.shown_only = shown_only
    base = Composed("snippet", {}, {}, imports=imports, plan=plan)
    return compose_snippet(base, std(), show=plan.final is not None)


def compose_snippet(
    composed: Composed,
    std: StdIndex,
    show: bool,
    drop: frozenset[str] = frozenset(),
) -> Composed:
    """A snippet's program, showing its final value or not, leaving out `drop`."""
    assert composed.plan is not None
    if composed.form == "test":
        program = emit_tests(composed.plan, std, drop, set(composed.test_cells))
    else:
        program = emit(composed.plan, std, show, drop)
    return replace(
        composed,
        files=program.files,
        table=program.table,
        show=show,
        drop=drop,
        notes=program.notes,
    )


def compose_tests(
    code: str, first_line: int, label: str, session: Session, std: Callable[[], StdIndex]
) -> Composed:
    """A test cell as main.go (the session's program) and its _test.go file.

    The cell holds test functions and their helpers, as a _test.go file does;
    they join the session for later test runs. Its own test functions run, with
    those written in ordinary cells; a cell that declares none (or `%gotest`,
    code "") runs every test function of the session.
    """
    _check_text(code, first_line)
    if txtar.is_txtar(code):
        raise CellError("a test cell is a snippet of test functions, not several files")
    code = code.replace("\r\n", "\n")  # as in compose_cell
    cell = _parsed(code) if code.strip() else Cell(None, [])
    if cell.package is not None:
        raise CellError(
            "a test cell has no package clause: write Test, Benchmark, Fuzz and Example "
            "functions (and their helpers); they are tested with the session's declarations"
        )
    plan = session.plan(cell, code, first_line, label, std(), test_cell=True)
    if plan.body or plan.main is not None:
        row = plan.body[0].row if plan.body else 0
        where = f"line {first_line + row}: " if plan.body else ""
        raise CellError(
            f"{where}a test cell holds declarations (Test, Benchmark, Fuzz and Example "
            "functions and their helpers); put statements inside a test function"
        )
    own = [i.names[0] for i in cell.items if test_function(i) is not None]
    cells = {d.cell for d in plan.decls.values() if d.role == "test"}
    imports = [p for item in cell.items if item.kind == "import" for _, p, _ in item.imports]
    base = Composed(
        "test",
        {},
        {},
        imports=imports,
        plan=plan,
        test_cells=frozenset({label} if own else cells),
        own_tests=own,
    )
    return compose_snippet(base, std(), show=False)
