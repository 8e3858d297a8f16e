"""Where a failed cell went wrong, for the editor: the lines the JupyterLab extension marks.

A build error's message and details name lines of the cell run as `line 5: ...`
(diagnostics.py; `cell [3], line 2: ...` is another cell's line, not marked here),
each followed by the line quoted and, when the column is known, a caret under it.
The kernel puts these marks in the execute_reply's metadata (`gorun_errors`); the
extension (labextension/src/marks.js) underlines the lines in the cell's editor and
clears them when the cell runs again.
"""

from __future__ import annotations

import re

from gorun_kernel.errors import GorunError

KEY = "gorun_errors"  # the execute_reply metadata's key
MAX_MARKS = 50  # a cell with hundreds of errors: the first ones are enough to see

_HEADLINE = re.compile(r"^line (\d+): (.+)$")
_QUOTE = "    "  # how diagnostics.py indents the quoted line and its caret


def error_marks(error: GorunError) -> list[dict[str, object]]:
    """[{"line": 5, "column": 3 or None, "message": "undefined: y"}] for the cell's
    own lines that the error names (lines count from 1, columns from 0)."""
    lines = [error.message, *error.details]
    marks: list[dict[str, object]] = []
    for i, text in enumerate(lines):
        m = _HEADLINE.match(text)
        if m is None:
            continue
        column = _caret_column(lines[i + 1 : i + 3])
        marks.append({"line": int(m.group(1)), "column": column, "message": m.group(2)})
        if len(marks) == MAX_MARKS:
            break
    return marks


def _caret_column(below: list[str]) -> int | None:
    """The column the caret under a quoted line points at (the quote's tabs are kept
    in the caret's line, so characters count alike), or None without a caret."""
    if len(below) < 2 or not below[0].startswith(_QUOTE):
        return None
    caret = below[1].removeprefix(_QUOTE)
    if not below[1].startswith(_QUOTE) or not caret.endswith("^") or caret[:-1].strip(" \t"):
        return None
    return len(caret) - 1
