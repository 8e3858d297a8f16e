"""Snippets that mean what a Go programmer expects (issue 11), through a real kernel
and, where it applies, the %%gorun magic in real IPython.

One test per item; the kernel is shared by the module, so each test uses names of
its own.
"""

from __future__ import annotations

import shutil

import pytest
from kernel_client import execute, start

import gorun_kernel
import gorun_kernel.frontends.magic as magic
from gorun_kernel import cmdline
from gorun_kernel.errors import UsageError

pytestmark = pytest.mark.e2e


def ok(kc, code: str, **kw):
    r = execute(kc, code, **kw)
    assert r.status == "ok", r.messages
    return r


def count(r) -> int:
    return r.reply["content"]["execution_count"]


# -- 1. what go prints for a build that worked ---------------------------------

ESCAPES = "func leak() *int {\n\tx := 1\n\treturn &x\n}\nfmt.Println(*leak())"


def test_1_gcflags_m_output_is_shown_at_cell_lines_every_run(kc):
    for _ in range(2):  # a re-run shows it again, as go run does
        r = ok(kc, "%%gorun -gcflags=-m\n" + ESCAPES)
        err = r.stream("stderr")
        assert "cell:3:2: moved to heap: x" in err  # `x := 1` is line 3 of the cell
        assert "cell:2:6: can inline leak" in err
        assert "main.go" not in err and "gorun_value" not in err  # nothing of ours
        assert r.stream() == "1\n"
    r = ok(kc, "%%gorun -ldflags=-v\nfmt.Println(2)")
    assert "HEADER" in r.stream("stderr") and r.stream() == "2\n"


def test_1_go_says_nothing_about_the_code_that_shows_a_value(kc):
    # go run -gcflags=-m of `x := 2; fmt.Println(x)` talks about its own lines
    # only; the code that sends a final value is gorun's (no sync/atomic
    # instantiations from os.NewFile, no assembly of our functions for -S).
    r = ok(kc, "%%gorun -gcflags=-m\nx1 := 2\nx1")
    lines = r.stream("stderr").splitlines()
    assert lines[0] == "# gorun" and lines[1:], lines
    assert all(line.startswith(("cell:", "cell[")) for line in lines[1:]), lines
    assert r.value == "2"
    r = ok(kc, "%%gorun -gcflags=-S\nx1 := 3\nx1")
    assert "main.main STEXT" in r.stream("stderr") and "gorunǂshow STEXT" not in r.stream("stderr")
    assert r.value == "3"


def test_1_magic_shows_go_output_above_the_programs(run):
    result, out, err = run("%%gorun --quiet -gcflags=-m\n" + ESCAPES + "\n")
    assert result.success and out == "1\n"
    assert "cell:3:2: moved to heap: x" in err  # the %%gorun line is line 1


# -- 2. //line directives: go itself names cell lines --------------------------


def test_2_log_caller_and_panics_name_cell_lines(kc):
    r = ok(
        kc,
        "func where() string {\n\t_, f, l, _ := runtime.Caller(0)\n"
        '\treturn fmt.Sprint(f, ":", l)\n}',
    )
    n = count(r)
    r = ok(kc, 'log.SetFlags(log.Lshortfile)\nlog.Print("hi")\nfmt.Println(where())')
    assert r.stream("stderr") == "cell:2: hi\n"
    assert r.stream() == f"cell[{n}]:2\n"  # runtime.Caller in the earlier cell, its line 2
    r = execute(kc, "xs := []int{1}\ni := 3\nfmt.Println(xs[i])")
    m = count(r)
    assert r.reply["content"]["evalue"] == (
        f"panic: runtime error: index out of range [3] with length 1 (cell [{m}], line 3)"
    )
    assert "main.main()\n\tcell:3 +0x" in "\n".join(r.reply["content"]["traceback"])
    # Compile errors keep their words, with the line quoted.
    r = execute(kc, "fmt.Println(1)\nfmt.Println(nope)")
    assert r.reply["content"]["evalue"] == "line 2: undefined: nope"


# -- 3. //go:embed next to the notebook ----------------------------------------


def test_3_go_embed_reads_the_file_next_to_the_notebook(tmp_path):
    (tmp_path / "data.txt").write_text("first\n")
    km, kc = start(cwd=str(tmp_path))
    try:
        ok(kc, "//go:embed data.txt\nvar data string")
        assert ok(kc, "fmt.Print(data)").stream() == "first\n"
        (tmp_path / "data.txt").write_text("edited\n")
        assert ok(kc, "fmt.Print(data)").stream() == "edited\n"  # built in again
        r = execute(kc, "//go:embed missing.txt\nvar gone string")
        assert (
            r.reply["content"]["evalue"] == "line 1: pattern missing.txt: no matching files found"
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_3_magic_go_embed_fs(run, tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.txt").write_text("A")
    result, out, err = run(
        "%%gorun --quiet\n//go:embed static\nvar files embed.FS\n"
        'b, _ := files.ReadFile("static/a.txt")\nfmt.Println(string(b))\n'
    )
    assert result.success, out + err
    assert out == "A\n"


# -- 4. the package goimports would pick, and a note when a name is shared -------
# (Which package: test_stdlib_index.py; the note: golden template_is_text_template_with_a_note.)


def test_4_template_is_text_template_and_the_choice_is_said_once(fresh_kernel):
    # A session of its own: the note is said once per session, and another test of
    # the module's shared kernel may have used template before.
    _, kc = fresh_kernel
    code = (
        't := template.Must(template.New("x").Parse("{{.}}\\n")); t.Execute(os.Stdout, "C++ <b>")'
    )
    r = ok(kc, code)
    assert r.stream() == "C++ <b>\n"
    assert "[gorun: template is text/template here (html/template also fit" in r.stream("stderr")
    r = ok(kc, code)
    assert r.stream() == "C++ <b>\n" and r.stream("stderr") == ""  # said once
    assert ok(kc, "rand.IntN(1)").stream("stderr") == ""  # only math/rand/v2 has IntN


# -- 5. an import replaces an earlier declaration of its name --------------------


def test_5_an_import_replaces_a_declaration_of_the_same_name(kc):
    ok(kc, 'var s5 = []string{"foo"}')
    assert ok(kc, 'import s5 "strings"\nfmt.Println(s5.ToUpper("x"))').stream() == "X\n"
    assert ok(kc, "var s5 = 7").status == "ok"  # and a declaration replaces the import
    assert ok(kc, "fmt.Println(s5)").stream() == "7\n"


# -- 6. declarations after the first statement are local ------------------------


def test_6_declarations_after_a_statement_are_local_to_the_run(kc):
    assert ok(kc, "x6 := 3\nvar y6 = x6\nfmt.Println(y6)").stream() == "3\n"
    embedding = (
        "type base6 struct{ num int }\n"
        'func (b base6) describe() string { return fmt.Sprintf("base with num=%v", b.num) }\n'
        "type container6 struct {\n\tbase6\n\tstr string\n}\n"
        'co := container6{base6: base6{num: 1}, str: "some name"}\n'
        "type describer interface{ describe() string }\n"
        "var d describer = co\n"
        'fmt.Println("describer:", d.describe())'
    )
    assert ok(kc, embedding).stream() == "describer: base with num=1\n"
    names = [line.split()[0] for line in ok(kc, "%list").stream().splitlines()]
    assert "base6" in names and "container6" in names
    assert "describer" in names  # a type joins the session wherever it is
    assert "y6" not in names and "d" not in names and "co" not in names


# -- 7. an init belongs to its cell --------------------------------------------


def test_7_an_init_is_replaced_when_its_cell_runs_again(kc):
    ok(kc, 'func init() { fmt.Println("init A") }', cell_id="cell-7")
    assert ok(kc, 'fmt.Println("body")').stream() == "init A\nbody\n"
    ok(kc, 'func init() { fmt.Println("init B") }', cell_id="cell-7")  # the same cell, edited
    r = ok(kc, 'fmt.Println("body")')
    assert r.stream() == "init B\nbody\n"
    inits = [line for line in ok(kc, "%list").stream().splitlines() if line.startswith("init ")]
    assert len(inits) == 1
    ok(kc, "%rm init")
    assert ok(kc, 'fmt.Println("body")').stream() == "body\n"


def test_7_magic_init_per_cell(ip, capsys):
    for text in ("A", "B"):
        ip.run_cell(
            f'%%gorun --quiet\nfunc init() {{ fmt.Println("init {text}") }}\n', cell_id="c7"
        )
    capsys.readouterr()
    ip.run_cell('%%gorun --quiet\nfmt.Println("body")\n')
    assert capsys.readouterr().out == "init B\nbody\n"


def test_7_magic_inits_without_cell_ids_stay(ip, capsys):
    # No cell id and the same execution count for every cell (IPython's `%run
    # notes.ipynb`, run_cell without history): a cell without init keeps the others'.
    ip.run_cell('%%gorun --quiet\nfunc init() { fmt.Println("init 7a") }\n')
    ip.run_cell('%%gorun --quiet\nfunc init() { fmt.Println("init 7b") }\n')
    capsys.readouterr()
    ip.run_cell('%%gorun --quiet\nfmt.Println("body")\n')
    assert capsys.readouterr().out == "init 7a\ninit 7b\nbody\n"


# -- 8. two func main ------------------------------------------------------------


def test_8_a_second_func_main_is_an_error_at_its_line(kc):
    r = execute(kc, "func main() { fmt.Println(1) }\n\nfunc main() { fmt.Println(2) }")
    assert r.reply["content"]["ename"] == "CellError"
    assert r.reply["content"]["evalue"] == (
        "line 3: main redeclared in this cell (the first func main is at line 1)"
    )


# -- 9. %rm of a name others use -----------------------------------------------


def test_9_rm_of_a_used_name_is_refused_naming_its_users(kc):
    ok(kc, "var total9 = 3")
    n = count(ok(kc, "func useTotal9() int { return total9 * 2 }"))
    r = execute(kc, "%rm total9")
    assert r.reply["content"]["ename"] == "UsageError"
    assert r.reply["content"]["evalue"] == (
        f"not removed: total9 is used by useTotal9 (cell [{n}]); %rm -r total9 removes those too"
    )
    r = execute(kc, "os.Exit(3)")  # the session still builds
    assert r.reply["content"]["evalue"] == "exit status 3"
    ok(kc, "%rm -r total9")
    listing = ok(kc, "%list").stream()
    assert "total9" not in listing and "useTotal9" not in listing


def test_9_rm_of_a_name_its_own_group_uses_is_refused_too(kc):
    n = count(ok(kc, "var (\n\tga9 = 1\n\tgb9 = ga9 + 1\n)"))
    ok(kc, "var other9 = 5")  # a group that only declares the name is not a user
    r = execute(kc, "%rm ga9")
    assert r.reply["content"]["evalue"] == (
        f"not removed: ga9 is used by gb9 (cell [{n}]); %rm -r ga9 removes those too"
    )
    assert ok(kc, "fmt.Println(gb9)").stream() == "2\n"  # the session still builds
    ok(kc, "%rm -r ga9")
    listing = ok(kc, "%list").stream()
    assert "ga9" not in listing and "gb9" not in listing and "other9" in listing
    assert ok(kc, "fmt.Println(other9)").stream() == "5\n"


def test_9_magic_rm_refuses_too(run, ip):
    run("%%gorun --quiet\nvar rate9 = 3\nfunc cost9() int { return rate9 }\n")
    with pytest.raises(Exception, match="rate9 is used by cost9"):
        ip.run_line_magic("gorun_rm", "rate9")
    ip.run_line_magic("gorun_rm", "-r rate9")
    assert magic.magics_of(ip).engine().declarations() == []


def test_9_rm_r_removes_the_users_it_names_and_no_other_init(kc):
    ok(kc, "var kept9 int\nfunc init() { kept9 = 7 }")
    n = count(
        ok(kc, 'var cfg9 = map[string]int{}\nfunc init() { cfg9["a"] = 1 }\nvar _ = len(cfg9)')
    )
    r = execute(kc, "%rm cfg9")
    assert r.reply["content"]["evalue"] == (
        f"not removed: cfg9 is used by init (cell [{n}]); var _ (cell [{n}]); "
        "%rm -r cfg9 removes those too"
    )
    gone = ok(kc, "%rm -r cfg9").stream().splitlines()
    assert len(gone) == 2 and gone[0].startswith("removed cfg9 (var, cell [")  # and its init
    assert "removed init" in gone[1]
    # The other cell's init is still there, and the blank var that used cfg9 is gone.
    assert ok(kc, "fmt.Println(kept9)").stream() == "7\n"
    ok(kc, "%rm -r kept9")


# -- 10. values nobody asked to see ----------------------------------------------


@pytest.mark.parametrize(
    ("code", "value"),
    [
        ('p := fmt.Println\np("a", 1)', None),  # (4, <nil>) from a printing call
        ('t := template.Must(template.New("t").Parse("x\\n"))\nt.Execute(os.Stdout, nil)', None),
        ("done := make(chan bool, 1)\ndone <- true\n<-done", None),  # a receive waits
        ('strconv.Atoi("42")', "(42, <nil>)"),  # results, not noise
        (
            'os.WriteFile("/no/such/dir/f", nil, 0o600)',
            "open /no/such/dir/f: no such file or directory",
        ),
        # A printing call whose error is not nil: shown.
        (
            'f, _ := os.Open(os.DevNull)\nf.Close()\nfmt.Fprintln(f, "x")',
            "(0, write /dev/null: file already closed)",
        ),
    ],
)
def test_10_noise_values_are_hidden_errors_are_not(kc, code, value):
    r = execute(kc, code)
    assert r.status == "ok", r.messages
    assert r.value == value


# -- 11. cgo preambles -------------------------------------------------------------


def test_11_a_cgo_preamble_stays_with_import_c(kc):
    if not shutil.which("gcc") and not shutil.which("clang"):
        pytest.skip("cgo needs a C compiler")
    code = '// static int twice(int x) { return 2 * x; }\nimport "C"\nfmt.Println(C.twice(21))'
    assert ok(kc, code).stream() == "42\n"
    r = execute(kc, '// #include "no_such_header.h"\nimport "C"\nfmt.Println(C.f())')
    assert r.reply["content"]["evalue"].startswith("line 1: ")
    assert "no_such_header.h" in r.reply["content"]["evalue"]


def test_11_a_c_error_in_a_preamble_is_at_its_cell_line(kc):
    if not shutil.which("gcc") and not shutil.which("clang"):
        pytest.skip("cgo needs a C compiler")
    code = (
        "/*\nstatic int ok11(void) { return 1; }\n"
        "static int err11(void) { return undefined11; }\n*/\n"
        'import "C"\nfmt.Println(C.ok11())'
    )
    r = execute(kc, code)
    evalue = r.reply["content"]["evalue"]
    # gcc's "main.go: In function 'err11':" names a file the user never saw.
    assert evalue.startswith("line 3: error: ") and "undefined11" in evalue, evalue
    assert "main.go" not in "\n".join(r.reply["content"]["traceback"])


# -- 12. CRLF cells, durations -----------------------------------------------------


def test_12_crlf_cells_work_in_every_form(kc):
    txtar = (
        '-- main.go --\r\npackage main\r\n\r\nimport "fmt"\r\n\r\n'
        'func main() { fmt.Println("txtar") }\r\n'
    )
    assert ok(kc, txtar).stream() == "txtar\n"
    program = 'package main\r\n\r\nimport "fmt"\r\n\r\nfunc main() { fmt.Println("program") }\r\n'
    assert ok(kc, program).stream() == "program\n"
    assert ok(kc, "x12 := 1\r\nfmt.Println(x12)\r\n").stream() == "1\n"
    r = execute(kc, "%%gorun\r\nfmt.Println(1)\r\nfmt.Println(nope12)\r\n")
    assert r.reply["content"]["evalue"] == "line 3: undefined: nope12"


@pytest.mark.parametrize("text", ["1_0", "1e3", "inf", "nan", "0x10", "+5"])
def test_12_durations_are_go_durations_or_plain_numbers(text, kc):
    with pytest.raises(UsageError, match="invalid duration"):
        cmdline.parse_duration(text)
    if text == "1_0":
        r = execute(kc, "%%gorun --timeout 1_0\nfmt.Println(1)")
        assert r.reply["content"]["ename"] == "UsageError"


# -- 13. name? and name?? ---------------------------------------------------------


def page(r) -> str:
    assert r.status == "ok", r.messages
    return r.reply["content"]["payload"][0]["data"]["text/plain"]


def test_13_question_marks_show_doc_and_source(kc):
    assert "func ToUpper(s string) string" in page(execute(kc, "strings.ToUpper?"))
    source = page(execute(kc, "strings.ToUpper??"))
    assert "func ToUpper(s string) string {" in source and "isASCII" in source
    assert "package strings" in page(execute(kc, "?strings"))
    ok(kc, "// sq13 squares.\nfunc sq13(x int) int {\n\treturn x * x\n}")
    doc = page(execute(kc, "sq13?"))
    assert "// sq13 squares.\nfunc sq13(x int) int" in doc and "return" not in doc
    assert "return x * x" in page(execute(kc, "sq13??"))
    assert "no documentation found" in page(execute(kc, "nosuchthing13?"))


def test_13_an_import_path_question_mark_is_go_doc_of_that_path(kc):
    # As `go doc encoding/json` and `go doc math/rand/v2.IntN` take them.
    assert 'package json // import "encoding/json"' in page(execute(kc, "encoding/json?"))
    assert "func IntN(n int) int" in page(execute(kc, "math/rand/v2.IntN?"))
    assert "func IntN(n int) int {" in page(execute(kc, "math/rand/v2.IntN??"))
    assert "no documentation found" in page(execute(kc, "no/such/pkg13?"))


def test_13_a_package_of_the_notebooks_module_before_any_import(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/nb13\n\ngo 1.21\n")
    (tmp_path / "greet").mkdir()
    (tmp_path / "greet" / "greet.go").write_text(
        "// Package greet says hello.\npackage greet\n\n"
        '// Hello greets.\nfunc Hello() string { return "hi" }\n'
    )
    km, kc = start(cwd=str(tmp_path))
    try:  # as `go doc greet.Hello` in the notebook's directory finds it
        assert "func Hello() string\n    Hello greets." in page(execute(kc, "greet.Hello?"))
        assert "Package greet says hello." in page(execute(kc, "example.com/nb13/greet?"))
        assert 'return "hi"' in page(execute(kc, "greet.Hello??"))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_13_magic_question_mark(run, monkeypatch):
    monkeypatch.setenv("TERM", "dumb")  # IPython's pager prints, without paging
    result, out, _ = run("%%gorun\nstrings.ToUpper?\n")
    assert result.success and "func ToUpper(s string) string" in out


# -- 14. ! lines get input ------------------------------------------------------


def test_14_shell_lines_are_asked_for_input(kc):
    r = execute(kc, '!read answer && echo "got $answer"', answers=["hello"])
    assert r.status == "ok", r.messages
    assert r.stream() == "got hello\n"
    assert len(r.prompts) == 1


def test_cell_errors_stay_gorun_errors(run):
    result, _, _ = run("%%gorun\nfunc main() {}\nfunc main() {}\n")
    assert isinstance(result.error_in_exec, gorun_kernel.CellError)
