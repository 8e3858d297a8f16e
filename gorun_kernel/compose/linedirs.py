"""`//line` directives: go itself reports the user's cell coordinates.

A generated file interleaves lines from several cells with lines we wrote.
Before each run of a cell's lines we write a directive such as `//line
cell[3]:5:1`, so that the compiler's errors and `-m` notes, `runtime.Caller`,
`log.Lshortfile`, panics, race reports and coverage profiles all name
`cell[3]:5` (cell [3], line 5 as the notebook shows it), with the cell's
columns. The cell being run is just `cell` (`cell:5`, "this cell, line 5"),
as its errors say `line 5`: so a cell run again unchanged is the same program,
found in the executable cache, whatever number the notebook gives it now.
Before a run of lines we generated, a directive names the file's own position
again (`main.go:12`), so that nothing of ours is ever put on a user's line.

The line table keeps both views: for each generated file, the origin of each
of its lines, and for each cell file (`cell[3]`), the origin of each cell line
it holds, for the messages that quote the line (diagnostics.py).
"""

from __future__ import annotations

import re
from dataclasses import replace

from gorun_kernel.diagnostics import LineTable, Origin

# The name go reports for a cell's lines: "cell" + its label ("[3]"), made safe
# for a directive (no colon, no space: `//line name:line:col` is split at colons).
_UNSAFE = re.compile(r"[\s:]")
CURRENT = "cell"  # the cell being run


def cell_file(label: str | None) -> str:
    """The file name of a cell's lines; label None: the cell being run."""
    return CURRENT if label is None else CURRENT + _UNSAFE.sub("_", label)


def annotate(
    path: str, lines: list[str], origins: list[Origin | None], head: int = 0
) -> tuple[str, LineTable]:
    """The text of file `path` with directives, and its line table entries.

    origins[i]: where lines[i] came from (None: we generated it). The first
    `head` lines get no directive: a cgo preamble, which would take a
    directive above it for C text.
    """
    out: list[str] = lines[:head]
    real: list[Origin | None] = origins[:head]  # per line of the written file
    cells: LineTable = {}  # per cell file, per cell line
    at = (path, head + 1)  # the position go gives the next line, by the directives so far
    for line, origin in zip(lines[head:], origins[head:], strict=True):
        if origin is None:
            if not line.strip():  # a blank line of ours: its position does not matter
                out.append(line)
                real.append(None)
                at = (at[0], at[1] + 1)
                continue
            want = (path, len(out) + 1)
            if at != want:
                want = (path, len(out) + 2)
                out.append(f"//line {path}:{want[1]}:1")
                real.append(None)
        else:
            name = cell_file(origin.cell)
            origin = replace(origin, file=name)
            want = (name, origin.line)
            if at != want:
                out.append(f"//line {name}:{origin.line}:1")
                real.append(None)
            slots = cells.setdefault(name, [])
            slots.extend([None] * (origin.line - len(slots)))
            slots[origin.line - 1] = origin
        out.append(line)
        real.append(origin)
        at = (want[0], want[1] + 1)
    return "\n".join(out) + "\n", {path: real, **cells}


def merge(table: LineTable, entries: LineTable) -> None:
    """Add annotate's entries to a table; a cell file's lines may come from several files."""
    for name, origins in entries.items():
        have = table.get(name)
        if have is None or not name.startswith(CURRENT):
            table[name] = origins
            continue
        have.extend([None] * (len(origins) - len(have)))
        for i, origin in enumerate(origins):
            if origin is not None:
                have[i] = origin
