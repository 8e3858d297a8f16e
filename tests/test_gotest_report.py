"""gotest/report.py and table.py: go test's JSON events -> a report and its table (pure).

The events in tests/data/gotest/ are go's own, made as a test cell's run makes them:
the test binary of gt_test.go.txt (renamed so that nothing builds it) run with
-test.v=test2json, its output through the toolchain's cmd/test2json (go1.26):
`-test.count=1` for tests.jsonl, `-test.run '^$' -test.bench Sum -test.benchtime
100x -test.count 2` for bench.jsonl.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gorun_kernel.diagnostics import Origin
from gorun_kernel.gotest.report import EventReader, Report, at_cell_lines
from gorun_kernel.gotest.table import Table

DATA = Path(__file__).parent / "data" / "gotest"
SOURCE = (DATA / "gt_test.go.txt").read_text().split("\n")
# As if gt_test.go were a test cell's file: its line N is the cell's line N - 5.
TABLE = {"gt_test.go": [Origin(n - 5, text) if n > 5 else None for n, text in enumerate(SOURCE, 1)]}


def read(name: str, chunk: int | None = None) -> Report:
    text = (DATA / name).read_text()
    reader = EventReader(TABLE)
    step = chunk or len(text)
    for i in range(0, len(text), step):  # as the events arrive: in pieces
        reader.feed(text[i : i + step])
    return reader.finish(exited_ok=name == "bench.jsonl")


@pytest.mark.parametrize("chunk", [None, 1, 7, 100])
def test_statuses_of_tests_subtests_and_skips_however_the_events_arrive(chunk):
    report = read("tests.jsonl", chunk)
    statuses = {r.name: r.status for r in report.rows}
    assert statuses == {
        "TestPass": "pass",
        "TestFail": "fail",
        "TestSkip": "skip",
        "TestSub": "fail",
        "TestSub/ok": "pass",
        "TestSub/bad": "fail",
        "TestPrints": "pass",
    }
    assert report.passed is False and report.cut == []
    # A parent that failed only through its subtest is no test row of its own.
    assert [r.name for r in report.tests() if r.status == "fail"] == ["TestFail", "TestSub/bad"]


def test_messages_are_at_cell_lines_with_the_line_quoted():
    rows = {r.name: r for r in read("tests.jsonl").rows}
    fail = rows["TestFail"].output
    assert fail[0] == "line 6: got 3, want 4"  # gt_test.go:11, the cell's line 6
    assert 't.Error("got 3, want 4")' in fail[1]
    assert rows["TestSub/bad"].output[0] == "line 16: sub 7"
    assert rows["TestSkip"].output[0] == "line 10: needs a network"
    assert rows["TestPrints"].output == ["no newline"]  # a line of its own before the frame


def test_benchmark_samples_of_every_run_with_their_procs():
    report = read("bench.jsonl")
    assert report.passed is True
    (bench,) = report.benchmarks.values()
    assert (bench.name, bench.iterations) == ("BenchmarkSum", [100, 100])
    assert bench.units == ["ns/op"] and len(bench.values("ns/op")) == 2
    assert report.package_output == []  # goos, pkg, cpu, PASS, ok: said by the table


def test_a_binary_that_ended_mid_test_cuts_the_test_short():
    lines = (DATA / "tests.jsonl").read_text().splitlines()
    upto = next(i for i, line in enumerate(lines) if '"Test":"TestSkip"' in line)
    reader = EventReader(TABLE)
    reader.feed("\n".join(lines[: upto + 1]) + "\n")  # TestSkip ran, nothing after
    report = reader.finish(exited_ok=False)
    assert report.cut == ["TestSkip"] and report.passed is None
    skip = next(r for r in report.rows if r.name == "TestSkip")
    assert skip.status == "fail" and skip.output[-1] == "(did not finish)"


TESTS_TABLE = """\
PASS  TestPass    0.00s
FAIL  TestFail    0.00s
      line 6: got 3, want 4
          t.Error("got 3, want 4")
SKIP  TestSkip    0.00s
      line 10: needs a network
          t.Skip("needs a network")
FAIL  TestSub     0.00s
PASS    ok        0.00s
FAIL    bad       0.00s
      line 16: sub 7
          t.Errorf("sub %d", 7)
PASS  TestPrints  0.00s"""


def test_the_table_text_lists_each_row_and_shows_only_failing_output():
    assert Table(read("tests.jsonl")).text() == TESTS_TABLE
    verbose = Table(read("tests.jsonl"), verbose=True).text()
    assert "PASS  TestPrints  0.00s\n      no newline" in verbose  # -v: passing output too


def test_the_benchmark_table_has_a_row_per_benchmark_with_its_runs():
    header, row = Table(read("bench.jsonl")).text().splitlines()
    assert header.split() == ["benchmark", "runs", "ns/op"]
    assert row.split()[:2] == ["BenchmarkSum-2", "2x100"]


def test_a_position_outside_the_line_table_stays_as_go_wrote_it():
    assert at_cell_lines("    other.go:3: boom", TABLE) == ["    other.go:3: boom"]
