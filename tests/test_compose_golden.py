"""The compose stage, golden: what program each cell of a sequence becomes.

Each case is a session's cells; its record (tests/golden.py: every cell's form,
files, line table, notes or refusal) must equal tests/golden/compose/<case>.txt.
GORUN_UPDATE_GOLDEN=1 rewrites the files; review them in the diff. The rules are
the snippet rules of README/DESIGN; each keeps at least one end-to-end test in
test_snippets.py, test_snippet_rules.py or test_session_joins.py that runs it.

test_every_golden_program_builds_with_one_go_vet (e2e) compiles every program
here with a single `go vet` over a generated tree: the records are real Go.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from golden import GOLDEN_DIR, UPDATE, C, Cell, programs

CASES: dict[str, list[Cell]] = {
    # -- the three forms --------------------------------------------------------
    "program_cell": [
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("program") }',
    ],
    "program_cell_neither_sees_nor_changes_the_session": [
        "var shared = 1",
        'package main\nimport "fmt"\nvar shared = 2\nfunc main() { fmt.Println(shared) }',
        "fmt.Println(shared)",
    ],
    "txtar_two_files": [
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println(helper()) }\n'
        '-- helper.go --\npackage main\n\nfunc helper() string { return "from helper.go" }',
    ],
    "txtar_sub_package": [
        '-- main.go --\npackage main\n\nimport (\n\t"fmt"\n\n\t"gorun/shapes"\n)\n\n'
        "func main() { fmt.Println(shapes.Area(3, 4)) }\n"
        "-- shapes/shapes.go --\npackage shapes\n\nfunc Area(w, h int) int { return w * h }",
    ],
    "txtar_own_go_mod": [
        'package main\n\nimport "example.com/greet"\n\nfunc main() { greet.Hello("x") }\n'
        "-- go.mod --\nmodule play\n\ngo 1.21\n\nrequire example.com/greet v1.0.0",
    ],
    "only_comments_is_empty": ["// nothing to run\n/* at all */"],
    # -- declarations join the session; a later one replaces by name ----------------
    "function_then_use_then_replace": [
        "func sq(x int) int { return x*x }",
        "fmt.Println(sq(7))",
        "func sq(x int) int { return x*x*x }",
        "fmt.Println(sq(2))",
    ],
    "type_then_methods_then_redefined_type_keeps_them": [
        "type Point struct{ X, Y int }",
        "func (p Point) Sum() int { return p.X + p.Y }",
        "func (p *Point) Scale(k int) { p.X *= k; p.Y *= k }",
        "p := Point{1, 2}\np.Scale(10)\nfmt.Println(p.Sum())",
        "type Point struct{ X, Y, Z int }",
        "fmt.Println(Point{1, 2, 3}.Sum())",
    ],
    "generics": [
        "func Map[T, U any](xs []T, f func(T) U) []U {\n\tout := make([]U, 0, len(xs))\n"
        "\tfor _, x := range xs {\n\t\tout = append(out, f(x))\n\t}\n\treturn out\n}\n\n"
        "type Stack[T any] struct{ items []T }",
        "func (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }",
        'var s Stack[string]\ns.Push("a")\n'
        "fmt.Println(Map([]int{1, 2}, func(i int) int { return i * 10 }), len(s.items))",
    ],
    # -- a multi-name declaration: only the replaced name becomes _ ------------------
    "const_group_with_iota_one_name_replaced": [
        "const (\n\tRed = iota\n\tGreen\n\tBlue\n)",
        "const Red = 100",
        "fmt.Println(Red, Green, Blue)",
    ],
    # was test_snippets.py::test_multi_name_var_redefinition_leaves_no_duplicate
    "multi_name_var_one_name_replaced": [
        'var a, b = pair()\nfunc pair() (int, string) { return 1, "one" }',
        "var a = 42",
        "fmt.Println(a, b)",
    ],
    # was test_snippets.py::test_blank_declarations_do_not_replace_each_other (its program)
    "blank_declarations_do_not_replace_each_other": [
        "type I interface{ M() }\ntype A struct{}\nfunc (A) M() {}\nvar _ I = A{}",
        "var _ = 1",
        "fmt.Println(1)",
    ],
    # -- statements are main's; a cell's own main runs once -------------------------
    "var_initialiser_and_statements": [
        "var counter = 10",
        "counter++; fmt.Println(counter)",
        "counter++; fmt.Println(counter)",
    ],
    "a_cells_own_main_runs_once_and_is_not_kept": [
        'func main() { fmt.Println("my main") }',
        'fmt.Println("statements again")',
    ],
    # was test_snippets.py::test_main_and_statements_together_is_a_clear_error
    "main_and_statements_together_is_refused": [
        C('func main() {}\nfmt.Println("x")', first_line=2),
    ],
    "a_second_func_main_is_refused_at_its_line": [
        "func main() { fmt.Println(1) }\n\nfunc main() { fmt.Println(2) }",
    ],
    # -- a name declared twice in one cell (test_session_joins.py) -------------------
    "a_function_declared_twice_in_one_cell_is_refused": [
        "func twice() {}\nfunc twice() {}",
        "fmt.Println(1)",
    ],
    "a_var_and_an_import_of_one_name_in_one_cell_are_refused": [
        'var t2 = 1\nimport t2 "strings"',
    ],
    # -- declarations after the first statement are local (rule 6) -------------------
    "declarations_after_a_statement_are_local": [
        "x6 := 3\nvar y6 = x6\nfmt.Println(y6)",
        "type base6 struct{ num int }\n"
        'func (b base6) describe() string { return fmt.Sprintf("base with num=%v", b.num) }\n'
        "type container6 struct {\n\tbase6\n\tstr string\n}\n"
        'co := container6{base6: base6{num: 1}, str: "some name"}\n'
        "type describer interface{ describe() string }\n"
        "var d describer = co\n"
        'fmt.Println("describer:", d.describe())',
        'fmt.Println("after")',
    ],
    # -- an init belongs to its cell (rule 7) -----------------------------------------
    "an_init_is_replaced_when_its_cell_runs_again": [
        C('func init() { fmt.Println("init A") }', owner="cell-7"),
        'fmt.Println("body")',
        C('func init() { fmt.Println("init B") }', owner="cell-7"),
        'fmt.Println("body")',
    ],
    "inits_of_cells_without_ids_stay": [
        'func init() { fmt.Println("one") }',
        'func init() { fmt.Println("two") }',
        'fmt.Println("body")',
    ],
    # -- imports: added for standard names, kept across cells, replaced by name ---------
    "standard_imports_are_added": [
        'fmt.Println(strings.ToUpper("go"), math.Sqrt(16))',
        "fmt.Println(time.Duration(90) * time.Second)",
        "fmt.Println(rand.IntN(1))",
        "fmt.Println(rand.Intn(1))",
    ],
    "template_is_text_template_with_a_note": [
        't := template.Must(template.New("x").Parse("{{.}}\\n")); t.Execute(os.Stdout, "C++ <b>")',
    ],
    "an_earlier_import_stays_for_later_cells": [
        'import "strings"\nimport m "math"\nfmt.Println(strings.Repeat("ab", 2), m.Pi > 3)',
        "fmt.Println(0)",
        'fmt.Println(strings.Repeat("c", 3))',
    ],
    "third_party_import_across_cells": [
        'import "example.com/greet"',
        'func welcome() string { return greet.Hello("cells") }',
        "fmt.Println(welcome())",
    ],
    "an_import_replaces_a_declaration_and_back": [
        'var s5 = []string{"foo"}',
        'import s5 "strings"\nfmt.Println(s5.ToUpper("x"))',
        "var s5 = 7",
        "fmt.Println(s5)",
    ],
    "a_parameter_named_like_a_package_does_not_hide_the_import": [
        'import "net/url"\nfunc host(s string) string { u, _ := url.Parse(s); return u.Host }',
        "func show(url string) { fmt.Println(url) }",
        'fmt.Println(host("http://example.com/x"))',
    ],
    # was test_snippets.py::test_names_inside_a_closure_are_not_package_names
    "names_inside_a_closure_are_not_package_names": [
        "var f = func() int { var n = 2; return n }",
        "func n() {}",
        "fmt.Println(f())",
    ],
    # -- the final expression's value ---------------------------------------------------
    "final_values": [
        "func sq(x int) int { return x*x }",
        "sq(3)",
        "fmt.Println(1)",
        'strconv.Atoi("42")',
        "s := []int{1, 2, 3}\nlen(s)",
        'func hello() { fmt.Println("hello") }',
        C("hello()", show=False),  # `gorunǂshow(hello())` has no value: go refuses it
    ],
    "noise_values_are_not_shown": [
        'p := fmt.Println\np("a", 1)',
        "done := make(chan bool, 1)\ndone <- true\n<-done",
        'os.WriteFile("/no/such/dir/f", nil, 0o600)',
    ],
    # -- comments, directives, cgo --------------------------------------------------------
    # was test_snippets.py::test_directives_and_comments_survive
    "directives_and_comments_survive": [
        "// Twice doubles.\n//go:noinline\nfunc Twice(x int) int { return 2 * x }",
        "fmt.Println(Twice(2))",
    ],
    "trailing_comments_stay_on_their_line": [
        'var n = 3 // how many\nvar name = "Go" // who',
        "fmt.Println(n, name)",
    ],
    "a_cgo_preamble_stays_with_import_c": [
        C(
            '// static int twice(int x) { return 2 * x; }\nimport "C"\nfmt.Println(C.twice(21))',
            builds=False,  # not compiled by the golden vet: cgo needs a C compiler
        ),
    ],
    "go_embed_directive": [
        C("//go:embed data.txt\nvar data string", builds=False),  # the file is not there
    ],
    # -- CRLF, line numbers under a %%gorun line, earlier cells' lines --------------------
    "crlf_cells_in_every_form": [
        '-- main.go --\r\npackage main\r\n\r\nimport "fmt"\r\n\r\n'
        'func main() { fmt.Println("txtar") }\r\n',
        'package main\r\n\r\nimport "fmt"\r\n\r\nfunc main() { fmt.Println("program") }\r\n',
        "x12 := 1\r\nfmt.Println(x12)\r\n",
    ],
    "an_earlier_cells_lines_are_named_by_its_label": [
        "var rate = 3",
        C("// the total\nfunc total(n int) int {\n\treturn n * rate\n}", first_line=2),
        C("fmt.Println(total(2))", first_line=2),
    ],
    "a_cell_that_did_not_build_leaves_the_session_unchanged": [
        "func sq(x int) int { return x*x }",
        C("func sq(x int) int { return x*y }", builds=False),
        "fmt.Println(sq(5))",
    ],
    # -- cells refused before anything is built --------------------------------------------
    "text_that_is_not_unicode_is_refused": [
        C("fmt.Println(1)\nx := '\ud800'", first_line=2),
    ],
    # was test_snippets.py::test_txtar_names_that_escape_or_clash_are_refused (4 of 5)
    "txtar_names_that_escape_or_clash_are_refused": [
        C(f"package main\nfunc main() {{}}\n{marker}\npackage main", first_line=2)
        for marker in ("-- /etc/evil.go --", "-- a/../../evil.go --", "--   --", "-- main.go --")
    ],
    "txtar_names_that_cannot_be_files_are_refused": [
        C(f"package main\nfunc main() {{}}\n{files}", first_line=2)
        for files in ("-- . --\nx", "-- a --\nx\n-- a/b.go --\npackage a")
    ],
    "an_empty_cell_is_refused": ["  \n\t\n"],
    # -- test cells -------------------------------------------------------------------------
    "test_cells_with_the_session": [
        "func Add(a, b int) int { return a + b }",
        C(
            'func TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal("no")\n\t}\n}',
            test=True,
        ),
        C("", test=True),
    ],
    "a_test_cell_with_statements_is_refused": [
        C('fmt.Println("not a test")', test=True),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compose_golden(name: str) -> None:
    from golden import check

    check(name, CASES[name])


def test_every_golden_file_has_its_case() -> None:
    # A case renamed or removed must not leave a golden file nobody checks.
    if UPDATE:
        for path in GOLDEN_DIR.glob("*.txt"):
            if path.stem not in CASES:
                path.unlink()
    assert sorted(p.stem for p in GOLDEN_DIR.glob("*.txt")) == sorted(CASES)


@pytest.mark.e2e
def test_every_golden_program_builds_with_one_go_vet(tmp_path) -> None:
    """Every program of the cases, each a main package of one module, type-checked
    and vetted by a single `go vet ./...` (go compiles the packages in parallel)."""
    from gorun_kernel.build.scratch import go_mod_text
    from gorun_kernel.build.toolchain import find_toolchain

    tc = find_toolchain()
    (tmp_path / "go.mod").write_text(go_mod_text(tc))
    count = 0
    for name, cells in CASES.items():
        for label, files in programs(cells):
            where = tmp_path / name / f"cell{label.strip('[]')}"
            for path, text in files.items():
                (where / path).parent.mkdir(parents=True, exist_ok=True)
                (where / path).write_text(text)
            count += 1
    assert count > 40
    env = {**tc.command_env(os.environ), "GOFLAGS": "-mod=mod", "GOWORK": "off"}
    proc = subprocess.run(
        [tc.go, "vet", "./..."], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr + json.dumps(sorted(CASES))
