"""Composing the files of one build from a cell.

A `Program` is what gets written into the scratch module: file contents plus
a line table saying where each line came from, so that compiler errors can
point at cell lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnostics import LineTable, Origin
from .errors import CellError


@dataclass
class Program:
    files: dict[str, str]  # path relative to the module root -> content
    table: LineTable = field(default_factory=dict)


def origins(code: str, first_line: int, cell: str | None = None) -> list[Origin | None]:
    return [Origin(first_line + i, text, cell) for i, text in enumerate(code.split("\n"))]


def program_cell(code: str, first_line: int = 1) -> Program:
    """A cell that is a whole `package main` program, built as it is."""
    if not code.strip():
        raise CellError(
            "the cell is empty: write a Go program (package main with a func main) in it"
        )
    return Program(files={"main.go": code}, table={"main.go": origins(code, first_line)})
