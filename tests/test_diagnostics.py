"""Compiler output mapped to the lines of the user's cells."""

from __future__ import annotations

from gorun_kernel.diagnostics import Origin, map_output


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
