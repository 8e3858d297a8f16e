"""go test's JSON events -> a report: a row per test and subtest, the benchmarks, the rest.

The test binary runs under go's test2json (see `go doc cmd/test2json`), which
turns its output into events: run, pass, fail, skip, output, each naming its
test, with elapsed times. Events are read, never go's text: only what the
events carry as text is read here, in formats the testing package defines —
`file.go:12: message` in a test's log, and benchmark result lines (the
format benchstat reads, golang.org/design/14313-benchmark-format).

Positions in messages and panic traces name cell lines ("line 7", "cell [3],
line 2") through the line table of the composed files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from gorun_kernel.diagnostics import SCRATCH_POSITION, LineTable, Origin

MAX_LINES = 200  # lines of output kept per test; the rest are counted
Status = str  # "pass", "fail", "skip"; "run" while running (never finished: it failed)

_FRAME = re.compile(r"^\s*(=== (RUN|PAUSE|CONT|NAME|ARTIFACTS)\b|--- (PASS|FAIL|SKIP|BENCH): )")
# t.Error's position: a file, or a cell's lines as //line directives name them (cell:7).
_MESSAGE = re.compile(
    r"^(?P<indent>\s*)(?P<file>[\w.-]+\.go|cell(?:\[[^\]\s:]*\])?):(?P<line>\d+): (?P<msg>.*)$"
)
# A test's end, as the testing package frames it: --- FAIL: TestX/sub (0.00s)
_END = re.compile(r"^\s*--- (?P<status>PASS|FAIL|SKIP): (?P<name>\S+) \((?P<secs>[\d.]+)s\)")
_BENCH = re.compile(
    r"^(?P<name>Benchmark\S*?)(?:-(?P<procs>\d+))?\s+(?P<n>\d+)(?P<rest>(?:\s+\S+ \S+)+)\s*$"
)
_METRIC = re.compile(r"([-+\d.eE]+|NaN|[-+]?Inf) (\S+)")
# Lines of the package's own output that the report says in its own way.
_PACKAGE_NOISE = re.compile(r"^(goos|goarch|pkg|cpu): |^(PASS|FAIL|ok\s.*)$|^coverage: ")
NO_TESTS = "testing: warning: no tests to run"


@dataclass
class Row:
    """One test, subtest, example, fuzz seed run, or benchmark."""

    name: str  # go's name: TestSub/b_c
    status: Status = "run"
    elapsed: float | None = None
    output: list[str] = field(default_factory=list)  # its own lines, at cell lines
    dropped: int = 0  # lines over MAX_LINES
    runs: int = 1  # -count n: how many times it ran
    ended: str = ""  # the status its end frame said ("fail"), before any event did

    @property
    def depth(self) -> int:
        return self.name.count("/")

    @property
    def short(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def kind(self) -> str:
        for prefix in ("Benchmark", "Example", "Fuzz"):
            if self.name.startswith(prefix):
                return prefix
        return "Test"


@dataclass
class Benchmark:
    """A benchmark's results, one sample per run (-count n)."""

    name: str  # without the -GOMAXPROCS suffix
    procs: int | None
    iterations: list[int] = field(default_factory=list)
    samples: list[dict[str, float]] = field(default_factory=list)  # unit -> value

    def values(self, unit: str) -> list[float]:
        return [s[unit] for s in self.samples if unit in s]

    @property
    def units(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.samples:
            seen.update(dict.fromkeys(s))
        return list(seen)


@dataclass
class Report:
    rows: list[Row]
    benchmarks: dict[str, Benchmark]
    package_output: list[str]  # what the binary printed outside any test
    passed: bool | None  # the package's verdict; None when the binary never said
    cut: list[str] = field(default_factory=list)  # tests running when the binary ended
    notes: list[str] = field(default_factory=list)  # how the binary ended, when it ended early

    def tests(self) -> list[Row]:
        """The rows that count as tests: leaves, and parents that failed on their own."""
        rows = [r for r in self.rows if r.kind != "Benchmark"]
        out = []
        for r in rows:
            kids = [k for k in rows if k.name.startswith(r.name + "/")]
            if not kids or (r.status == "fail" and all(k.status != "fail" for k in kids)):
                out.append(r)
        return out


class EventReader:
    """Reads test2json's stream (fed in chunks, as it arrives) into a Report."""

    def __init__(self, table: LineTable) -> None:
        self.table = table
        self.rows: list[Row] = []
        self.current: dict[str, Row] = {}  # name -> its latest row (-count runs it again)
        self.benchmarks: dict[str, Benchmark] = {}
        self.package_output: list[str] = []
        self.passed: bool | None = None
        self.partial = ""
        self.partial_output: dict[str, str] = {}  # test -> an output line not yet ended
        self.framed_time: dict[str, float] = {}  # test -> the time its end frame said

    def feed(self, text: str) -> None:
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in lines:
            self._line(line)

    def finish(self, exited_ok: bool) -> Report:
        if self.partial:
            self._line(self.partial)
            self.partial = ""
        for test, text in list(self.partial_output.items()):
            self._output(test, text + "\n", None)
        cut = []
        for row in self.rows:
            if row.status == "run":
                # A benchmark has no pass event of its own; a test whose end was
                # framed (a panic in it: --- FAIL, then the trace) ended there;
                # anything else that never ended was cut short (os.Exit, a panic
                # elsewhere, a timeout, a kill).
                ok = row.kind == "Benchmark" and exited_ok and self.passed is True
                row.status = "pass" if ok else "fail"
                if row.ended and row.elapsed is None:
                    row.elapsed = self.framed_time.get(row.name)
                if not ok and not row.ended:
                    row.output.append("(did not finish)")
                    cut.append(row.name)
        return Report(self.rows, self.benchmarks, self.package_output, self.passed, cut)

    def _line(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            # Not test2json's: its own complaint, say. Keep it to show.
            if line.strip():
                self.package_output.append(line)
            return
        action = event.get("Action")
        test = event.get("Test") or ""
        if action == "run" and test:
            row = self.current.get(test)
            if row is None:
                self.current[test] = row = Row(test)
                self.rows.append(row)
            else:  # -count n runs it again: one row, the worst status, the total time
                row.runs += 1
                row.status = "fail" if row.status == "fail" else "run"
                row.ended = ""
        elif action == "output":
            self._output(test, str(event.get("Output", "")), event.get("OutputType"))
        elif action in ("pass", "fail", "skip"):
            elapsed = float(event.get("Elapsed") or 0)  # omitted when 0
            if not test:
                self.passed = action != "fail"
            elif test in self.current:
                row = self.current[test]
                row.status = "fail" if row.status == "fail" else action
                row.elapsed = (row.elapsed or 0) + elapsed

    def _output(self, test: str, text: str, kind: str | None) -> None:
        # test2json splits long lines: put them back together first. A frame
        # is a line of its own, even after output that did not end its line
        # (fmt.Print("x") and then the test's --- PASS).
        pending = self.partial_output.pop(test, "")
        if pending and _FRAME.match(text):
            self._output(test, pending + "\n", None)
            pending = ""
        text = pending + text
        if not text.endswith("\n") and kind != "frame":
            self.partial_output[test] = text
            return
        line = text.rstrip("\n")
        if kind == "frame" or _FRAME.match(line):
            end = _END.match(line)
            row = self.current.get(end.group("name")) if end else None
            if end and row is not None:
                row.ended = end.group("status").lower()
                self.framed_time[row.name] = float(end.group("secs"))  # its event may not come
            return
        bench = _BENCH.match(line)
        if bench:
            self._benchmark(bench)
            return
        row = self.current.get(test) if test else None
        if row is None:
            if (
                line.strip() != NO_TESTS
                and not _PACKAGE_NOISE.match(line)
                and not (line.startswith("Benchmark") and " " not in line)
            ):
                self.package_output.extend(at_cell_lines(line, self.table))
            return
        if row.kind == "Benchmark" and line.strip() == row.name.rsplit("/", 1)[-1]:
            return  # -v echoes a benchmark's name before its result
        for indent in ("    " * (row.depth + 1), "    "):  # go indents a subtest's or not
            if line.startswith(indent):
                line = line[len(indent) :]
                break
        if len(row.output) >= MAX_LINES:
            row.dropped += 1
        else:
            row.output.extend(at_cell_lines(line, self.table))

    def _benchmark(self, m: re.Match[str]) -> None:
        name = m.group("name")
        procs = int(m.group("procs")) if m.group("procs") else None
        key = f"{name}-{procs}" if procs else name  # -cpu 1,2: one benchmark per GOMAXPROCS
        bench = self.benchmarks.setdefault(key, Benchmark(name, procs))
        bench.iterations.append(int(m.group("n")))
        bench.samples.append({unit: float(v) for v, unit in _METRIC.findall(m.group("rest"))})


def where(origin: Origin) -> str:
    """A cell line in the words of build errors: "line 7", "cell [3], line 2"."""
    return (
        f"line {origin.line}" if origin.cell is None else f"cell {origin.cell}, line {origin.line}"
    )


def _origin(table: LineTable, path: str, line: int) -> Origin | None:
    origins = table.get(path.rsplit("/", 1)[-1], [])
    return origins[line - 1] if 0 < line <= len(origins) else None


def at_cell_lines(line: str, table: LineTable) -> list[str]:
    """A line of a test's output with its positions at cell lines.

    `gorun_test.go:12: got 3, want 4` (t.Error's) becomes `line 7: got 3, want 4`
    followed by the cell's line, quoted; a panic trace's scratch path becomes
    `line 7`.
    """
    m = _MESSAGE.match(line)
    if m:
        origin = _origin(table, m.group("file"), int(m.group("line")))
        if origin is not None:
            indent = m.group("indent")
            return [
                f"{indent}{where(origin)}: {m.group('msg')}",
                f"{indent}    {origin.text.strip()}",
            ]

    def trace(t: re.Match[str]) -> str:
        origin = _origin(table, t.group("path"), int(t.group("line")))
        return where(origin) if origin is not None else t.group(0)

    return [SCRATCH_POSITION.sub(trace, line)]
