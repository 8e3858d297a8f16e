"""Turning the go command's error output into messages about the user's cells.

While composing a program we record, for every line of every generated file,
where it came from (which cell, which line as the notebook shows it, its text).
Compiler messages name a file and line of the scratch module; here they become
"line 5: undefined: y" (or "cell [3], line 2: ..." for code from an earlier
cell) with the source line quoted under it. Scratch paths never reach the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .events import Event, OutputSink

_POSITION = re.compile(
    r"^(?P<path>[^\s:][^:\n]*?\.(?:go|s|c|h|mod)):(?P<line>\d+)(?::(?P<col>\d+))?: ?(?P<msg>.*)$"
)

# "# gorun", or "# gorun [gorun.test]" for a test binary's build.
_PACKAGE_HEADER = re.compile(r"^# \S+( \[\S+\])?$")


@dataclass(frozen=True)
class Origin:
    """Where a line of a generated file was written."""

    line: int  # as the notebook shows the cell: its first line (magic or %-line) is 1
    text: str  # the source line
    cell: str | None = None  # label of an earlier cell ("[3]"); None for the current cell
    caret: bool = True  # the generated line has the cell line's columns


# For each generated file (path relative to the module root), the origin of
# each of its lines (index 0 is line 1); None for lines we generated.
LineTable = dict[str, list[Origin | None]]


@dataclass(frozen=True)
class Diagnostic:
    headline: str  # "line 5: undefined: y"
    quote: list[str]  # the quoted source line and a caret, when known


def _caret_line(text: str, col: int | None) -> str | None:
    if not col or col < 1 or col > len(text) + 1:
        return None
    # Tabs stay tabs so the caret lines up under the quoted text.
    pad = "".join(ch if ch == "\t" else " " for ch in text[: col - 1])
    return pad + "^"


def map_output(output: str, table: LineTable, roots: list[str]) -> list[Diagnostic]:
    """Diagnostics for go's stderr; `roots` are directory prefixes to strip from paths."""
    result: list[Diagnostic] = []
    for raw in output.splitlines():
        line = raw.rstrip()
        if not line or _PACKAGE_HEADER.match(line):
            continue  # "# gorun": the package header go prints before its errors
        for root in roots:
            line = line.replace(root.rstrip("/") + "/", "").replace(root.rstrip("/"), ".")
        m = _POSITION.match(line)
        if not m:
            if line.startswith("\t") and result:
                # A continuation of the previous message (go indents them),
                # which may name another position ("other declaration of x").
                prev = result[-1]
                line = "\t" + _continuation(line[1:], table)
                result[-1] = Diagnostic(prev.headline + "\n" + line, prev.quote)
            else:
                result.append(Diagnostic(line, []))
            continue
        path = m.group("path").removeprefix("./")
        lineno = int(m.group("line"))
        col = int(m.group("col")) if m.group("col") else None
        msg = m.group("msg")
        origins = table.get(path)
        if origins is None:
            # A file we did not write (a module's source): go's own position
            # is meaningful to the user.
            result.append(Diagnostic(line, []))
            continue
        origin = origins[lineno - 1] if 0 < lineno <= len(origins) else None
        exact = origin is not None
        if origin is None:
            # A line we generated (the end of main, say): the error is about the
            # user's code just before it.
            before = [o for o in origins[: max(lineno - 1, 0)] if o is not None]
            if not before:
                result.append(Diagnostic(msg, []))
                continue
            origin = before[-1]
        where = f"line {origin.line}"
        if origin.cell is not None:
            where = f"cell {origin.cell}, {where}"
        quote = [f"    {origin.text}"]
        caret = _caret_line(origin.text, col) if exact and origin.caret else None
        if caret:
            quote.append(f"    {caret}")
        result.append(Diagnostic(f"{where}: {msg}", quote))
    return result


def _continuation(text: str, table: LineTable) -> str:
    """`main.go:10:6: other declaration of x` in the user's words."""
    m = _POSITION.match(text)
    if not m:
        return text
    origins = table.get(m.group("path").removeprefix("./"))
    if origins is None:
        return text  # a file we did not write
    n = int(m.group("line"))
    origin = origins[n - 1] if 0 < n <= len(origins) else None
    if origin is None:
        return f"(in code gorun generated): {m.group('msg')}"
    where = f"line {origin.line}"
    if origin.cell is not None:
        where = f"cell {origin.cell}, {where}"
    return f"{where}: {m.group('msg')}"


def render(diags: list[Diagnostic]) -> list[str]:
    lines: list[str] = []
    for d in diags:
        lines.append(d.headline)
        lines.extend(d.quote)
    return lines


# A path in a session's scratch module, this session's or an earlier one's (a
# cached binary keeps the path it was built at): /tmp/gorun_kernel-0/session-x/main.go:10
_SCRATCH_POSITION = re.compile(
    r"/\S*?/session-[A-Za-z0-9_]+/(?:txtar/)?(?P<path>[\w./ -]+?\.go):(?P<line>\d+)"
)
SCRATCH_POSITION = _SCRATCH_POSITION  # for the test report's panic traces


class TraceMapper:
    """Wraps a sink: panic and race traces name cell lines, not the generated file.

    `main.main()\\n\\t/tmp/.../session-x/main.go:10 +0x1d` becomes
    `main.main()\\n\\tline 3 +0x1d` (or `cell [2], line 5` for code from an
    earlier cell). stderr is rewritten line by line. A partial line streams at
    once (a progress line such as "\\rstep 5"), unless it has a `/` and so may
    be the start of a scratch path: that part waits for the rest of its line,
    or for the run loop to be quiet (`idle`).
    """

    def __init__(self, sink: OutputSink, table: LineTable) -> None:
        self.sink = sink
        self.table = table
        self.tail = ""

    def _where(self, m: re.Match[str]) -> str:
        origins = self.table.get(m.group("path"), [])
        n = int(m.group("line"))
        origin = origins[n - 1] if 0 < n <= len(origins) else None
        if origin is None:
            return f"{m.group('path')}:{n}"
        where = f"line {origin.line}"
        return f"cell {origin.cell}, {where}" if origin.cell is not None else where

    def _release(self) -> None:
        if self.tail:
            self.sink.stderr(_SCRATCH_POSITION.sub(self._where, self.tail))
            self.tail = ""

    def stdout(self, text: str) -> None:
        self._release()
        self.sink.stdout(text)

    def stderr(self, text: str) -> None:
        text = self.tail + text
        head, nl, self.tail = text.rpartition("\n")
        if "/" not in self.tail:
            head, nl, self.tail = text, "", ""  # no part of a path in the tail
        if head or nl:
            self.sink.stderr(_SCRATCH_POSITION.sub(self._where, head + nl))

    def idle(self) -> None:
        """The program is quiet: what it wrote is all there is for now."""
        self._release()

    def input_wanted(self, prompt: str) -> str | None:
        self._release()
        return self.sink.input_wanted(prompt)

    def event(self, event: Event) -> None:
        self._release()  # in order: the stderr written before it comes first
        self.sink.event(event)

    def finish(self) -> None:
        self._release()
