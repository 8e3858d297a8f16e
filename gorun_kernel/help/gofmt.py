"""A cell's Go, formatted by gofmt: what JupyterLab's "Format Go cell" and `%fmt` show.

gofmt itself does the formatting (the toolchain's own `$GOROOT/bin/gofmt`, so the
result is exactly what `gofmt` gives a Go programmer). It formats a whole file, a
list of declarations, or a list of statements given on its standard input. A
snippet cell mixes declarations and statements, which is none of these, so a cell
is cut, at line boundaries, into runs of the same kind (imports, declarations,
statements; `var` and `const` go with either), each run is formatted on its own,
and the runs are put back in their places, in the cell's order. A program cell
(with a package clause) is one file; a multi-file cell's `.go` files are each one.

Meaning never changes: gofmt changes only spaces, line breaks, semicolons, the
letter case of number prefixes and the order of imports, and the result is checked
for exactly that (the same characters besides those, in any order); a cell that
fails the check, or that does not parse, is left as it is and the error says why,
at the cell's line.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel.build.toolchain import Toolchain
from gorun_kernel.compose import txtar
from gorun_kernel.compose.parse import Item, parse_cell
from gorun_kernel.errors import CellError, GorunError, ToolchainError

GOFMT_TIMEOUT = 30.0  # seconds: gofmt takes milliseconds; a bound on a hang only

# gofmt's error positions: "<standard input>:3:5: expected ')', found newline".
_POSITION = re.compile(r"^<standard input>:(\d+):(\d+): (.*)$")
_MARKER = re.compile(r"^-- (.*) --\r?$")  # a multi-file cell's file marker (txtar.py)

# What each kind of item of a snippet cell can be formatted with.
_CLASS = {"import": "import", "func": "decl", "method": "decl", "type": "decl",
          "var": "either", "const": "either", "stmt": "stmt"}  # fmt: skip


class GoSyntaxError(GorunError):
    """The cell is not Go that gofmt can read: it is left as it is."""


@dataclass
class _Run:
    kind: str  # "import", "decl", "stmt", or "either" (so far only var and const)
    start: int  # 0-based first line of the run in the text
    end: int  # one past its last line (the next run's start)


def gofmt_path(toolchain: Toolchain) -> Path:
    """The gofmt of the toolchain that builds the cells."""
    name = "gofmt.exe" if os.name == "nt" else "gofmt"
    path = Path(toolchain.goroot) / "bin" / name
    if not toolchain.goroot or not path.is_file():
        raise ToolchainError(f"this Go toolchain has no gofmt (looked for {path})")
    return path


def format_go(code: str, toolchain: Toolchain, first_line: int = 1) -> str:
    """code (a cell's Go, below its header lines) as gofmt formats it.

    first_line: the cell line code starts at, for messages. GoSyntaxError when it
    does not parse (at the cell's line), CellError if formatting would change it.
    """
    if not code.strip():
        return code
    formatter = _Formatter(gofmt_path(toolchain), toolchain)
    if txtar.is_txtar(code):
        formatted = formatter.multi_file(code, first_line)
    else:
        formatted = formatter.cell(code, first_line)
    if _meaning(formatted) != _meaning(code):
        raise CellError(
            "gofmt would change more than the layout of this cell (a bug: please report "
            "it); the cell is left as it is"
        )
    return formatted


def _meaning(text: str) -> Counter[str]:
    """What formatting must keep: every character but spaces and semicolons, in any
    order (gofmt sorts imports), case aside (it writes 0X1F as 0x1F)."""
    return Counter(c for c in text.casefold() if not c.isspace() and c != ";")


class _Formatter:
    def __init__(self, gofmt: Path, toolchain: Toolchain) -> None:
        self.gofmt = gofmt
        self.env = toolchain.command_env(os.environ)

    def multi_file(self, code: str, first_line: int) -> str:
        """Each .go file of a txtar cell formatted as a whole file; the rest as it is."""
        lines = code.split("\n")
        markers = [i for i, line in enumerate(lines) if _MARKER.match(line)]
        pieces: list[str] = []
        bounds = [0, *markers, len(lines)]
        for k in range(len(bounds) - 1):
            start, end = bounds[k], bounds[k + 1]
            if k == 0:
                name, body_start = "main.go", 0  # text before the first marker
            else:
                match = _MARKER.match(lines[start])
                name = match.group(1).strip() if match else ""
                pieces.append(lines[start])
                body_start = start + 1
            body = "\n".join(lines[body_start:end])
            if name.endswith(".go") and body.strip():
                body = self.cell(body, first_line + body_start)
            if k > 0 or body_start < end:
                pieces.append(body)
        return "\n".join(pieces)

    def cell(self, code: str, first_line: int) -> str:
        """A program (a whole file) or a snippet (runs of one kind, each formatted)."""
        parsed = parse_cell(code)
        if parsed.package is not None:
            return self._gofmt(code, first_line)
        runs = _runs(code, parsed.items, first_line)
        if runs is None or len(runs) <= 1:
            return self._gofmt(code, first_line)
        lines = code.split("\n")
        out = []
        for k, run in enumerate(runs):
            text = "\n".join(lines[run.start : run.end])
            formatted = self._gofmt(text, first_line + run.start) if text.strip() else text
            if k < len(runs) - 1 and formatted.endswith("\n"):
                # Blank lines between runs: at most one, as gofmt leaves them.
                formatted = formatted.rstrip("\n") + "\n"
            out.append(formatted)
        return "\n".join(out)

    def _gofmt(self, text: str, first_line: int) -> str:
        """gofmt of a file, a declaration list or a statement list, with text's own
        leading and trailing blank lines kept (gofmt keeps them for fragments)."""
        try:
            done = subprocess.run(
                [str(self.gofmt)],
                input=text.encode(),
                capture_output=True,
                env=self.env,
                timeout=GOFMT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ToolchainError(f"gofmt did not run: {e}") from None
        if done.returncode != 0:
            raise _syntax_error(done.stderr.decode(errors="replace"), text, first_line)
        out = done.stdout.decode()
        # A whole file comes back ending in a newline: the cell keeps its own ending.
        if out.endswith("\n") and not text.endswith("\n"):
            out = out[:-1]
        return out


def _runs(code: str, items: list[Item], first_line: int) -> list[_Run] | None:
    """The cell's lines cut into runs of items that gofmt can read together; None
    for a cell of no items (comments only)."""
    runs: list[_Run] = []
    last_end = -1  # the row where the last item ended
    for item in items:
        kind = _CLASS.get(item.kind, "stmt")
        end = item.row + item.text.count("\n")
        joined = _join(runs[-1].kind, kind) if runs else None
        if joined is not None:
            runs[-1].kind = joined
        else:
            if item.row <= last_end:
                raise CellError(
                    f"line {first_line + item.row}: a declaration and a statement share this "
                    "line; put them on lines of their own to format the cell"
                )
            if runs:
                runs[-1].end = item.row
            runs.append(_Run(kind, item.row if runs else 0, 0))
        last_end = end
    if not runs:
        return None
    runs[-1].end = code.count("\n") + 1
    return runs


def _join(run: str, kind: str) -> str | None:
    """The kind of a run after an item of kind joins it; None if it cannot (gofmt
    reads a list of declarations with the imports first, or a list of statements)."""
    if kind == "either":  # var and const: a declaration, or a statement
        return "decl" if run == "import" else run
    if kind == "import":
        return "import" if run == "import" else None
    if kind == "decl":
        return "decl" if run in ("import", "decl", "either") else None
    return "stmt" if run in ("stmt", "either") else None


def _syntax_error(stderr: str, text: str, first_line: int) -> GorunError:
    """gofmt's first complaint at the cell's line, the line quoted, as for a build error."""
    lines = text.split("\n")
    for raw in stderr.splitlines():
        m = _POSITION.match(raw.strip())
        if m is None:
            continue
        row, col, message = int(m.group(1)), int(m.group(2)), m.group(3)
        row = min(max(row, 1), len(lines))
        quoted = lines[row - 1]
        details = [f"    {quoted}"]
        # On a fragment's first line gofmt counts the text it wrapped around it.
        if row > 1 and 0 < col <= len(quoted) + 1:
            details.append(
                "    " + "".join(c if c == "\t" else " " for c in quoted[: col - 1]) + "^"
            )
        return GoSyntaxError(f"line {first_line + row - 1}: {message}", details)
    return GoSyntaxError(f"gofmt could not format the cell: {stderr.strip() or 'no reason given'}")
