"""The run stage for test cells: a test binary -> its result table and an Outcome.

The binary (built by `go test -c`, through the executable cache) runs with
`-test.v=test2json`, as `go test -json` runs it, and its output goes through
go's own test2json (testconvert.py: from a pipe of ours, so that the binary's
exit status is ours to tell). test2json is built once from the toolchain's
`cmd/test2json` into the executable cache (recent toolchains do not ship it
prebuilt), so an unchanged test cell runs again with no go command at all.
The JSON events become a Report (testreport.py), the report a table
(testtable.py), shown through the sink as a rich display; a failing test
makes the cell a TestFailure. A binary that ended before its verdict (a
panic, os.Exit) gets a note saying how, and which tests did not run
(testending.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from gorun_kernel.build.gobuild import Builder, BuildJob, Built
from gorun_kernel.compose.compose import Composed
from gorun_kernel.diagnostics import LineTable
from gorun_kernel.errors import ExitError, TestFailure
from gorun_kernel.events import Display, Event, OutputSink
from gorun_kernel.gotest.benchstat import Comparison, compare
from gorun_kernel.gotest.convert import Converter
from gorun_kernel.gotest.ending import (
    ended_early,
    held_back,
    held_back_notes,
    list_tests,
    not_run,
    notes,
)
from gorun_kernel.gotest.flags import TestCommand
from gorun_kernel.gotest.report import Benchmark, EventReader, Report, where
from gorun_kernel.gotest.table import Table
from gorun_kernel.outcome import Outcome
from gorun_kernel.run.request import RunRequest
from gorun_kernel.run.runner import Program, Runner

COVER_FILE = ".gorun-cover"  # in the scratch module: the run's coverage profile
# A coverage profile's line; its file is a .go file or a cell's lines (cell[3], linedirs.py).
_PROFILE_LINE = re.compile(
    r"^(?P<file>\S+\.go|\S*cell(?:\[[^\]\s:]*\])?)"
    r":(?P<line>\d+)\.\d+,\d+\.\d+ (?P<n>\d+) (?P<c>\d+)$"
)


class TestRunner:
    """Runs a session's test binaries, and remembers its benchmarks for comparisons."""

    def __init__(self, builder: Builder, runner: Runner, scratch_path: Path) -> None:
        self.builder = builder
        self.runner = runner  # one without an output limit: the events must all arrive
        self.scratch_path = scratch_path
        self.history: dict[str, Benchmark] = {}  # each benchmark's latest run

    def run(
        self,
        built: Built,
        composed: Composed,
        tcmd: TestCommand,
        request: RunRequest,
        sink: OutputSink,
    ) -> Outcome:
        """Run the tests, show the table, say how it went (tcmd: go test's flags only;
        how the binary runs is the request's)."""
        t2j = self._test2json(request.env, sink)
        profile = self._profile(tcmd, request.cwd)
        flags = ["-test.v=test2json", "-test.paniconexit0", *self._defaults(composed, tcmd)]
        if profile is not None and tcmd.value("coverprofile") is None:
            flags.append(f"-test.coverprofile={profile}")
        reader = EventReader(composed.table)
        flags += tcmd.test_flags
        program = Program(built, [*flags, *tcmd.args])
        quiet = request.without_input()  # no input: tests read end of input
        converter = Converter(t2j, reader)
        try:
            outcome = self.runner.run(program, quiet, _Events(sink, converter))
        finally:
            converter.close()
        exited_ok = outcome.error is None or isinstance(outcome.error, ExitError)
        report = reader.finish(exited_ok)
        report.notes = self._ending(report, outcome, flags, built, request)
        outcome = verdict(outcome, report)
        # The notes on how the binary ended are said once: in the TestFailure (what
        # nbval and nbgrader see), else under the table.
        said = isinstance(outcome.error, TestFailure)
        table = Table(report, tcmd.verbose, self._compare(report), show_notes=not said)
        if profile is not None:
            table.coverage = coverage_words(profile, composed.table)
        if report.rows or report.benchmarks or report.package_output or table.coverage:
            sink.event(Display(table.bundle()))
        return outcome

    def _ending(
        self,
        report: Report,
        outcome: Outcome,
        flags: list[str],
        built: Built,
        request: RunRequest,
    ) -> list[str]:
        """Notes on a binary that ended before its verdict, or whose failing tests kept go
        from running others (-failfast, benchmarks): they list the binary's tests (only then)."""
        early = ended_early(report, outcome.returncode)
        if built.exe is None or not (early or held_back(report, flags)):
            return []
        argv = [*self.runner.exec_prefix(request), str(built.exe)]
        listed = list_tests(argv, request.env, request.cwd, self.runner.control)
        if early:
            return notes(report, outcome.returncode or 0, not_run(report, listed, flags))
        return held_back_notes(report, listed, flags)

    def _test2json(self, env: Mapping[str, str], sink: OutputSink) -> Path:
        """go's test2json, for this machine (not the tests' GOOS/GOARCH), from the cache."""
        goenv = self.builder.toolchain.goenv
        host = {
            **env, "GOOS": goenv.get("GOHOSTOS", ""), "GOARCH": goenv.get("GOHOSTARCH", ""),
            "CGO_ENABLED": "0", "GOFLAGS": "", "GOWORK": "off",
        }  # fmt: skip
        job = BuildJob(
            command="build",
            flags=["-trimpath", "-ldflags=-s -w"],
            packages=["cmd/test2json"],
            cwd=str(self.scratch_path),
            env=host,
            key_parts=lambda: {"kind": "tool", "package": "cmd/test2json"},
            what="go's cmd/test2json",
        )
        exe = self.builder.build(job, sink).exe
        assert exe is not None
        return exe

    def _profile(self, tcmd: TestCommand, cwd: str) -> Path | None:
        given = tcmd.value("coverprofile")
        if given is not None:
            return Path(cwd, given)
        if not tcmd.cover:
            return None
        path = self.scratch_path / COVER_FILE
        path.unlink(missing_ok=True)
        return path

    @staticmethod
    def _defaults(composed: Composed, tcmd: TestCommand) -> list[str]:
        """A cell that declares benchmarks runs them, unless -bench says which."""
        if "bench" not in tcmd.given and any(t.startswith("Benchmark") for t in composed.own_tests):
            return ["-test.bench=."]
        return []

    def _compare(self, report: Report) -> dict[str, list[Comparison]]:
        """Each benchmark against its previous run in this session; then remember this run."""
        out = {}
        for key, bench in report.benchmarks.items():
            before = self.history.get(key)
            if before is not None:
                out[key] = [
                    compare(u, before.values(u), bench.values(u))
                    for u in bench.units
                    if before.values(u) and bench.values(u)
                ]
            self.history[key] = bench
        return out


class _Events:
    """The sink the test binary writes to: its stdout and stderr go to test2json."""

    def __init__(self, sink: OutputSink, converter: Converter) -> None:
        self.sink = sink
        self.converter = converter

    def stdout(self, text: str) -> None:
        self.converter.write(text)

    def stderr(self, text: str) -> None:
        self.converter.write(text)

    def input_wanted(self, prompt: str) -> str | None:
        return None

    def event(self, event: Event) -> None:
        self.sink.event(event)


def verdict(outcome: Outcome, report: Report) -> Outcome:
    """The cell's Outcome: TestFailure when a test failed, else a one-line summary."""
    notes = report.notes  # `TestP panicked at line 3: boom`, `did not run: TestQ`
    tests = report.tests()
    benches = [r for r in report.rows if r.kind == "Benchmark"]
    failed = [r for r in [*tests, *benches] if r.status == "fail"]
    total = len(tests) + len(benches)
    noun = "test" if tests or not benches else "benchmark"
    error = outcome.error
    if error is not None and not isinstance(error, ExitError):
        return outcome  # a timeout, an interrupt, a signal: said in their own words
    if failed:
        names = ", ".join(r.name for r in failed[:10]) + (", ..." if len(failed) > 10 else "")
        details = [*notes, f"failed: {names}"]
        error = TestFailure(f"{len(failed)} of {_count(total, noun)} failed", details)
    elif error is not None or report.passed is False:
        words = error.message if error is not None else "FAIL"
        details = [*notes, *report.package_output[-20:]]
        error = TestFailure(f"the test binary failed ({words})", details)
    if error is not None:
        return replace(outcome, status=error.message, error=error)
    return replace(outcome, status=summary(report))


def summary(report: Report) -> str:
    tests = report.tests()
    benches = [r for r in report.rows if r.kind == "Benchmark"]
    if not tests and not benches:
        return "no tests to run"
    parts = []
    skipped = sum(r.status == "skip" for r in tests)
    if tests:
        passed = len(tests) - skipped
        parts.append(f"{_count(passed, 'test')} passed" if passed else "")
        parts.append(f"{skipped} skipped" if skipped else "")
    if benches:
        parts.append(f"{_count(len(benches), 'benchmark')} ran")
    return ", ".join(p for p in parts if p)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _cell_order(cell: str) -> tuple[int, int, str]:
    """`cell [9]` before `cell [10]`, cells without a number after, this cell last."""
    m = re.fullmatch(r"cell \[(\d+)\]", cell)
    if m:
        return 0, int(m.group(1)), cell
    return (2 if cell == "this cell" else 1), 0, cell


def coverage_words(profile: Path, table: LineTable) -> str | None:
    """Statement coverage of the session's code, per cell: from go's coverage profile."""
    try:
        text = profile.read_text()
    except OSError:
        return None
    blocks: dict[str, tuple[str, int, bool]] = {}  # a block may be listed more than once
    for line in text.splitlines()[1:]:
        m = _PROFILE_LINE.match(line)
        if not m:
            continue
        origins = table.get(m.group("file").rsplit("/", 1)[-1], [])
        n = int(m.group("line"))
        origin = origins[n - 1] if 0 < n <= len(origins) else None
        if origin is None:
            continue
        cell = where(origin).rsplit(", ", 1)[0] if origin.cell is not None else "this cell"
        block = line.rsplit(" ", 1)[0]
        ran = int(m.group("c")) > 0 or (block in blocks and blocks[block][2])
        blocks[block] = (cell, int(m.group("n")), ran)
    per: dict[str, list[int]] = {}
    for cell, n, ran in blocks.values():
        counts = per.setdefault(cell, [0, 0])
        counts[0] += n if ran else 0
        counts[1] += n
    covered, total = sum(c for c, _ in per.values()), sum(t for _, t in per.values())
    if not total:
        return "coverage: [no statements]"
    # In the cells' order: go lists a profile by file name, and cell[10] < cell[9].
    ordered = sorted(per.items(), key=lambda item: _cell_order(item[0]))
    cells = ", ".join(f"{cell} {c}/{t}" for cell, (c, t) in ordered)
    return f"coverage: {covered / total:.1%} of statements ({cells})"
