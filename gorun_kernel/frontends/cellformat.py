"""`%fmt`: a cell formatted by gofmt, for JupyterLab's "Format Go cell" and for consoles.

    %fmt                 (alone) the last cell run in this session, formatted
    %fmt                 (first line of a cell) the rest of the cell, formatted
    <the cell>

The formatted cell is printed, and is also the execute_reply's payload
`{"source": "gorun_format", "text": ...}`: the JupyterLab extension sends the cell
as a silent, unstored `%fmt` execution and puts the payload's text in the cell
(labextension/src/format.js). The cell's own header lines (`%%gotest`, `%env`...)
are kept as they are and its Go below them is formatted (help/gofmt.py); a cell
that does not parse is an error at its line (counted from the line after `%fmt`,
as the cell shows), and nothing is formatted.
"""

from __future__ import annotations

from collections.abc import Callable

from gorun_kernel.build.toolchain import Toolchain
from gorun_kernel.errors import UsageError
from gorun_kernel.events import OutputSink
from gorun_kernel.frontends import cellhead

COMMAND = "%fmt"
PAYLOAD = "gorun_format"


def asks_format(code: str) -> bool:
    """A cell whose first line is `%fmt`."""
    first = code.lstrip("\n").split("\n", 1)[0].strip()
    return first == COMMAND or first.startswith(COMMAND + " ")


def format_cell(code: str, toolchain: Toolchain) -> str:
    """A whole cell (header lines and Go) with its Go formatted."""
    # Here, not at the top: the kernel imports this module at start, gofmt's parser
    # only when a cell is formatted (kernel start: benchmarks/kernel_start.py).
    from gorun_kernel.help.gofmt import format_go

    head = cellhead.split(code)
    if not head.directives:
        return format_go(code, toolchain)
    if not head.body.strip():
        return code  # header lines only: nothing of Go to format
    lines = code.split("\n")
    header = "\n".join(lines[: head.first_line - 1])
    body = format_go(head.body, toolchain, head.first_line)
    return f"{header}\n{body}" if head.first_line > 1 else body


def run(
    code: str, toolchain: Toolchain, sink: OutputSink, session_cells: Callable[[], list[str]]
) -> list[dict[str, object]]:
    """The `%fmt` cell: print the formatted cell; the execute_reply's payload.

    session_cells: the cells run in this session so far, oldest first (history.py)."""
    first, _, rest = code.lstrip("\n").partition("\n")
    if first.strip() != COMMAND:
        raise UsageError("%fmt takes no arguments: the cell to format goes on the lines below it")
    if not rest.strip():
        previous = next((c for c in reversed(session_cells()) if not asks_format(c)), None)
        if previous is None:
            raise UsageError("%fmt: no cell to format (put one below %fmt, or run one first)")
        rest = previous
    formatted = format_cell(rest, toolchain)
    sink.stdout(formatted if formatted.endswith("\n") else formatted + "\n")
    return [{"source": PAYLOAD, "text": formatted}]
