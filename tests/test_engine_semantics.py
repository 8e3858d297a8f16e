"""Engine semantics in process (tests/engine_tier.py): joins, faults, timeouts, memory,
stdin, with a recording sink, no kernel and no ZMQ.

Moved here from kernel tests that only checked what the engine decides (the
test names are the same): test_faults.py, test_run_faults.py and
test_session_joins.py keep the tests of what the kernel and the magic add
(replies, IOPub, interrupts, session commands, the magic's own mapping).
"""

from __future__ import annotations

import pytest
from engine_tier import failure, run
from test_sessions import wait_gone

pytestmark = pytest.mark.e2e


def shown_error(outcome) -> str:
    """The error as the notebook shows it: its headline and details (a panic's trace)."""
    return "\n".join(outcome.error.render()) if outcome.error is not None else ""


def ok(engine, code: str, flags: str = "", **kw):
    outcome, sink = run(engine, code, flags, **kw)
    assert outcome.error is None, (failure(outcome), sink.chunks)
    return outcome, sink


def declared(engine) -> list[str]:
    return [name for name, _, _ in engine.declarations()]


# -- faults (from test_faults.py) ------------------------------------------------------

STUBBORN = """
signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
fmt.Println("ignoring", os.Getpid())
for {}
"""

CHILDREN = """
c := exec.Command("sleep", "1000")
if err := c.Start(); err != nil { panic(err) }
fmt.Println("child", c.Process.Pid)
"""


def test_a_program_ignoring_signals_is_killed_on_timeout(go_engine):
    outcome, sink = run(go_engine, STUBBORN, "--timeout 1")
    assert failure(outcome)[0] == "RunTimeout"
    assert wait_gone(int(sink.text().split()[1]))


def test_children_of_a_timed_out_program_are_killed(go_engine):
    outcome, sink = run(go_engine, CHILDREN + "for {}", "--timeout 1")
    assert failure(outcome)[0] == "RunTimeout"
    assert wait_gone(int(sink.text().split()[1]))


def test_children_left_behind_by_a_finished_program_are_killed(go_engine):
    _, sink = ok(go_engine, CHILDREN)
    assert wait_gone(int(sink.text().split()[1]))


@pytest.mark.parametrize(
    ("code", "ename", "evalue", "stderr"),
    [
        (
            "func f(n int) int { return f(n+1) + 1 }\nf(0)",
            "ExitError",
            "exit status 2",
            "fatal error: stack overflow",
        ),
        ("syscall.Kill(syscall.Getpid(), syscall.SIGKILL)", "SignalError", "signal: killed", ""),
        (
            "var p *int\nfmt.Println(*p)",
            "GoPanic",
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "[signal SIGSEGV: segmentation violation",
        ),
    ],
)
def test_crashes_are_reported_in_gos_words(go_engine, code, ename, evalue, stderr):
    outcome, sink = run(go_engine, code)
    if ename == "GoPanic":  # the panic's words, and where: the cell's line 2
        evalue += f" (cell [{go_engine.session.cells}], line 2)"
    assert failure(outcome) == (ename, evalue)
    assert stderr in sink.text("stderr") + shown_error(outcome)
    assert ok(go_engine, "1 + 1")[0].value == "2"


def test_exit_0_from_a_goroutine(go_engine):
    code = 'done := make(chan bool)\ngo func() { fmt.Println("bye"); os.Exit(0) }()\n<-done'
    assert ok(go_engine, code)[1].text() == "bye\n"


def test_a_program_that_closes_its_stdout(go_engine):
    code = (
        'fmt.Println("before")\nos.Stdout.Close()\nfmt.Println("lost")\n'
        'fmt.Fprintln(os.Stderr, "still here")'
    )
    _, sink = ok(go_engine, code)
    assert sink.text() == "before\n" and sink.text("stderr") == "still here\n"


def test_one_enormous_line_without_a_newline(go_engine):
    _, sink = ok(go_engine, 'os.Stdout.WriteString(strings.Repeat("y", 20<<20))')
    assert set(sink.text()) == {"y"} and len(sink.text()) == 4 << 20
    assert "20,971,520" not in sink.text("stderr")  # the note counts what was dropped
    assert f"{(20 << 20) - (4 << 20):,} bytes" in sink.text("stderr")


def test_invalid_utf8_and_nul_bytes(go_engine):
    _, sink = ok(go_engine, "os.Stdout.Write([]byte{0x61, 0xff, 0x00, 0x62, 0x0a})")
    assert sink.text() == "a\ufffd\ufffdb\n"


def test_a_ten_thousand_line_cell(go_engine):
    lines = [f"var v{i} = {i}" for i in range(10_000)]
    _, sink = ok(go_engine, "\n".join(lines) + "\nfmt.Println(v9999)")
    assert sink.text() == "9999\n"
    go_engine.reset()


def test_a_syntax_error_on_the_last_line(go_engine):
    outcome, _ = run(go_engine, 'fmt.Println("a")\nfmt.Println("b")\nfmt.Println("c"')
    ename, evalue = failure(outcome)
    assert ename == "BuildError" and evalue.startswith("line 3: syntax error")


# -- faults (from test_run_faults.py) ---------------------------------------------------


def test_a_huge_final_value_is_capped_with_a_note(go_engine):
    outcome, sink = ok(go_engine, 'strings.Repeat("x", 64<<20)')
    assert outcome.value is not None and len(outcome.value) == 4 << 20
    assert "the value's text is cut at 4,194,304 characters" in sink.text("stderr")


ALLOCATE = (
    "var keep [][]byte\n"
    "for { b := make([]byte, 16<<20); for i := range b { b[i] = 1 }; keep = append(keep, b) }"
)
OVER_256 = "out of memory (exit status 2): over the 256 MiB memory limit"


def test_memory_limit_ends_a_program_that_allocates_without_bound(go_engine):
    # (The %memory session setting, through the kernel: test_run_faults.py.)
    outcome, _ = run(go_engine, ALLOCATE, "--memory 256MiB")
    assert failure(outcome) == ("OverMemoryLimit", OVER_256)
    assert ok(go_engine, 'fmt.Println("small")', "--memory 256MiB")[1].text() == "small\n"


ESCAPE = (
    'c := exec.Command("sleep", "1003")\n'
    "c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}\n"
    "if err := c.Start(); err != nil { panic(err) }\n"
    'fmt.Println("escaped", c.Process.Pid)\n'
)


def test_a_child_in_a_new_session_ends_with_its_cell(go_engine):
    _, sink = ok(go_engine, ESCAPE)
    assert wait_gone(int(sink.text().split()[1]))


def test_a_pathologically_nested_cell_is_refused(go_engine):
    outcome, _ = run(go_engine, "(" * 200_000)
    ename, evalue = failure(outcome)
    assert ename == "CellError" and evalue.startswith("line 1: brackets nested more than 1000 deep")
    outcome, _ = run(go_engine, "x := 1\n" + "_ = x\n" * 200_000)  # 1.2 MB
    ename, evalue = failure(outcome)
    assert ename == "CellError" and "gorun reads cells of up to 1,048,576" in evalue


# -- stdin through the sink ---------------------------------------------------------------

ASKS = (
    "r := bufio.NewReader(os.Stdin)\nfmt.Print(\"name? \")\nname, _ := r.ReadString('\\n')\n"
    "fmt.Print(\"age? \")\nage, err := r.ReadString('\\n')\n"
    'fmt.Printf("%q %q %v\\n", name, age, err)'
)


def test_the_program_asks_the_sink_with_its_prompt_and_gets_end_of_input_after(go_engine):
    _, sink = ok(go_engine, ASKS, answers=["Ada"])
    assert sink.prompts == ["name? ", "age? "]
    assert sink.text().endswith('"Ada\\n" "" EOF\n')


def test_without_input_the_program_reads_end_of_input_and_nothing_is_asked(go_engine):
    _, sink = ok(go_engine, ASKS)
    assert sink.prompts == []
    assert sink.text() == 'name? age? "" "" EOF\n'


# -- when a cell's declarations join (from test_session_joins.py) -------------------------

NO_INIT = [
    ('var pz = func() int { panic("boom pz") }()', "panic: boom pz"),
    ('var pz = 1\nfunc init() { panic("boom init") }', "panic: boom init"),
    ('var pz = func() int { fmt.Println("leaving"); os.Exit(3); return 0 }()', "leaving"),
]


@pytest.mark.parametrize(("cell", "shown"), NO_INIT, ids=["initializer", "init", "exit"])
def test_a_cell_that_fails_in_its_initialization_leaves_the_session_as_it_was(
    go_engine, cell, shown
):
    outcome, sink = run(go_engine, cell)
    assert failure(outcome)[0] == ("GoPanic" if "panic" in shown else "ExitError")
    # The failure is shown, as before (a panic: as the error).
    assert shown in sink.text("stderr") + sink.text() + shown_error(outcome)
    # Later cells run: they do not fail the same way until `%rm pz`.
    assert ok(go_engine, 'fmt.Println("after")')[1].text() == "after\n"
    assert "pz" not in declared(go_engine)
    outcome, _ = run(go_engine, "fmt.Println(pz)")
    assert failure(outcome) == ("BuildError", "line 1: undefined: pz")


def test_an_earlier_declaration_stays_when_its_replacement_fails_in_init(go_engine):
    ok(go_engine, "var kept = 1")
    outcome, _ = run(go_engine, 'var kept = func() int { panic("no") }()')
    assert failure(outcome)[0] == "GoPanic"
    assert ok(go_engine, "kept")[0].value == "1"


def test_the_cells_own_statements_failing_keep_its_declarations(go_engine):
    # Its declarations initialized; the call that failed is this run's, not theirs.
    outcome, _ = run(go_engine, "func div10(d int) int { return 10 / d }\nvar ten = 10\ndiv10(0)")
    assert failure(outcome)[0] == "GoPanic"
    assert "integer divide by zero" in shown_error(outcome)
    assert ok(go_engine, "div10(ten / 2)")[0].value == "2"


def test_a_cells_own_func_main_failing_keeps_its_declarations(go_engine):
    outcome, _ = run(go_engine, 'var viaMain = 8\nfunc main() {\n\tpanic("in main")\n}')
    assert failure(outcome)[0] == "GoPanic"
    assert "\tcell:3" in shown_error(outcome)  # its lines are still the cell's own
    assert ok(go_engine, "viaMain")[0].value == "8"
