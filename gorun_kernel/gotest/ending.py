"""A test binary that ended before its verdict: what happened, in the user's words.

A panic ends the binary at once (the testing package reports the panicking
test, then re-panics), `os.Exit(3)` in a test ends it with no word at all,
and either way the tests after it never run, so test2json never names them.
go test says `exit status 3` and shows the panic; the table says it in a note:

    TestParse panicked at line 5: assignment to entry in nil map
    did not run: TestFormat, TestRound

    the test binary exited with status 3 during TestExit/sub

go also leaves tests out without a word when tests failed: -failfast stops at
the first failure, and benchmarks run only when every test passed. Those are
named too (`did not run (-failfast): ...`).

The tests that did not run are the binary's own list (`-test.list`, no go
command; asked only in this case) less those that started, filtered as the
run's -run, -skip and -bench filter them at the top level. When those filters
cannot be read that way (a pattern per subtest level, a regexp Python does not
take), the note says that the rest did not run, without names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gorun_kernel.gotest.report import Report
from gorun_kernel.proc.control import Control
from gorun_kernel.proc.process import ProcessSpec, run_process

LIST_TIMEOUT = 10.0  # seconds: listing runs the session's init functions (and a TestMain)
_PANIC = re.compile(r"^(panic|fatal error): (?P<what>.*?)(?: \[recovered(?:, repanicked)?\])*$")
# A trace's position in a cell: cell:5 (this cell) or cell[3]:2, as //line directives name it.
_CELL_FRAME = re.compile(r"^\s+(?:\S*/)?cell(?:\[(?P<label>[^\]\s:]*)\])?:(?P<line>\d+)(?:\s|$)")
# The same, where the report already named it (a scratch path: testreport.at_cell_lines).
_NAMED_FRAME = re.compile(r"^\s+(?P<where>(?:cell \S+, )?line \d+)(?: \+0x[0-9a-f]+)?$")
_KINDS = ("Test", "Example", "Fuzz", "Benchmark")


def ended_early(report: Report, returncode: int | None) -> bool:
    """The binary exited with a failure before saying PASS or FAIL."""
    return report.passed is None and bool(returncode) and returncode > 0


def held_back(report: Report, flags: list[str]) -> bool:
    """The tests failed and go left others out, saying nothing: -failfast stops at the
    first failure; benchmarks run only when every test passed."""
    if report.passed is not False:
        return False
    benched = any(r.kind == "Benchmark" for r in report.rows)
    bench = flag_value(flags, "bench") is not None and not benched
    return bench or _on(flag_value(flags, "failfast"))


def held_back_notes(report: Report, listed: list[str] | None, flags: list[str]) -> list[str]:
    missing = not_run(report, listed, flags) or []
    out = []
    failfast = [n for n in missing if not n.startswith("Benchmark")]
    if failfast and _on(flag_value(flags, "failfast")):
        out.append(f"did not run (-failfast): {_names(failfast)}")
    benches = [n for n in missing if n.startswith("Benchmark")]
    if benches:
        out.append(
            f"did not run: {_names(benches)} (go runs the benchmarks only when the tests pass)"
        )
    return out


def _on(value: str | None) -> bool:
    """A bool flag's value, as go's flag package reads it."""
    return value is not None and value.lower() not in ("false", "0", "f")


def _names(names: list[str]) -> str:
    return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")


def list_tests(
    argv: Sequence[str], env: dict[str, str], cwd: str, control: Control
) -> list[str] | None:
    """The binary's tests, examples, fuzz targets and benchmarks (argv: how it runs).

    Listing runs the session's init functions and a TestMain's code before
    m.Run, which may start processes: it runs supervised as every program does,
    stopped by the cell's interrupt."""
    try:
        spec = ProcessSpec(
            [*argv, "-test.list", ".*"], cwd, env, capture=True, timeout=LIST_TIMEOUT
        )
        res = run_process(spec, control)
    except OSError:
        return None
    if res.returncode != 0 or res.timed_out or res.interrupted:
        return None
    out = res.stdout.decode(errors="replace")
    # An init function of the session may print too: only names of the kinds listed.
    return [n for n in out.split() if n.startswith(_KINDS) and n.isidentifier()]


def flag_value(flags: list[str], name: str) -> str | None:
    """The last value of -test.name in the binary's flags."""
    found = None
    for f in flags:
        if f.startswith(f"-test.{name}="):
            found = f.split("=", 1)[1]
        elif f == f"-test.{name}":  # a bool flag, on
            found = "true"
    return found


def not_run(report: Report, listed: list[str] | None, flags: list[str]) -> list[str] | None:
    """The listed tests this run (the binary's flags) would have run and never started;
    None: not knowable."""
    if listed is None:
        return None
    try:
        run = _top_pattern(flag_value(flags, "run"))
        skip = _top_pattern(flag_value(flags, "skip"), whole=True)
        bench = _top_pattern(flag_value(flags, "bench"))
    except ValueError:
        return None
    started = {r.name.split("/", 1)[0] for r in report.rows}
    out = []
    for name in listed:
        if name in started or (skip is not None and skip.search(name)):
            continue
        if name.startswith("Benchmark"):
            if bench is not None and bench.search(name):
                out.append(name)
        elif run is None or run.search(name):
            out.append(name)
    return out


def _top_pattern(value: str | None, whole: bool = False) -> re.Pattern[str] | None:
    """A -run/-skip/-bench value's pattern for top-level names; ValueError if unreadable.

    whole: the pattern must have a single level (-skip A/B skips subtests of A, not A)."""
    if value is None:
        return None
    if "/" in value:
        if whole or "[" in value or "(" in value:
            raise ValueError(value)
        value = value.split("/", 1)[0]
    try:
        return re.compile(value)
    except re.error as e:
        raise ValueError(value) from e


def notes(report: Report, returncode: int, missing: list[str] | None) -> list[str]:
    """How the binary ended, and what did not run."""
    out = [_panic_words(report) or _exit_words(report, returncode)]
    if missing:
        out.append(f"did not run: {_names(missing)}")
    elif missing is None and report.rows:
        out.append("the tests after it did not run")
    return out


def _exit_words(report: Report, returncode: int) -> str:
    running = [n for n in report.cut if not any(c.startswith(n + "/") for c in report.cut)]
    if running:
        return f"the test binary exited with status {returncode} during {', '.join(running)}"
    if not report.rows:  # TestMain, or an init function
        return f"the test binary exited with status {returncode} before any test ran"
    return f"the test binary exited with status {returncode}"


def _panic_words(report: Report) -> str | None:
    """`TestX panicked at line 5: <what>`, from the first panic in the output."""
    places = [(r.name, r.output) for r in report.rows] + [("", report.package_output)]
    for name, lines in places:
        for i, line in enumerate(lines):
            m = _PANIC.match(line)
            if m is None:
                continue
            if m.group("what").startswith("test timed out after "):  # -timeout's alarm
                during = f" during {name}" if name else ""
                return f"the test binary's -timeout ended it{during}: {m.group('what')}"
            at = _first_cell_frame(lines[i + 1 :])
            verb = "panicked" if m.group(1) == "panic" else "failed fatally"
            who = name or "the test binary"
            return f"{who} {verb}{f' at {at}' if at else ''}: {m.group('what')}"
    return None


def _first_cell_frame(lines: list[str]) -> str | None:
    """The first cell position in the panicking goroutine's trace."""
    seen_goroutine = False
    for line in lines:
        if line.startswith("goroutine "):
            if seen_goroutine:
                return None  # the next goroutine's trace: not where it panicked
            seen_goroutine = True
        named = _NAMED_FRAME.match(line)
        if named:
            return named.group("where")
        m = _CELL_FRAME.match(line)
        if m:
            label = m.group("label")
            return (
                f"line {m.group('line')}"
                if label is None
                else f"cell [{label}], line {m.group('line')}"
            )
    return None
