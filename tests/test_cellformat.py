"""Formatting a cell with gofmt (issue 22 item 5) and the error lines the editor marks
(item 6), through the formatter, the marks and a real kernel.

The browser side (the extension's "Format Go cell" and the marks in the editor) is
tests/test_browser_lab.py.
"""

from __future__ import annotations

import pytest
from kernel_client import execute, reply_to

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.errors import BuildError, CellError
from gorun_kernel.frontends.cellformat import format_cell
from gorun_kernel.frontends.marks import error_marks
from gorun_kernel.help.gofmt import GoSyntaxError

# -- the marks (pure) -------------------------------------------------------------------


def test_marks_are_the_cells_own_lines_with_the_carets_column():
    error = BuildError(
        "line 2: undefined: undefinedName",
        [
            "    y := undefinedName + x",
            "         ^",
            "line 4: declared and not used: z",
            "    \tz := 3",
            "    \t^",
            "cell [3], line 2: undefined: w",  # another cell's line: not this editor's
            "    w()",
            "line 7: too many errors",
        ],
    )
    assert error_marks(error) == [
        {"line": 2, "column": 5, "message": "undefined: undefinedName"},
        {"line": 4, "column": 1, "message": "declared and not used: z"},
        {"line": 7, "column": None, "message": "too many errors"},
    ]


def test_an_error_without_cell_lines_marks_nothing():
    assert error_marks(CellError("the cell is empty")) == []
    assert error_marks(BuildError("go: cannot find main module")) == []


# -- the formatter (runs the toolchain's gofmt) -------------------------------------------


@pytest.fixture(scope="module")
def toolchain():
    return find_toolchain()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("cell", "formatted"),
    [
        # statements only
        ("x:=1\nfmt.Println(x)", "x := 1\nfmt.Println(x)"),
        # declarations and statements, each run formatted in its place
        (
            'type T struct{a int\nbb string}\nfunc (t T) A()int{return t.a}\nt:=T{1,"x"}\n'
            "fmt.Println(t.A())",
            "type T struct {\n\ta  int\n\tbb string\n}\n\nfunc (t T) A() int { return t.a }\n"
            't := T{1, "x"}\nfmt.Println(t.A())',
        ),
        # a raw string's lines are its value: never re-indented
        (
            "if true{\ns:=`a\n\tb\n  c`\nfmt.Println(s)}",
            "if true {\n\ts := `a\n\tb\n  c`\n\tfmt.Println(s)\n}",
        ),
        # imports first, then statements, then a func; the trailing newline kept
        (
            'import "strings"\nfmt.Println(strings.ToUpper("a"))\nfunc f(){\nreturn}\n',
            'import "strings"\nfmt.Println(strings.ToUpper("a"))\nfunc f() {\n\treturn\n}\n',
        ),
        # a program is a file: gofmt sorts its imports
        (
            'package main\nimport ("os"\n"fmt")\nfunc main(){fmt.Println(os.Args)}',
            'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() { fmt.Println(os.Args) }',
        ),
        # header lines stay as they are; the Go below them is formatted
        (
            "%%gorun -race\n%env A=1\nx:=1\nfmt.Println(x)",
            "%%gorun -race\n%env A=1\nx := 1\nfmt.Println(x)",
        ),
        # a multi-file cell: each .go file formatted, other files as they are
        (
            "-- main.go --\npackage main\nfunc main(){println(1)}\n-- data.txt --\n  a  b",
            "-- main.go --\npackage main\n\nfunc main() { println(1) }\n-- data.txt --\n  a  b",
        ),
        # var and const go with either kind; comments stay
        (
            "// setup\nvar x=1\nconst y=2\nfor i:=0;i<y;i++{fmt.Println(i+x)}",
            "// setup\nvar x = 1\nconst y = 2\nfor i := 0; i < y; i++ {\n\tfmt.Println(i + x)\n}",
        ),
        # gofmt's own normalisations: number prefixes
        ("v:=0X1F+1E3", "v := 0x1F + 1e3"),
        # blank lines between runs: at most one, as gofmt leaves them; a doc comment
        # stays with its func
        (
            "x:=1\n\n\n// Double doubles.\nfunc Double(v int)int{return 2*v}\n\nfmt.Println(x)",
            "x := 1\n\n// Double doubles.\nfunc Double(v int) int { return 2 * v }\n\n"
            "fmt.Println(x)",
        ),
        # nothing to format
        ("%%gotest", "%%gotest"),
        ("// just a note", "// just a note"),
    ],
)
def test_gofmt_formats_every_kind_of_cell(toolchain, cell: str, formatted: str):
    assert format_cell(cell, toolchain) == formatted
    assert format_cell(formatted, toolchain) == formatted  # formatted stays formatted


@pytest.mark.e2e
def test_a_cell_that_does_not_parse_is_an_error_at_its_line(toolchain):
    with pytest.raises(GoSyntaxError) as caught:
        format_cell("%%gorun\nx := 1\ny := (x +\nfmt.Println(y)", toolchain)
    assert caught.value.message == "line 4: expected ')', found newline"
    assert caught.value.details[0] == "    fmt.Println(y)"


@pytest.mark.e2e
def test_a_declaration_and_a_statement_on_one_line_are_refused_in_words(toolchain):
    with pytest.raises(CellError, match="line 1: a declaration and a statement share"):
        format_cell("type T int; x := T(1)", toolchain)


# -- through the kernel -------------------------------------------------------------------


@pytest.mark.e2e
def test_fmt_prints_the_formatted_cell_and_returns_it_as_a_payload(kc):
    r = execute(kc, "%fmt\nx:=1\nfmt.Println( x )")
    assert r.status == "ok", r.reply["content"]
    assert r.stream() == "x := 1\nfmt.Println(x)\n"
    assert r.reply["content"]["payload"] == [
        {"source": "gorun_format", "text": "x := 1\nfmt.Println(x)"}
    ]


@pytest.mark.e2e
def test_the_extensions_silent_request_leaves_no_trace(kc):
    before = execute(kc, "1").reply["content"]["execution_count"]
    msg_id = kc.execute("%fmt\ny:=2", silent=True, store_history=False)
    reply = reply_to(kc, msg_id)
    assert reply["content"]["payload"] == [{"source": "gorun_format", "text": "y := 2"}]
    assert execute(kc, "1").reply["content"]["execution_count"] == before + 1  # not counted


@pytest.mark.e2e
def test_fmt_alone_formats_the_last_cell_run(kc):
    execute(kc, "z:=3\nfmt.Println(z)")
    r = execute(kc, "%fmt")
    assert r.stream() == "z := 3\nfmt.Println(z)\n"


@pytest.mark.e2e
def test_fmt_of_a_broken_cell_is_an_error_with_the_line_to_mark(kc):
    r = execute(kc, "%fmt\nx := 1\ny := (x +\nfmt.Println(y)")
    content = r.reply["content"]
    assert content["ename"] == "GoSyntaxError"
    assert content["evalue"] == "line 3: expected ')', found newline"
    assert r.reply["metadata"]["gorun_errors"] == [
        {"line": 3, "column": 14, "message": "expected ')', found newline"}  # its end
    ]


@pytest.mark.e2e
def test_a_build_errors_lines_are_in_the_reply_metadata(kc):
    r = execute(kc, "x := 1\ny := undefinedName + x\nfmt.Println(y)")
    assert r.reply["content"]["ename"] == "BuildError"
    assert r.reply["metadata"]["gorun_errors"] == [
        {"line": 2, "column": 5, "message": "undefined: undefinedName"}
    ]
    ok = execute(kc, 'fmt.Println("fine")')
    assert "gorun_errors" not in ok.reply["metadata"]
