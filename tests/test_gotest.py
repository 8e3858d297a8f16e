"""Test cells (%%gotest, %gotest, --vet) through a real kernel and the magic, real go test."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from kernel_client import Result, execute, start

import gorun_kernel

pytestmark = pytest.mark.e2e


def cell(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def table(r: Result) -> str:
    """The text form of the result table (the first display of a test cell)."""
    displays = r.of_type("display_data")
    assert displays, r.messages
    return displays[0]["data"]["text/plain"]


def status(r: Result) -> str:
    """The status line after the table, without its timing (`· build 0.52 s · run ...`)."""
    return r.of_type("display_data")[-1]["data"]["text/plain"].split(" · ")[0]


def error(r: Result) -> tuple[str, str]:
    content = r.reply["content"]
    return content["ename"], content["evalue"]


# -- through a real kernel -------------------------------------------------------------


def test_passing_cell_shows_the_table_and_a_one_line_summary(kc):
    assert execute(kc, "func gtDouble(x int) int { return 2 * x }").status == "ok"
    r = execute(
        kc,
        cell("""
            %%gotest
            func TestDouble(t *testing.T) {
                if got := gtDouble(2); got != 4 {
                    t.Errorf("got %d, want 4", got)
                }
            }

            func TestDoubleZero(t *testing.T) {
                if gtDouble(0) != 0 {
                    t.Error("not zero")
                }
            }
        """),
    )
    assert r.status == "ok", r.messages
    displays = r.of_type("display_data")
    assert len(displays) == 2  # the table, then the summary line
    lines = table(r).splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["PASS", "TestDouble"],
        ["PASS", "TestDoubleZero"],
    ]
    assert all(line.endswith("s") for line in lines)  # each with its time: 0.00s
    assert "<table" in displays[0]["data"]["text/html"]
    assert status(r) == "2 tests passed"


def test_failure_is_a_test_failure_at_the_cell_line_with_the_line_quoted(kc):
    execute(kc, "func gtTriple(x int) int { return 3 * x + 1 }")
    code = cell("""
        %%gotest
        func TestTriple(t *testing.T) {
            if got := gtTriple(2); got != 6 {
                t.Errorf("got %d, want 6", got)
            }
        }

        func TestTripleRuns(t *testing.T) {}
    """)
    r = execute(kc, code)
    assert r.status == "error"
    assert error(r) == ("TestFailure", "1 of 2 tests failed")
    text = table(r)
    assert text.splitlines()[:3] == [
        "FAIL  TestTriple      0.00s",
        "      line 4: got 7, want 6",
        '          t.Errorf("got %d, want 6", got)',
    ]
    assert "PASS  TestTripleRuns" in text
    (err,) = r.of_type("error")
    assert err["evalue"] == "1 of 2 tests failed"
    # The line form runs the session's tests again: the failure names its cell.
    n = r.reply["content"]["execution_count"]
    again = execute(kc, "%gotest -run TestTriple$")
    assert error(again) == ("TestFailure", "1 of 1 test failed")
    assert f"      cell [{n}], line 4: got 7, want 6" in table(again).splitlines()


def test_subtests_a_skipped_one_with_its_reason_and_v_and_short(kc):
    r = execute(
        kc,
        cell("""
            %%gotest -short -v
            func TestParts(t *testing.T) {
                t.Run("one", func(t *testing.T) { t.Log("one ran") })
                t.Run("two", func(t *testing.T) {
                    if testing.Short() {
                        t.Skip("not with -short")
                    }
                })
            }
        """),
    )
    assert r.status == "ok", r.messages
    assert table(r).splitlines() == [
        "PASS  TestParts  0.00s",
        "PASS    one      0.00s",  # indented under its test
        "      line 3: one ran",  # a passing test's log: shown with -v
        '          t.Run("one", func(t *testing.T) { t.Log("one ran") })',
        "SKIP    two      0.00s",
        "      line 6: not with -short",
        '          t.Skip("not with -short")',
    ]
    assert status(r) == "1 test passed, 1 skipped"


def test_a_panic_inside_a_test_fails_it_with_the_trace_at_cell_lines(kc):
    r = execute(
        kc,
        cell("""
            %%gotest
            func TestIndex(t *testing.T) {
                var s []int
                _ = s[3]
            }
        """),
    )
    assert error(r) == ("TestFailure", "1 of 1 test failed")
    text = table(r)
    assert text.startswith("FAIL  TestIndex")
    assert "panic: runtime error: index out of range [3] with length 0" in text
    assert "\tcell:4 +0x" in text  # the trace names the cell's line (//line directives)
    assert "session-" not in text and "gorun_test.go" not in text


def notes(r: Result) -> str:
    """The note on how the test binary ended: in the cell's error, under its headline
    (what nbval and nbgrader see), and said there only, not under the table too."""
    (err,) = r.of_type("error")
    lines = [line for line in err["traceback"][1:] if not line.startswith("failed: ")]
    for line in lines:
        assert line not in table(r), f"said twice: {line}"
    return "\n".join(lines)


def test_os_exit_in_a_test_says_the_exit_status_during_which_test_and_what_did_not_run(kc):
    r = execute(
        kc,
        cell("""
            %%gotest
            func TestGtBefore(t *testing.T) {}

            func TestGtExit(t *testing.T) {
                t.Run("inner", func(t *testing.T) { os.Exit(3) })
            }

            func TestGtAfter(t *testing.T) {}
        """),
    )
    assert error(r) == ("TestFailure", "1 of 2 tests failed")
    assert notes(r).splitlines() == [
        "the test binary exited with status 3 during TestGtExit/inner",
        "did not run: TestGtAfter",
    ]


def test_a_panic_says_where_and_names_the_tests_that_did_not_run(kc):
    r = execute(
        kc,
        cell("""
            %%gotest
            func TestGtFirst(t *testing.T) {}

            func TestGtPanic(t *testing.T) {
                var m map[string]int
                m["a"] = 1
            }

            func TestGtThird(t *testing.T) {}

            func Example_gtOut() {
                fmt.Println(1)
                // Output: 1
            }
        """),
    )
    assert error(r) == ("TestFailure", "1 of 2 tests failed")
    assert notes(r).splitlines() == [
        "TestGtPanic panicked at line 6: assignment to entry in nil map",
        "did not run: TestGtThird, Example_gtOut",
    ]
    assert "PASS  TestGtFirst" in table(r) and "TestGtThird" not in table(r).split("\n\n")[0]
    # Run again by the line form, -run choosing two: the panic names the cell it is in.
    n = r.reply["content"]["execution_count"]
    again = execute(kc, "%gotest -run TestGtPanic|TestGtThird")
    assert notes(again).splitlines() == [
        f"TestGtPanic panicked at cell [{n}], line 6: assignment to entry in nil map",
        "did not run: TestGtThird",
    ]


def test_the_timeout_flag_and_benchmarks_that_did_not_run_say_so(kc):
    r = execute(
        kc,
        cell("""
            %%gotest -timeout 300ms
            func TestGtSlow(t *testing.T) { time.Sleep(time.Minute) }

            func TestGtNext(t *testing.T) {}
        """),
    )
    assert error(r) == ("TestFailure", "1 of 1 test failed")
    assert notes(r).splitlines() == [
        "the test binary's -timeout ended it during TestGtSlow: test timed out after 300ms",
        "did not run: TestGtNext",
    ]
    # A failing test: go runs no benchmark at all, and says nothing of it.
    r = execute(
        kc,
        cell("""
            %%gotest -benchtime 1x
            func TestGtFails(t *testing.T) { t.Error("no") }

            func BenchmarkGtHeld(b *testing.B) {}
        """),
    )
    assert error(r) == ("TestFailure", "1 of 1 test failed")
    assert notes(r) == (
        "did not run: BenchmarkGtHeld (go runs the benchmarks only when the tests pass)"
    )
    # A benchmark that panics fails, with its panic; the next one never ran.
    r = execute(
        kc,
        cell("""
            %%gotest -benchtime 1x
            func BenchmarkGtBoom(b *testing.B) { panic("boom") }

            func BenchmarkGtLater(b *testing.B) {}
        """),
    )
    assert error(r) == ("TestFailure", "1 of 1 benchmark failed")
    assert table(r).startswith("FAIL  BenchmarkGtBoom\n      panic: boom\n")
    assert notes(r).splitlines() == [
        "BenchmarkGtBoom panicked at line 2: boom",
        "did not run: BenchmarkGtLater",
    ]


def test_an_example_with_wrong_output_fails_and_fuzz_seeds_run_as_go_test_runs_them(kc):
    r = execute(
        kc,
        cell("""
            %%gotest
            func Example_greeting() {
                fmt.Println("hello")
                // Output: hullo
            }

            func Example_good() {
                fmt.Println(1 + 1)
                // Output: 2
            }

            func FuzzLen(f *testing.F) {
                f.Add("ab")
                f.Fuzz(func(t *testing.T, s string) {
                    if len(s) != len([]byte(s)) {
                        t.Error("len")
                    }
                })
            }
        """),
    )
    assert error(r) == ("TestFailure", "1 of 3 tests failed")
    lines = table(r).splitlines()
    assert [line.split()[:2] for line in lines if not line.startswith(" ")] == [
        ["PASS", "FuzzLen"], ["PASS", "seed#0"], ["FAIL", "Example_greeting"],
        ["PASS", "Example_good"],
    ]  # fmt: skip
    at = lines.index(next(line for line in lines if line.startswith("FAIL  Example_greeting")))
    assert lines[at + 1 : at + 5] == ["      got:", "      hello", "      want:", "      hullo"]


def test_benchmarks_table_and_the_comparison_with_the_previous_run(kc):
    slow = cell("""
        %%gotest -benchtime 200x -count 4 -benchmem
        var gtSink int

        func BenchmarkGtSum(b *testing.B) {
            for b.Loop() {
                s := make([]int, 64)
                for i := range 20000 {
                    s[i%64] += i
                }
                gtSink = s[0]
            }
        }
    """)
    r = execute(kc, slow)
    assert r.status == "ok", r.messages
    head, row = table(r).splitlines()
    assert head.split() == ["benchmark", "runs", "ns/op", "B/op", "allocs/op"]
    cells = row.split()
    assert cells[0].startswith("BenchmarkGtSum") and cells[1] == "4x200"
    assert status(r) == "1 benchmark ran"
    # After an edit that makes it much faster: the change, as benchstat says it.
    fast = slow.replace("range 20000", "range 2")
    r = execute(kc, fast)
    head, row = table(r).splitlines()
    assert head.split()[-4:] == ["allocs/op", "vs", "previous", "run"]
    assert "% (p=0.029 n=4)" in row and row.split("  ")[-1].startswith("-")


def test_vet_findings_at_cell_lines_above_the_output(kc):
    r = execute(kc, '%%gorun --vet\nfmt.Printf("%d\\n", "x")')
    assert r.status == "ok"
    streams = [(c["name"], c["text"]) for t, c in r.messages if t == "stream"]
    assert streams[0][0] == "stderr" and streams[-1] == ("stdout", "%!d(string=x)\n")
    vet = r.stream("stderr")
    assert vet.startswith('go vet: line 2: fmt.Printf format %d has arg "x" of wrong type string\n')
    assert '    fmt.Printf("%d\\n", "x")\n' in vet
    assert (
        execute(kc, '%vet on\nfmt.Printf("%s\\n", 3)')
        .stream("stderr")
        .startswith("go vet: line 2: fmt.Printf format %s has arg 3 of wrong type int")
    )
    r = execute(kc, '%vet off\nfmt.Printf("%s\\n", 4)')
    assert r.stream("stderr") == "" and r.stream() == "vet: off\n%!s(int=4)\n"


def test_cells_that_cannot_be_test_cells_say_why(kc):
    r = execute(kc, "%%gotest\nfunc TestA(t *testing.T) {}\nfmt.Println(1)")
    assert error(r) == (
        "CellError",
        "line 3: a test cell holds declarations (Test, Benchmark, Fuzz and Example functions "
        "and their helpers); put statements inside a test function",
    )
    r = execute(kc, "%%gotest -fuzz FuzzX\nfunc FuzzX(f *testing.F) {}")
    assert error(r)[0] == "UsageError" and "Fuzz functions run their seed corpus" in error(r)[1]
    assert error(execute(kc, "%%gotest ./pkg"))[0] == "UsageError"
    assert error(execute(kc, "%gotest\nfunc TestB(t *testing.T) {}"))[0] == "UsageError"
    # A compile error in a test cell is a build error at its line, as for any cell.
    r = execute(kc, "%%gotest\nfunc TestC(t *testing.T) { t.Errorf(nope) }")
    assert error(r) == ("BuildError", "line 2: undefined: nope")


def test_an_unchanged_test_cell_reruns_with_no_go_command(tmp_path, monkeypatch):
    """A fresh kernel whose go is a wrapper that logs when each go command starts and ends."""
    log = tmp_path / "go-calls.log"
    real_go = shutil.which("go") or pytest.skip("needs go on PATH")
    wrapper = tmp_path / "go"
    wrapper.write_text(
        f'#!/bin/sh\necho "start $1" >> "{log}"\n"{real_go}" "$@"\nrc=$?\n'
        f'echo "end $1" >> "{log}"\nexit $rc\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("GORUN_GO", str(wrapper))
    km, kc = start()
    try:
        code = "%%gotest --vet\nfunc TestOnce(t *testing.T) { t.Log(1) }"
        assert execute(kc, code).status == "ok"
        calls = log.read_text().splitlines()
        # go vet ran alongside go test -c: each started before the other ended.
        assert calls.index("start vet") < calls.index("end test")
        assert calls.index("start test") < calls.index("end vet")
        r = execute(kc, code)
        assert r.status == "ok" and table(r).startswith("PASS  TestOnce")
        assert log.read_text().splitlines() == calls  # no go command at all
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


# -- through the magic -----------------------------------------------------------------


@pytest.fixture
def run(ip, capsys):
    """run(cell) through the real IPython shell, counted as a notebook counts cells."""

    def _run(code: str):
        capsys.readouterr()
        result = ip.run_cell(code, store_history=True)
        out, err = capsys.readouterr()
        return result, out, err

    return _run


def test_magic_failing_test_cell_raises_test_failure(run):
    result, _, _ = run("%%gorun\nfunc gtSub(a, b int) int { return a + b }")
    assert result.success
    result, out, _ = run(
        cell("""
            %%gotest
            func TestSub(t *testing.T) {
                if got := gtSub(3, 1); got != 2 {
                    t.Fatalf("gtSub(3, 1) = %d, want 2", got)
                }
            }
        """)
    )
    assert isinstance(result.error_in_exec, gorun_kernel.TestFailure)
    assert str(result.error_in_exec) == "1 of 1 test failed"
    assert "FAIL  TestSub  0.00s\n      line 4: gtSub(3, 1) = 4, want 2\n" in out
    assert "TestFailure: 1 of 1 test failed" in out  # rendered, not a Python traceback
    result, out, _ = run("%gotest -run XYZ")
    assert result.success and out.split(" · ")[0] == "no tests to run"


def test_magic_tests_in_ordinary_cells_leave_programs_alone_and_run_with_the_tests(run):
    result, out, _ = run(
        cell("""
            %%gorun
            func gtMax(a, b int) int { if a > b { return a }; return b }
            func TestMaxLoose(t *testing.T) {
                if gtMax(1, 2) != 2 { t.Error("max") }
            }
            fmt.Println(gtMax(4, 5))
        """)
    )
    assert result.success and out.startswith("5\n")  # no "testing" import in the program
    result, out, _ = run("%%gotest\nfunc TestMaxAgain(t *testing.T) { _ = gtMax(1, 1) }")
    assert result.success
    assert out.splitlines()[:2] == ["PASS  TestMaxLoose  0.00s", "PASS  TestMaxAgain  0.00s"]
    result, out, _ = run('%%gorun\nfmt.Println("still a program")')
    assert result.success and out.startswith("still a program\n")


def test_magic_cover_reports_the_sessions_statements_per_cell(run):
    result, _, _ = run(
        cell("""
            %%gorun
            func gtSign(x int) string {
                if x < 0 {
                    return "-"
                }
                return "+"
            }
        """)
    )
    run("%%gorun\nfunc gtUnused() int { return 7 }")
    result, out, _ = run("%%gotest -cover\nfunc TestSign(t *testing.T) { _ = gtSign(1) }")
    assert result.success, out
    m = re.search(r"coverage: 50.0% of statements \(cell \[(\d+)\] 2/3, cell \[(\d+)\] 0/1\)", out)
    assert m, out  # gtSign ran one of its branches; gtUnused never ran
    assert int(m.group(2)) == int(m.group(1)) + 1


def test_magic_unchanged_test_cell_runs_no_go_command(run, tmp_path, monkeypatch):
    log = tmp_path / "go-calls.log"
    real_go = shutil.which("go") or pytest.skip("needs go on PATH")
    wrapper = tmp_path / "go"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real_go}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("GORUN_GO", str(wrapper))
    code = "%%gotest -count 2\nfunc TestTwice(t *testing.T) {}"
    result, out, _ = run(code)
    assert result.success and out.startswith("PASS  TestTwice (2 runs)")
    calls = Path(log).read_text().splitlines()
    result, out, _ = run(code)
    assert result.success and out.startswith("PASS  TestTwice (2 runs)")
    assert Path(log).read_text().splitlines() == calls
    # The line form names the test cell's lines by its label (cell[N]:3, where the
    # cell itself says cell:3, see linedirs.py): one build, then the same binary.
    result, _, _ = run("%gotest -count 2")
    assert result.success
    calls = Path(log).read_text().splitlines()
    result, _, _ = run("%gotest -count 2")
    assert result.success and Path(log).read_text().splitlines() == calls


def test_magic_failfast_a_failing_test_main_and_output_without_a_newline(run):
    result, out, _ = run(
        cell("""
            %%gotest -failfast
            func TestFf1(t *testing.T) { t.Error("first") }

            func TestFf2(t *testing.T) {}

            func TestFf3(t *testing.T) {}
        """)
    )
    assert str(result.error_in_exec) == "1 of 1 test failed"
    # go says nothing of them; the error does, once (not under the table too)
    assert "TestFailure: 1 of 1 test failed\ndid not run (-failfast): TestFf2, TestFf3\n" in out
    assert out.count("did not run") == 1
    # Output that does not end its line, then the test's end: two lines, as go prints them.
    code = '%%gotest -v -run TestNoNl\nfunc TestNoNl(t *testing.T) { fmt.Print("no newline") }'
    result, out, _ = run(code)
    assert result.success
    assert out.startswith("PASS  TestNoNl  0.00s\n      no newline\n1 test passed"), out
    # A TestMain that exits before m.Run: no test ran, and the table says why.
    result, out, _ = run(
        cell("""
            %%gotest
            func TestMain(m *testing.M) {
                fmt.Println("setup failed")
                os.Exit(5)
            }
        """)
    )
    assert str(result.error_in_exec) == "the test binary failed (exit status 5)"
    assert out.startswith("setup failed\n"), out
    assert "(exit status 5)\nthe test binary exited with status 5 before any test ran\n" in out


def test_listing_the_tests_that_did_not_run_leaves_nothing_running(tmp_path):
    # Naming the tests a panic kept from running runs the binary again (-test.list),
    # and with it a TestMain's code before m.Run: what that starts ends with the cell.
    from test_sessions import running, wait_gone

    pids = tmp_path / "pids"
    km, kc = start()
    try:
        r = execute(
            kc,
            cell(f"""
                %%gotest
                func TestMain(m *testing.M) {{
                    c := exec.Command("sleep", "1033")
                    c.SysProcAttr = &syscall.SysProcAttr{{Setsid: true}}
                    if err := c.Start(); err != nil {{
                        panic(err)
                    }}
                    f, _ := os.OpenFile({str(pids)!r}, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
                    fmt.Fprintln(f, c.Process.Pid)
                    f.Close()
                    os.Exit(m.Run())
                }}

                func TestLsPanic(t *testing.T) {{ panic("boom") }}

                func TestLsAfter(t *testing.T) {{}}
            """).replace("'", '"'),
        )
        assert error(r)[0] == "TestFailure"
        assert "did not run: TestLsAfter" in notes(r).splitlines()
        started = [int(p) for p in pids.read_text().split()]
        assert len(started) == 2  # the run, and the listing
        assert all(wait_gone(p) for p in started), [p for p in started if running(p)]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
