"""Compiler output mapped to the lines of the user's cells."""

from __future__ import annotations

from gorun_kernel.diagnostics import Origin, TraceMapper, map_output


def origins(code: str, first_line: int, cell: str | None = None) -> list[Origin | None]:
    return [Origin(first_line + i, t, cell) for i, t in enumerate(code.split("\n"))]


GO_OUTPUT = """# gorun
./main.go:3:14: undefined: y
/tmp/scratch/session-x/main.go:2:1: syntax error: something
helper.go:1:1: from a file we did not write
go: downloading example.com/m v1.0.0
"""


def test_positions_become_cell_lines_with_quote_and_caret():
    table = {"main.go": origins("package main\nfunc f() {\n\tfmt.Println(y)\n}", first_line=2)}
    diags = map_output(GO_OUTPUT, table, ["/tmp/scratch/session-x"])
    assert diags[0].headline == "line 4: undefined: y"
    assert diags[0].quote == ["    \tfmt.Println(y)", "    \t            ^"]
    assert diags[1].headline == "line 3: syntax error: something"
    assert diags[2].headline == "helper.go:1:1: from a file we did not write"
    assert diags[3].headline == "go: downloading example.com/m v1.0.0"
    assert all("session-x" not in d.headline for d in diags)


def test_lines_from_an_earlier_cell_name_that_cell():
    table = {"main.go": [None, *origins("x := 1", first_line=3, cell="[2]")]}
    (diag,) = map_output("./main.go:2:1: declared and not used: x\n", table, [])
    assert diag.headline == "cell [2], line 3: declared and not used: x"


def test_generated_lines_keep_only_the_message():
    (diag,) = map_output("./main.go:1:1: oops\n", {"main.go": [None]}, [])
    assert diag.headline == "oops"


def test_continuation_lines_stay_with_their_message():
    out = "main.go:3:2: no required module provides package x/y; to add it:\n\tgo get x/y\n"
    (diag,) = map_output(out, {"main.go": origins("a\nb\nc", 1)}, [])
    assert diag.headline == (
        "line 3: no required module provides package x/y; to add it:\n\tgo get x/y"
    )


# -- a panic's words: held for the error, let go if the program goes on ---------------

TRACE = "\ngoroutine 1 [running]:\nmain.main()\n\tcell:3 +0x2d\n"


class Written:
    """An OutputSink that keeps what reaches it, in order."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []

    def stdout(self, text: str) -> None:
        self.got.append(("stdout", text))

    def stderr(self, text: str) -> None:
        self.got.append(("stderr", text))

    def event(self, event: object) -> None:
        self.got.append(("event", str(event)))

    def input_wanted(self, prompt: str) -> str | None:
        return None


def test_the_runtimes_panic_is_held_for_the_error():
    sink = Written()
    traces = TraceMapper(sink, {})
    traces.stderr("before\npanic: not ")
    traces.stderr("implemented\n")
    traces.idle()  # quiet before the trace: still held (the runtime may be descheduled)
    traces.stderr(TRACE)
    traces.idle()
    traces.finish()
    panic = traces.panic(2)
    assert sink.got == [("stderr", "before\n")]
    assert panic is not None and not panic.shown
    assert panic.headline("[2]") == "panic: not implemented (cell [2], line 3)"
    assert panic.trace() == ["", "goroutine 1 [running]:", "main.main()", "\tcell:3 +0x2d"]


def test_an_earlier_cells_frame_names_that_cell():
    traces = TraceMapper(Written(), {})
    traces.stderr("panic: boom\n\ngoroutine 1 [running]:\nmain.f()\n\tcell[4]:7 +0x1\n")
    panic = traces.panic(2)
    assert panic is not None and panic.headline("[9]") == "panic: boom (cell [4], line 7)"


def test_words_like_a_panic_are_let_go_when_the_program_goes_on(monkeypatch):
    sink = Written()
    traces = TraceMapper(sink, {})
    traces.stderr("panic: just words\n")
    traces.stdout("more\n")  # it went on: not the runtime's panic
    assert sink.got == [("stderr", "panic: just words\n"), ("stdout", "more\n")]
    assert traces.panic(0) is None
    # Quiet longer than the grace, with no trace: let go too.
    monkeypatch.setattr("gorun_kernel.diagnostics.PANIC_GRACE", 0.0)
    sink = Written()
    traces = TraceMapper(sink, {})
    traces.stderr("x\npanic: said\n")
    traces.idle()
    assert sink.got == [("stderr", "x\n"), ("stderr", "panic: said\n")]


def test_exit_status_2_without_a_trace_is_no_panic():
    sink = Written()
    traces = TraceMapper(sink, {})
    traces.stderr("panic: words\n")
    traces.finish()
    assert traces.panic(2) is None
    assert sink.got == [("stderr", "panic: words\n")]


def test_panic_must_start_a_line():
    sink = Written()
    traces = TraceMapper(sink, {})
    traces.stderr("no panic: here\n" + TRACE)
    assert traces.panic(2) is None
    assert "".join(text for _, text in sink.got) == "no panic: here\n" + TRACE
