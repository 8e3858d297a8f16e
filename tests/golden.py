"""The compose stage's golden tier: cell sequences -> the generated files and line table.

A case is a sequence of cells run in one session. Each cell is composed as the
engine composes it (compose.compose_cell, or compose_tests for a test cell) and,
unless it fails, its plan is committed as the engine commits a cell that built.
The record of a case (every cell's form, files, line table, notes, or error) is
compared with tests/golden/compose/<case>.txt; `GORUN_UPDATE_GOLDEN=1 python -m
pytest tests/test_compose_golden.py` writes the files again, for review in the diff.

No process runs here but one `go env` (the toolchain's GOROOT, for the standard
library index): the records depend on the installed Go's standard library only
where a case names a package several share.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel.compose.compose import Composed, compose_cell, compose_snippet, compose_tests
from gorun_kernel.compose.session import Session
from gorun_kernel.compose.stdlib import StdIndex
from gorun_kernel.diagnostics import LineTable
from gorun_kernel.errors import GorunError

GOLDEN_DIR = Path(__file__).parent / "golden" / "compose"
UPDATE = os.environ.get("GORUN_UPDATE_GOLDEN") == "1"


@dataclass(frozen=True)
class C:
    """One cell of a case. A plain string is C(code)."""

    code: str
    test: bool = False  # a %%gotest cell (compose_tests)
    owner: str | None = None  # the front-end's cell id (an init belongs to it)
    first_line: int = 1  # 2 under a %%gorun line
    builds: bool = True  # False: as if go refused it (its plan is not committed)
    # The build stage's second composition, after go refused the first: False when the
    # final expression has no value (`hello()`), drop: the imports go said are unused.
    show: bool | None = None
    drop: frozenset[str] = frozenset()


Cell = C | str


@functools.cache
def std_index() -> StdIndex:
    from gorun_kernel.build.toolchain import find_toolchain

    tc = find_toolchain()
    return StdIndex.for_goroot(tc.goroot, tc.version)


@dataclass
class Step:
    label: str
    cell: C
    composed: Composed | None  # None: the cell was refused (error)
    error: str = ""


def run_case(cells: list[Cell]) -> list[Step]:
    session = Session()
    steps = []
    for n, raw in enumerate(cells, 1):
        cell = C(raw) if isinstance(raw, str) else raw
        label = f"[{n}]"
        try:
            if cell.test:
                composed = compose_tests(cell.code, cell.first_line, label, session, std_index)
            else:
                composed = compose_cell(
                    cell.code, cell.first_line, label, session, std_index, owner=cell.owner
                )
        except GorunError as e:
            steps.append(Step(label, cell, None, f"{type(e).__name__}: {e.message}"))
            continue
        if cell.show is not None or cell.drop:
            show = composed.show if cell.show is None else cell.show
            composed = compose_snippet(composed, std_index(), show, cell.drop)
        if composed.plan is not None and cell.builds:
            session.commit(composed.plan)
        session.cells += 1
        steps.append(Step(label, cell, composed))
    return steps


def _table(table: LineTable) -> list[str]:
    out = []
    for path in sorted(table):
        for i, origin in enumerate(table[path], 1):
            if origin is None:
                continue
            where = f"cell {origin.cell}" if origin.cell else "this cell"
            caret = "" if origin.caret else " (no caret)"
            out.append(f"{path}:{i} <- {where} line {origin.line}{caret}: {origin.text}")
    return out


def record(cells: list[Cell]) -> str:
    """The text a case's golden file holds."""
    out: list[str] = []
    for step in run_case(cells):
        cell = step.cell
        flags = [f for f, on in (("test", cell.test), ("not built", not cell.builds)) if on]
        flags += [f"owner={cell.owner}"] if cell.owner else []
        flags += [f"first line {cell.first_line}"] if cell.first_line != 1 else []
        flags += [f"composed again with show={cell.show}"] if cell.show is not None else []
        flags += [f"composed again without {', '.join(sorted(cell.drop))}"] if cell.drop else []
        out.append(f"=== cell {step.label}{' (' + ', '.join(flags) + ')' if flags else ''} ===")
        out.append(cell.code)
        if step.composed is None:
            out.append(f"--- refused --- {step.error}")
            continue
        c = step.composed
        facts = [f"form={c.form}", f"show={c.show}"]
        facts += [f"subdir={c.subdir}"] if c.subdir else []
        facts += [f"imports={','.join(c.imports)}"] if c.imports else []
        facts += [f"tests={','.join(c.own_tests)}"] if c.own_tests else []
        out.append("--- " + " ".join(facts) + " ---")
        out += [f"note: {n}" for n in c.notes]
        for name in sorted(c.files):
            if name.startswith("gorun_"):
                out.append(f"--- {name} (gorun's, not shown) ---")
            else:
                out.append(f"--- {name} ---")
                out.append(c.files[name].rstrip("\n"))
        out.append("--- line table ---")
        out += _table(c.table)
    text = "\n".join(out) + "\n"
    # Shown, not kept: a CR (git and editors may change line ends) and text that is not
    # Unicode (a lone surrogate cannot be written to a file).
    return text.replace("\r", "\\r").encode("utf-8", "backslashreplace").decode()


def check(name: str, cells: list[Cell]) -> None:
    """Compare the case's record with its golden file (or write it, GORUN_UPDATE_GOLDEN=1)."""
    path = GOLDEN_DIR / f"{name}.txt"
    got = record(cells)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got)
        return
    assert path.exists(), f"no golden file {path.name}: run with GORUN_UPDATE_GOLDEN=1"
    want = path.read_text()
    assert got == want, f"{path.name} differs (GORUN_UPDATE_GOLDEN=1 rewrites it; review the diff)"


def programs(cells: list[Cell]) -> list[tuple[str, dict[str, str]]]:
    """(label, files) of each cell composed to a program of the session's module that go
    should build. (A txtar cell is the user's own files, built as a module of its own.)"""
    found = []
    for step in run_case(cells):
        c = step.composed
        if c is None or not step.cell.builds or c.form in ("empty", "txtar"):
            continue
        found.append((step.label, c.files))
    return found
