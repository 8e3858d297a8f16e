"""Snippet and multi-file cells, through real IPython (%%gorun) and through the engine API."""

from __future__ import annotations

import textwrap

import pytest

import gorun_kernel
import gorun_kernel.frontends.magic as magic
from gorun_kernel import cmdline
from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.engine import Engine
from gorun_kernel.events import BaseSink
from gorun_kernel.outcome import RunOptions

pytestmark = pytest.mark.e2e


def out_of(run, src: str) -> str:
    result, out, err = run("%%gorun --quiet\n" + textwrap.dedent(src).strip("\n") + "\n")
    assert result.success, out + err
    return out


def value_of(run, src: str) -> str:
    result, out, err = run("%%gorun --quiet\n" + src + "\n")
    assert result.success, out + err
    return repr(result.result)


def test_a_function_declared_in_one_cell_is_used_in_the_next(run):
    out_of(run, "func sq(x int) int { return x*x }")
    assert out_of(run, "fmt.Println(sq(7))") == "49\n"
    out_of(run, "func sq(x int) int { return x*x*x }")  # redefinition replaces it
    assert out_of(run, "fmt.Println(sq(2))") == "8\n"


def test_a_type_then_its_methods_in_later_cells(run):
    out_of(run, "type Point struct{ X, Y int }")
    out_of(run, "func (p Point) Sum() int { return p.X + p.Y }")
    out_of(run, "func (p *Point) Scale(k int) { p.X *= k; p.Y *= k }")
    assert out_of(run, "p := Point{1, 2}\np.Scale(10)\nfmt.Println(p.Sum())") == "30\n"
    # Redefining the type keeps its methods.
    out_of(run, "type Point struct{ X, Y, Z int }")
    assert out_of(run, "fmt.Println(Point{1, 2, 3}.Sum())") == "3\n"


def test_generic_functions_and_types(run):
    out_of(
        run,
        """
        func Map[T, U any](xs []T, f func(T) U) []U {
            out := make([]U, 0, len(xs))
            for _, x := range xs {
                out = append(out, f(x))
            }
            return out
        }

        type Stack[T any] struct{ items []T }
        """,
    )
    out_of(run, "func (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }")
    out = out_of(
        run,
        """
        var s Stack[string]
        s.Push("a")
        fmt.Println(Map([]int{1, 2}, func(i int) int { return i * 10 }), len(s.items))
        """,
    )
    assert out == "[10 20] 1\n"


def test_grouped_const_block_with_iota_and_redefining_one_name(run):
    out_of(run, "const (\n\tRed = iota\n\tGreen\n\tBlue\n)")
    assert out_of(run, "fmt.Println(Red, Green, Blue)") == "0 1 2\n"
    out_of(run, "const Red = 100")  # only Red is replaced; Green and Blue keep iota's values
    assert out_of(run, "fmt.Println(Red, Green, Blue)") == "100 1 2\n"


def test_var_initialiser_runs_fresh_every_time(run):
    out_of(run, "var counter = 10")
    for _ in range(3):
        assert out_of(run, "counter++; fmt.Println(counter)") == "11\n"


def test_declaration_only_cell_runs_init_and_var_initialisers(run):
    out = out_of(run, 'var x = announce()\nfunc announce() int { fmt.Println("init x"); return 1 }')
    assert out == "init x\n"
    out = out_of(run, 'func init() { fmt.Println("init func") }')
    assert "init func" in out
    # Re-running the same init cell does not stack up copies of it.
    out = out_of(run, 'func init() { fmt.Println("init func") }')
    assert out.count("init func") == 1


def test_a_cells_own_main_runs_once_and_is_not_kept(run, ip):
    assert out_of(run, 'func main() { fmt.Println("my main") }') == "my main\n"
    assert out_of(run, 'fmt.Println("statements again")') == "statements again\n"
    assert "main" not in [n for n, _, _ in magic.magics_of(ip).engine().declarations()]


def test_standard_library_imports_are_added(run, ip):
    assert out_of(run, 'fmt.Println(strings.ToUpper("go"), math.Sqrt(16))') == "GO 4\n"
    assert out_of(run, "fmt.Println(time.Duration(90) * time.Second)") == "1m30s\n"
    assert out_of(run, "fmt.Println(rand.IntN(1))") == "0\n"  # IntN: only math/rand/v2 has it
    source = (magic.magics_of(ip).engine().scratch.path / "main.go").read_text()
    assert '"math/rand/v2"' in source
    assert out_of(run, "fmt.Println(rand.Intn(1))") == "0\n"  # Intn: math/rand
    assert '"math/rand"' in (magic.magics_of(ip).engine().scratch.path / "main.go").read_text()


def test_an_unused_import_from_an_earlier_cell_never_breaks_a_later_one(run):
    out_of(run, 'import "strings"\nimport m "math"\nfmt.Println(strings.Repeat("ab", 2), m.Pi > 3)')
    for i in range(3):
        assert out_of(run, f"fmt.Println({i})") == f"{i}\n"
    assert out_of(run, 'fmt.Println(strings.Repeat("c", 3))') == "ccc\n"


def test_explicit_third_party_import_across_cells(run):
    out_of(run, 'import "example.com/greet"')
    out_of(run, 'func welcome() string { return greet.Hello("cells") }')
    assert out_of(run, "fmt.Println(welcome())") == "Howdy, cells!\n"


def test_final_expression_value_is_the_cells_result(run, ip):
    out_of(run, "func sq(x int) int { return x*x }")
    assert value_of(run, "sq(3)") == "9"
    result, out, _ = run("%%gorun --quiet\nfmt.Println(1)\n")
    assert out == "1\n" and result.result is None
    assert value_of(run, 'strings.ToUpper("go")') == '"GO"'
    assert value_of(run, 'strconv.Atoi("42")') == "(42, <nil>)"  # several results: a tuple
    out_of(run, "type P struct{ Name string; Age int }")
    assert value_of(run, 'P{"Ada", 36}') == "{Name:Ada Age:36}"
    assert value_of(run, "s := []int{1, 2, 3}\nlen(s)") == "3"


def test_a_final_call_without_a_result_runs_as_a_statement(run, monkeypatch, tmp_path):
    out_of(run, 'func hello() { fmt.Println("hello") }')
    result, out, _ = run("%%gorun --quiet\nhello()\n")
    assert result.success and out == "hello\n" and result.result is None


def test_a_failed_cell_leaves_the_session_unchanged(run):
    out_of(run, "func sq(x int) int { return x*x }")
    result, _, _ = run("%%gorun\nfunc sq(x int) int { return x*y }\n")
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)
    assert out_of(run, "fmt.Println(sq(5))") == "25\n"


def test_an_error_in_an_earlier_cells_code_names_that_cell(run, ip):
    ip.execution_count = 2
    out_of(run, "var rate = 3")
    ip.execution_count = 3
    out_of(run, "// the total\nfunc total(n int) int {\n\treturn n * rate\n}")
    # %gorun_rm refuses to break total (it names it); the engine's own remove does not.
    magic.magics_of(ip).engine().remove("rate")
    ip.execution_count = 4
    result, _out, _ = run("%%gorun\nfmt.Println(total(2))\n")
    err = result.error_in_exec
    assert isinstance(err, gorun_kernel.BuildError)
    assert err.message == "cell [3], line 4: undefined: rate"  # %%gorun is line 1 of cell 3
    assert err.details[0] == "    \treturn n * rate"


def test_errors_in_the_current_cell_count_the_magic_line(run):
    result, _, _ = run("%%gorun\nfmt.Println(1)\n\nfmt.Println(undefinedName)\n")
    assert result.error_in_exec.message == "line 4: undefined: undefinedName"


def test_trailing_comments_stay_on_their_line(run):
    # Each comment documents its own declaration: neither is joined to the next.
    assert out_of(run, 'var n = 3 // how many\nvar name = "Go" // who') == ""
    assert out_of(run, "fmt.Println(n, name)") == "3 Go\n"


def test_list_remove_and_reset(run, ip, capsys):
    out_of(run, 'import "strings"\nfunc f() {}\ntype T int\nfunc (T) M() {}\nvar v, w = 1, 2')
    capsys.readouterr()
    ip.run_line_magic("gorun_list", "")
    listing = capsys.readouterr().out
    for name, kind in [("strings", "import"), ("f", "func"), ("T", "type"), ("T.M", "method"),
                       ("v", "var"), ("w", "var")]:  # fmt: skip
        assert any(line.split()[:2] == [name, kind] for line in listing.splitlines()), name
    capsys.readouterr()
    ip.run_line_magic("gorun_rm", "v")
    assert capsys.readouterr().out.startswith("removed v (var, cell ")
    names = [n for n, _, _ in magic.magics_of(ip).engine().declarations()]
    assert "v" not in names and "w" in names
    assert out_of(run, "fmt.Println(w)") == "2\n"
    ip.run_line_magic("gorun_reset", "")
    assert magic.magics_of(ip).engine().declarations() == []
    result, _, _ = run("%%gorun\nfmt.Println(w)\n")
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)


def test_a_program_cell_neither_sees_nor_changes_the_session(run):
    out_of(run, "var shared = 1")
    result, out, _ = run(
        '%%gorun --quiet\npackage main\nimport "fmt"\nvar shared = 2\n'
        "func main() { fmt.Println(shared) }\n"
    )
    assert result.success and out == "2\n"
    assert out_of(run, "fmt.Println(shared)") == "1\n"


# -- multi-file cells --------------------------------------------------------


def test_txtar_two_file_program(run):
    out = out_of(
        run,
        """
        package main

        import "fmt"

        func main() { fmt.Println(helper()) }
        -- helper.go --
        package main

        func helper() string { return "from helper.go" }
        """,
    )
    assert out == "from helper.go\n"


def test_txtar_with_a_sub_package(run):
    out = out_of(
        run,
        """
        -- main.go --
        package main

        import (
            "fmt"

            "gorun/shapes"
        )

        func main() { fmt.Println(shapes.Area(3, 4)) }
        -- shapes/shapes.go --
        package shapes

        func Area(w, h int) int { return w * h }
        """,
    )
    assert out == "12\n"


def test_txtar_with_its_own_go_mod_requiring_a_module(run):
    out = out_of(
        run,
        """
        package main

        import (
            "fmt"

            "example.com/greet"
        )

        func main() { fmt.Println(greet.Hello("txtar")) }
        -- go.mod --
        module play

        go 1.21

        require example.com/greet v1.0.0
        """,
    )
    assert out == "Hello, txtar!\n"  # v1.0.0 as required, not the latest


def test_txtar_errors_point_at_cell_lines(run):
    result, _, _ = run(
        "%%gorun\npackage main\nfunc main() {}\n-- b.go --\npackage main\nvar x = y\n"
    )
    assert result.error_in_exec.message == "line 6: undefined: y"


# The other refused names (absolute, a/../.., empty, twice): the golden case
# txtar_names_that_escape_or_clash_are_refused (test_compose_golden.py).
@pytest.mark.parametrize(("marker", "why"), [("-- ../evil.go --", "stay inside the module")])
def test_txtar_names_that_escape_or_clash_are_refused(run, tmp_path, marker, why):
    result, out, err = run(f"%%gorun\npackage main\nfunc main() {{}}\n{marker}\npackage main\n")
    assert isinstance(result.error_in_exec, gorun_kernel.CellError)
    assert why in out + err and "line 4" in out + err
    assert not (tmp_path.parent / "evil.go").exists()


# -- through the engine API ------------------------------------------------


class Collect(BaseSink):
    def __init__(self) -> None:
        self.out = ""

    def stdout(self, text: str) -> None:
        self.out += text

    def stderr(self, text: str) -> None:
        self.out += text

    def input_wanted(self, prompt: str) -> None:
        return None


def test_engine_api_snippets_across_cells(tmp_path):
    engine = Engine(find_toolchain())
    try:

        def cell(code: str):
            sink = Collect()
            outcome = engine.run_cell(code, cmdline.parse([]), sink, RunOptions(str(tmp_path)))
            return outcome, sink.out

        cell("func sq(x int) int { return x*x }")
        assert cell("fmt.Println(sq(7))")[1] == "49\n"
        cell("func sq(x int) int { return x*x*x }")
        assert cell("fmt.Println(sq(2))")[1] == "8\n"
        outcome, _ = cell("sq(3)")
        assert outcome.value == "27"
        outcome, _ = cell("var broken = undefinedName")
        assert outcome.error is not None
        assert cell("fmt.Println(sq(1))")[1] == "1\n"
        rerun, _ = cell("sq(3)")
        assert rerun.cached  # unchanged: no go command
    finally:
        engine.close()


# -- review findings: names, blanks, broken imports ----------------------------


def test_a_parameter_named_like_a_package_does_not_hide_the_import(run):
    out_of(
        run, 'import "net/url"\nfunc host(s string) string { u, _ := url.Parse(s); return u.Host }'
    )
    out_of(run, "func show(url string) { fmt.Println(url) }")
    assert out_of(run, 'fmt.Println(host("http://example.com/x"))') == "example.com\n"
    out_of(run, "func fetch(url string) string { return url }")
    assert out_of(run, 'u, _ := url.Parse("http://a.b/c")\nfmt.Println(u.Host)') == "a.b\n"


def test_blank_declarations_do_not_replace_each_other(run, ip):
    out_of(run, "type I interface{ M() }\ntype A struct{}\nfunc (A) M() {}\nvar _ I = A{}")
    out_of(run, "var _ = 1")
    result, _, _ = run("%%gorun\ntype B struct{}\nvar _ I = B{}\n")
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)  # the check still checks
    assert "_" not in [n for n, _, _ in magic.magics_of(ip).engine().declarations()]


@pytest.mark.parametrize("cell", ["import (", 'import ""', 'import "fmt" "os"'])
def test_a_broken_import_is_a_build_error_not_a_success(run, cell):
    result, out, _ = run(f"%%gorun\n{cell}\n")
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError), out
    assert result.error_in_exec.message.startswith("line 2:")


def test_the_current_cells_import_error_names_no_cell(run, ip):
    ip.execution_count = 7
    result, _, _ = run('%%gorun\nimport "example.com/nosuchmodule"\nnosuchmodule.X()\n')
    assert result.error_in_exec.message.startswith("line 2:")


def test_text_that_is_not_unicode_is_a_clear_error(run):
    result, out, _ = run("%%gorun\nfmt.Println(1)\nx := '\ud800'\n")
    assert isinstance(result.error_in_exec, gorun_kernel.CellError)
    assert "line 3: the text is not valid Unicode" in out


# A name the file system refuses; the names refused before (".", a file and a
# directory "a"): the golden case txtar_names_that_cannot_be_files_are_refused.
@pytest.mark.parametrize(("files", "why"), [(f"-- {'n' * 300}.go --\npackage main", "too long")])
def test_txtar_names_that_cannot_be_files(run, files, why):
    result, out, err = run(f"%%gorun\npackage main\nfunc main() {{}}\n{files}\n")
    assert isinstance(result.error_in_exec, gorun_kernel.CellError), out + err
    assert why in out + err


def test_a_panic_trace_names_cell_lines(run, ip):
    ip.execution_count = 2
    out_of(run, "func at(xs []int, i int) int {\n\treturn xs[i]\n}")
    ip.execution_count = 3
    result, out, err = run("%%gorun\nx := []int{1, 2, 3}\nfmt.Println(at(x, 5))\n")
    assert result.error_in_exec.returncode == 2
    # The runtime itself names cell lines (//line directives): cell [2]'s line
    # 3, and this cell's line 3; the panic's headline names the first of them.
    assert str(result.error_in_exec).endswith("(cell [2], line 3)")
    assert "main.at(...)\n\tcell[2]:3\n" in out + err
    assert "main.main()\n\tcell:3 +0x" in out + err
    assert "session-" not in out + err
