"""Turning the go command's error output into messages about the user's cells.

While composing a program we record, for every line of every generated file,
where it came from (which cell, which line as the notebook shows it, its text).
Compiler messages name a file and line of the scratch module; here they become
"line 5: undefined: y" (or "cell [3], line 2: ..." for code from an earlier
cell) with the source line quoted under it. Scratch paths never reach the user.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from gorun_kernel.events import Event, OutputSink

# A file go names: a source file, or a cell's lines as //line directives name
# them ("cell[3]", see linedirs.py), with a directory when go/parser made it absolute.
_FILE = r"(?:[^\s:][^:\n]*?\.(?:go|s|c|h|mod)|(?:[^\s:][^:\n]*/)?cell(?:\[[^\]\n:]*\])?)"
_POSITION = re.compile(rf"^(?P<path>{_FILE}):(?P<line>\d+)(?::(?P<col>\d+))?: ?(?P<msg>.*)$")


# gcc's excerpt of the line it complains about (`    3 | #include <x.h>`, `      |  ^~~`).
_C_EXCERPT = re.compile(r"^ *\d* \|")

# gcc's context line above its errors ("./main.go: In function 'f':").
_C_CONTEXT = re.compile(rf"^(?P<path>{_FILE}): (?:In (?:member )?function .*|At top level):$")

# "# gorun", or "# gorun [gorun.test]" for a test binary's build.
_PACKAGE_HEADER = re.compile(r"^# \S+( \[\S+\])?$")


@dataclass(frozen=True)
class Origin:
    """Where a line of a generated file was written."""

    line: int  # as the notebook shows the cell: its first line (magic or %-line) is 1
    text: str  # the source line
    cell: str | None = None  # label of an earlier cell ("[3]"); None for the current cell
    caret: bool = True  # the generated line has the cell line's columns
    file: str | None = None  # the name go gives this line ("cell[3]"), with //line directives


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


def _lookup(path: str, lineno: int, table: LineTable) -> tuple[bool, Origin | None, bool]:
    """(known file, origin, exact) for a position go printed.

    A cell file (cell[3]) maps straight to its cell line; a generated file's
    line we wrote maps to the user's line just before it, without a caret.
    """
    path = path.removeprefix("./")
    if _is_cell_file(path):
        path = path.rsplit("/", 1)[-1]
    origins = table.get(path)
    if origins is None:
        return False, None, False
    origin = origins[lineno - 1] if 0 < lineno <= len(origins) else None
    if origin is not None or _is_cell_file(path):
        return True, origin, origin is not None
    before = [o for o in origins[: max(lineno - 1, 0)] if o is not None]
    return True, (before[-1] if before else None), False


def _is_cell_file(path: str) -> bool:
    """cell (the cell run) or cell[3] (another), the names linedirs.py gives cells."""
    name = path.rsplit("/", 1)[-1]
    return name == "cell" or (name.startswith("cell[") and name.endswith("]"))


def _where(origin: Origin) -> str:
    where = f"line {origin.line}"
    return f"cell {origin.cell}, {where}" if origin.cell is not None else where


def map_output(output: str, table: LineTable, roots: list[str]) -> list[Diagnostic]:
    """Diagnostics for go's stderr; `roots` are directory prefixes to strip from paths."""
    result: list[Diagnostic] = []
    for raw in output.splitlines():
        line = raw.rstrip()
        if not line or _PACKAGE_HEADER.match(line):
            continue  # "# gorun": the package header go prints before its errors
        line = strip_roots(line, roots)
        if _C_EXCERPT.match(line):
            continue  # the C compiler quoting the generated file: the cell line is quoted
        context = _C_CONTEXT.match(line)
        if context and _lookup(context.group("path"), 1, table)[0]:
            continue  # about a file of ours: the next line names the cell line itself
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
        col = int(m.group("col")) if m.group("col") else None
        msg = m.group("msg")
        known, origin, exact = _lookup(m.group("path"), int(m.group("line")), table)
        if not known:
            # A file we did not write (a module's source): go's own position
            # is meaningful to the user.
            result.append(Diagnostic(line, []))
            continue
        if origin is None:
            result.append(Diagnostic(msg, []))
            continue
        quote = [f"    {origin.text}"]
        caret = _caret_line(origin.text, col) if exact and origin.caret else None
        if caret:
            quote.append(f"    {caret}")
        result.append(Diagnostic(f"{_where(origin)}: {msg}", quote))
    return result


def strip_roots(line: str, roots: list[str]) -> str:
    """Paths inside the scratch module, relative to it."""
    for root in roots:
        line = line.replace(root.rstrip("/") + "/", "").replace(root.rstrip("/"), ".")
    return line


def _continuation(text: str, table: LineTable) -> str:
    """`main.go:10:6: other declaration of x` in the user's words."""
    m = _POSITION.match(text)
    if not m:
        return text
    known, origin, exact = _lookup(m.group("path"), int(m.group("line")), table)
    if not known:
        return text  # a file we did not write
    if not exact or origin is None:
        return f"(in code gorun generated): {m.group('msg')}"
    return f"{_where(origin)}: {m.group('msg')}"


def success_output(output: str, table: LineTable, roots: list[str]) -> str:
    """What go printed for a build that worked (-gcflags=-m, -ldflags=-v...), as go
    printed it, without the lines about code we generated and without progress
    lines about modules; paths in the scratch module relative to it."""
    kept: list[str] = []
    header: str | None = None  # "# pkg": shown only above a line that is kept
    skipping = False  # the continuation lines of a dropped message go too
    # A file entirely ours (the value helper) brings wrappers go calls <autogenerated>.
    ours = any(t and all(o is None for o in t) for t in table.values())
    for raw in output.splitlines():
        line = strip_roots(raw.rstrip(), roots)
        if line.startswith("# "):
            header, skipping = line, False
            continue
        if line.startswith(PROGRESS) or (ours and line.startswith("<autogenerated>:")):
            continue
        m = _POSITION.match(line)
        if m:
            known, _, exact = _lookup(m.group("path"), int(m.group("line")), table)
            skipping = known and not exact  # a line of ours (main's braces, the value helper)
        elif not line.startswith("\t"):
            skipping = False
        if skipping:
            continue
        if header is not None:
            kept.append(header)
            header = None
        kept.append(line)
    return "\n".join(kept)


# go's progress lines while it fetches modules: not what the user asked to see.
PROGRESS = ("go: finding ", "go: downloading ", "go: found ", "go: added ", "go: upgraded ",
             "go: extracting ")  # fmt: skip


def render(diags: list[Diagnostic]) -> list[str]:
    lines: list[str] = []
    for d in diags:
        lines.append(d.headline)
        lines.extend(d.quote)
    return lines


# A path in a session's scratch module, this session's or an earlier one's (a
# cached binary keeps the path it was built at): /tmp/gorun_kernel-0/session-x/main.go:10.
# A cell file (cell[3]) appears there when a tool made its name absolute (cgo).
_SCRATCH_POSITION = re.compile(
    r"/\S*?/session-[A-Za-z0-9_]+/(?:txtar/)?"
    r"(?P<path>[\w./ -]+?\.go|(?:[\w./ -]+/)?cell(?:\[[^\]\n:]*\])?):(?P<line>\d+)"
)
SCRATCH_POSITION = _SCRATCH_POSITION  # for the test report's panic traces


# Go's runtime on a panic: "panic: MESSAGE" at the start of a line of stderr, then
# the goroutine's trace ("goroutine 1 [running]:", frames), then exit status 2.
# With the world stopped: nothing else of the program's is printed meanwhile.
_PANIC_LINE = re.compile(r"(?:^|\n)panic: ")
_GOROUTINE = re.compile(r"(?m)^goroutine \d+ \[")
# How long words that may be the runtime's panic are held while the program is quiet
# before its trace: the runtime writes it at once, unless the machine is loaded.
PANIC_GRACE = 1.0  # seconds
_CELL_FRAME = re.compile(r"(?m)^\t(?P<file>cell(?:\[[^\]\n]*\])?):(?P<line>\d+)")


@dataclass(frozen=True)
class Panic:
    """A panic's words, as the runtime printed them (cell lines already mapped)."""

    text: str  # from "panic: " to the end of the trace
    shown: bool  # already written to stderr (else it is for the error's details)

    def headline(self, label: str | None) -> str:
        """`panic: not implemented (cell [2], line 3)`: its first line, and the first
        frame in a cell (`label` is the cell being run's)."""
        first = self.text.split("\n", 1)[0]
        frame = _CELL_FRAME.search(self.text)
        if frame is None:
            return first
        name, line = frame.group("file"), frame.group("line")
        cell = label if name == "cell" else name.removeprefix("cell")
        return f"{first} ({f'cell {cell}, ' if cell else ''}line {line})"

    def trace(self) -> list[str]:
        """The lines under the headline, for the error (none when already shown)."""
        return [] if self.shown else self.text.rstrip("\n").split("\n")[1:]


class TraceMapper:
    """Wraps a sink: panic and race traces name cell lines, never scratch paths.

    With //line directives (linedirs.py) the runtime itself names cell lines
    (`cell[3]:5`); what is left for this wrapper is where a directive cannot
    reach: a path in the scratch module (a file of ours, or a cell file that a
    tool made absolute) becomes `cell[3]:5`, or the file's own name. stderr is
    rewritten line by line. A partial line streams at once (a progress line
    such as "\\rstep 5"), unless it has a `/` and so may be the start of a
    scratch path: that part waits for the rest of its line, or for the run loop
    to be quiet (`idle`).

    A panic's words are held back from the runtime's "panic: " line on, to be
    the error's headline and trace (`panic`) rather than text above it; if the
    program goes on instead (it writes to stdout, shows something, asks for
    input, or is quiet before any goroutine trace), they are written as they were.
    """

    def __init__(self, sink: OutputSink, table: LineTable) -> None:
        self.sink = sink
        self.table = table
        self.tail = ""
        self.line_start = True  # stderr's next text starts a line
        self.panic_text: list[str] | None = None  # since a "panic: " line
        self.holding = False  # panic_text is not written yet
        self.held_at = 0.0  # when holding began (time.monotonic())

    def _where(self, m: re.Match[str]) -> str:
        path, n = m.group("path"), int(m.group("line"))
        if _is_cell_file(path):
            return f"{path.rsplit('/', 1)[-1]}:{n}"
        origins = self.table.get(path, [])
        origin = origins[n - 1] if 0 < n <= len(origins) else None
        if origin is None:
            return f"{path}:{n}"
        return f"{origin.file}:{origin.line}" if origin.file else _where(origin)

    def _release(self) -> None:
        if self.tail:
            self._write(_SCRATCH_POSITION.sub(self._where, self.tail))
            self.tail = ""

    def _write(self, text: str) -> None:
        """Mapped stderr text: written, or held from a panic's first line on."""
        if self.panic_text is None:
            m = _PANIC_LINE.search(text)
            if m is not None and (m.start() > 0 or self.line_start or text[0] == "\n"):
                start = m.start() + (text[m.start()] == "\n")
                if start:
                    self.sink.stderr(text[:start])
                self.panic_text, self.holding = [], True
                self.held_at = time.monotonic()
                text = text[start:]
        if self.panic_text is not None:
            self.panic_text.append(text)
        if not self.holding:
            self.sink.stderr(text)
        self.line_start = text.endswith("\n") if text else self.line_start

    def _let_go(self) -> None:
        """The program went on: held text was not the runtime's panic after all."""
        if self.holding:
            self.holding = False
            self.sink.stderr("".join(self.panic_text or []))

    def stdout(self, text: str) -> None:
        self._release()
        self._let_go()
        self.sink.stdout(text)

    def stderr(self, text: str) -> None:
        text = self.tail + text
        head, nl, self.tail = text.rpartition("\n")
        if "/" not in self.tail:
            head, nl, self.tail = text, "", ""  # no part of a path in the tail
        if head or nl:
            self._write(_SCRATCH_POSITION.sub(self._where, head + nl))

    def idle(self) -> None:
        """The program is quiet: what it wrote is all there is for now. Words that may
        be a panic's are let go after PANIC_GRACE without a goroutine trace (once the
        runtime prints one, it is dying: that is held to the end)."""
        self._release()
        if (
            self.holding
            and time.monotonic() - self.held_at > PANIC_GRACE
            and not _GOROUTINE.search("".join(self.panic_text or []))
        ):
            self._let_go()

    def input_wanted(self, prompt: str) -> str | None:
        self._release()
        self._let_go()
        return self.sink.input_wanted(prompt)

    def event(self, event: Event) -> None:
        self._release()  # in order: the stderr written before it comes first
        self._let_go()
        self.sink.event(event)

    def finish(self) -> None:
        """The program ended: its last partial line (a panic's words stay held)."""
        self._release()

    def panic(self, exit_status: int | None) -> Panic | None:
        """The runtime's panic, when the program died of one (exit status 2 after a
        goroutine trace); anything still held is written otherwise."""
        text = "".join(self.panic_text or [])
        trace = _GOROUTINE.search(text)
        if exit_status == 2 and trace is not None:
            # The last "panic: " line before the trace (a program may print one itself).
            lines = [m.end() - len("panic: ") for m in _PANIC_LINE.finditer(text, 0, trace.start())]
            return Panic(text[lines[-1] if lines else 0 :], shown=not self.holding)
        self._let_go()
        return None
