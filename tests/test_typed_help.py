"""Completion and inspection that know types, through a real kernel and the real helper.

The kernels here wait for the typeinfo helper as long as it takes
(GORUN_HELP_TIMEOUT), so that an answer is the helper's and not the fallback's
on a loaded machine; the fallback has its own tests. A typed answer carries
each match's kind in `_jupyter_types_experimental`; the fallback's does not.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from kernel_client import complete, execute, inspect, start
from test_cache_faults import read_only
from test_sessions import running, wait_gone

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.help import typeinfo

pytestmark = pytest.mark.e2e

PATIENT = {"GORUN_HELP_TIMEOUT": "300"}

SESSION = """
type Point struct{ X, Y int }

// Len is the length of p along X.
func (p Point) Len() int { return p.X }

// Scale multiplies p by f.
func (p *Point) Scale(f int) { p.X *= f; p.Y *= f }

type Named struct {
	Point
	Name string // what it is called
}

type Stack[T any] struct{ items []T }

func (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }

func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}
"""


@pytest.fixture(scope="module")
def kc():
    km, client = start(env=PATIENT)
    assert execute(client, SESSION).status == "ok"
    yield client
    client.stop_channels()
    km.shutdown_kernel(now=False)


def kinds(reply: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """name -> (kind, signature) of a typed completion reply."""
    assert reply["status"] == "ok"
    typed = reply["metadata"].get("_jupyter_types_experimental")
    assert typed is not None, f"not a typed answer: {reply}"
    assert [t["text"] for t in typed] == reply["matches"]
    assert {(t["start"], t["end"]) for t in typed} <= {(reply["cursor_start"], reply["cursor_end"])}
    return {t["text"]: (t["type"], t["signature"]) for t in typed}


def test_locals_in_scope_at_the_cursor(kc):
    code = "count := 3\ntotal := count * 2\nco\ncobalt := 1"
    reply = complete(kc, code, code.index("co\n") + 2)
    found = kinds(reply)
    assert found["count"] == ("var", "int")
    assert "cobalt" not in found  # declared after the cursor
    assert found["copy"] == ("func", "func(dst, src []Type) int")  # as builtin.go writes it
    assert found["const"][0] == "keyword"
    at = code.index("co\n")
    assert (reply["cursor_start"], reply["cursor_end"]) == (at, at + 2)


def test_parameters(kc):
    code = "func area(width, height int) int {\n\treturn wi\n}"
    found = kinds(complete(kc, code, code.index("wi\n") + 2))
    assert found["width"] == ("var", "int")


def test_value_and_pointer_methods_and_fields(kc):
    found = kinds(complete(kc, "p := Point{1, 2}\np."))
    assert found["Len"] == ("method", "func() int")
    assert found["Scale"] == ("method", "func(f int)")
    assert found["X"] == ("field", "int") and found["Y"] == ("field", "int")
    assert set(kinds(complete(kc, "q := &Point{}\nq.Sc"))) == {"Scale"}


def test_embedded_fields_are_promoted(kc):
    found = kinds(complete(kc, 'n := Named{Name: "a"}\nn.'))
    assert found["Point"] == ("field", "Point")
    assert found["Name"] == ("field", "string")
    assert {"X", "Y", "Len", "Scale"} <= set(found)


def test_struct_literal_fields(kc):
    found = kinds(complete(kc, "p := Point{X"))
    assert found["X"] == ("field", "int")
    reply = complete(kc, "p := Point{X: 1, ")
    assert reply["matches"][0] == "Y" and kinds(reply)["Y"] == ("field", "int")
    assert "X" not in reply["matches"]  # given already
    assert kinds(complete(kc, "ps := []Point{{Y"))["Y"] == ("field", "int")  # an elided type
    assert kinds(complete(kc, "n := &Named{Na"))["Name"] == ("field", "string")
    found = kinds(complete(kc, "count := 1\np := Point{X: co"))  # a value: names in scope
    assert found["count"] == ("var", "int") and "X" not in found


def test_fields_of_a_standard_library_struct(kc):
    found = kinds(complete(kc, 'u, _ := url.Parse("https://go.dev/x")\nu.Ho'))
    assert found == {"Host": ("field", "string"), "Hostname": ("method", "func() string")}


def test_generics(kc):
    found = kinds(complete(kc, "s := Stack[string]{}\ns.Pu"))
    assert found["Push"] == ("method", "func(v string)")  # instantiated with string
    assert kinds(complete(kc, "Ma"))["Map"] == (
        "func",
        "func[T, U any](xs []T, f func(T) U) []U",
    )


def test_the_cursor_after_blanks_at_the_end_of_a_line(kc):
    # The composed statement ends at `+`; the blank the user typed after it is not there.
    reply = complete(kc, "count := 3\ntotal := count + ")
    assert kinds(reply)["count"] == ("var", "int")
    assert reply["cursor_start"] == reply["cursor_end"] == len("count := 3\ntotal := count + ")


def test_a_cell_that_does_not_type_check_still_completes(kc):
    code = "count := 3\nvar s string = 5\nundefinedCall(s)\nco"
    assert kinds(complete(kc, code))["count"] == ("var", "int")


def test_members_of_a_package_the_snippet_imports_by_itself(kc):
    found = kinds(complete(kc, "strings.ToU"))
    assert found["ToUpper"] == ("func", "func(s string) string")
    assert "ToUpperSpecial" in found


def test_import_paths_complete_inside_the_quotes(kc):
    # Paths, as without types: never the names in scope (`string`, `struct`).
    reply = complete(kc, 'import "enc')
    assert "encoding/json" in reply["matches"]
    assert all(m.startswith("enc") for m in reply["matches"])
    assert (reply["cursor_start"], reply["cursor_end"]) == (8, 11)
    reply = complete(kc, 'import (\n\t"fmt"\n\t"net/ht')
    assert "net/http" in reply["matches"]
    assert all(m.startswith("net/ht") for m in reply["matches"])


def test_inspect_a_method_of_a_value(kc):
    code = "p := Point{}\np.Len()"
    text = inspect(kc, code, code.index("Len") + 1)["data"]["text/plain"]
    assert text.startswith("func (Point).Len() int")
    assert "Len is the length of p along X." in text
    assert "(declared at cell [1], line 5)" in text  # SESSION, the first cell
    code = 'var b strings.Builder\nb.WriteString("x")'
    text = inspect(kc, code, code.index("WriteString") + 3)["data"]["text/plain"]
    assert text.startswith("func (*strings.Builder).WriteString(s string) (int, error)")
    assert "appends the contents of s" in text


def test_inspect_a_variable_shows_its_type(kc):
    code = 'count := len("abc")\ncount'
    reply = inspect(kc, code, len(code))
    assert reply["found"] and reply["data"]["text/plain"].startswith("var count int")
    code = "var b strings.Builder\nb"
    text = inspect(kc, code, len(code))["data"]["text/plain"]
    assert text.startswith("var b strings.Builder") and "A Builder is used" in text


def test_a_function_still_being_typed_completes_and_inspects(kc):
    # `func ... {` not closed yet: go's parser would give up on it (the cell is closed first).
    code = "func gtEach(ps []Point) {\n\tvar tt = len(ps)\n\tfmt.Println(t"
    assert kinds(complete(kc, code))["tt"] == ("var", "int")
    text = inspect(kc, code, code.index("tt =") + 1)["data"]["text/plain"]
    assert text.startswith("var tt int\n(declared at line 2)")
    code = "func gtUpper() {\n\tfmt.Println(strings.ToUpper("
    text = inspect(kc, code, len(code))["data"]["text/plain"]
    assert text.startswith("func strings.ToUpper(s string) string")
    # A test cell as it is typed.
    code = "%%gotest\nfunc TestGtTyping(t *testing.T) {\n\tp := Point{}\n\tt.Err"
    assert set(kinds(complete(kc, code))) == {"Error", "Errorf"}


def test_a_half_typed_line_below_the_cursor_does_not_hide_what_is_above(kc):
    for code in [
        "func gtShow() {\n\tp := Point{}\n\tp.Len()\n\tfmt.Println(strings.ToUpper(",
        "func gtShow() {\n\tp := Point{}\n\tp.Len()\n\tswitch {\n\tcase",
        "p := Point{}\np.Len()\nfunc gtLater() {\n\tx :=",  # composed as it is
    ]:
        text = inspect(kc, code, code.index("Len") + 1)["data"]["text/plain"]
        assert text.startswith("func (Point).Len() int"), code
        found = kinds(complete(kc, code, code.index("p.Len") + 2))
        assert found["Len"] == ("method", "func() int"), code


def test_cursor_positions_past_the_end_are_clamped(kc):
    reply = complete(kc, "fmt.", 10)
    assert reply["status"] == "ok" and "Println" in reply["matches"]
    reply = complete(kc, "😀 fmt.Pri", 10)  # a frontend counting UTF-16 units
    assert reply["status"] == "ok" and {"Print", "Printf", "Println"} <= set(reply["matches"])
    assert inspect(kc, "fmt.Println", 99)["status"] == "ok"


def test_the_module_next_to_the_notebook(tmp_path):
    lib = tmp_path / "lib"
    (lib / "geom").mkdir(parents=True)
    (lib / "docs").mkdir()
    (lib / "go.mod").write_text("module example.org/lib\n\ngo 1.21\n")
    (lib / "geom" / "geom.go").write_text(
        "package geom\n\n// Area is the area of a w by h rectangle.\n"
        "func Area(w, h int) int { return w * h }\n"
    )
    km, kc = start(env=PATIENT, cwd=str(lib / "docs"))
    try:
        code = 'import "example.org/lib/geom"\ngeom.Ar'
        assert kinds(complete(kc, code)) == {"Area": ("func", "func(w int, h int) int")}
        assert execute(kc, 'import "example.org/lib/geom"\ngeom.Area(2, 3)').value == "6"
        assert set(kinds(complete(kc, "geom."))) == {"Area"}
        text = inspect(kc, "geom.Area(1, 1)", 6)["data"]["text/plain"]
        assert "Area is the area of a w by h rectangle." in text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_a_module_fetched_from_the_proxy(kc):
    result = execute(kc, 'import "example.com/greet"\nfmt.Println(greet.Hello("you"))')
    assert result.status == "ok", result.reply
    assert kinds(complete(kc, "greet.He")) == {"Hello": ("func", "func(name string) string")}
    text = inspect(kc, 'greet.Hello("x")', 8)["data"]["text/plain"]
    assert text.startswith("func greet.Hello(name string) string") and "Hello greets name." in text


def test_a_test_cell_completes_as_go_test_would_see_it(kc):
    code = "%%gotest\nfunc TestScale(t *testing.T) {\n\tp := Point{}\n\tp.Sc\n\tt.Err\n}"
    reply = complete(kc, code, code.index("p.Sc") + 4)
    assert kinds(reply) == {"Scale": ("method", "func(f int)")}
    assert reply["cursor_start"] == code.index("p.Sc") + 2
    found = kinds(complete(kc, code, code.index("t.Err") + 5))
    assert set(found) == {"Error", "Errorf"}


def test_help_while_a_cell_runs_does_not_wait_for_it(kc, tmp_path):
    # The cell blocks reading a FIFO until the test writes to it, after help came.
    fifo = tmp_path / "go-on"
    os.mkfifo(fifo)
    run_id = kc.execute(f'fmt.Println("waiting")\ndata, _ := os.ReadFile({json.dumps(str(fifo))})\n'
                        "fmt.Print(string(data))")  # fmt: skip
    try:
        while True:  # the cell runs once it printed
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") == run_id and msg["msg_type"] == "stream":
                break
        assert kinds(complete(kc, "count := 3\nco"))["count"] == ("var", "int")
        text = inspect(kc, "count := 3\ncount", 16)["data"]["text/plain"]
        assert text.startswith("var count int")
    finally:
        next_id = kc.execute('fmt.Println("next")')  # a cell sent meanwhile waits its turn
        with open(fifo, "w") as f:  # the cell goes on (also when help did not come)
            f.write("done\n")
    replies = {}
    while len(replies) < 2:
        reply = kc.get_shell_msg(timeout=120)
        if reply["parent_header"].get("msg_id") in (run_id, next_id):
            replies[reply["parent_header"]["msg_id"]] = reply["content"]["status"]
    assert replies == {run_id: "ok", next_id: "ok"}


def test_an_import_that_cannot_be_had_answers_without_types(kc):
    # Not in the module cache, and help never fetches: the helper knows nothing
    # of it, the fallback neither (not a standard package); locals still complete.
    code = 'import "example.com/nosuch"\nlimit := 1\nnosuch.Fo'
    reply = complete(kc, code)
    assert reply["status"] == "ok" and reply["matches"] == []
    assert kinds(complete(kc, code + "\nli"))["limit"] == ("var", "int")


def helpers_of(kernel_pid: int) -> list[int]:
    """The typeinfo helper processes the kernel started."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except (OSError, ValueError):
            continue
        if "(typeinfo)" in stat and int(stat.rsplit(")", 1)[1].split()[1]) == kernel_pid:
            found.append(int(entry))
    return found


def test_the_helper_starts_with_help_only_and_ends_with_the_kernel(tmp_path):
    km, kc = start(env=PATIENT, cwd=str(tmp_path))
    pid = km.provisioner.process.pid  # type: ignore[union-attr]
    try:
        assert execute(kc, "x := 2\nfmt.Println(x * 21)").stream() == "42\n"
        assert helpers_of(pid) == []  # a cell's build and run never start it
        assert kinds(complete(kc, "x := 2\nx"))["x"] == ("var", "int")
        (helper,) = helpers_of(pid)
        assert os.getsid(helper) == helper  # its own session: interrupts are not for it
        os.kill(helper, signal.SIGKILL)  # a crash: the next request starts another
        assert wait_gone(helper)
        assert kinds(complete(kc, "x := 2\nx"))["x"] == ("var", "int")
        (helper,) = helpers_of(pid)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert wait_gone(helper)


def test_the_helper_dies_with_a_killed_kernel(tmp_path):
    km, kc = start(env=PATIENT, cwd=str(tmp_path))
    pid = km.provisioner.process.pid  # type: ignore[union-attr]
    try:
        assert kinds(complete(kc, "x := 2\nx"))["x"] == ("var", "int")
        (helper,) = helpers_of(pid)
        os.kill(pid, signal.SIGKILL)  # no shutdown, no atexit
        assert wait_gone(helper)  # PR_SET_PDEATHSIG
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_cell_sent_while_the_helper_starts_runs_at_once(tmp_path):
    # A cache of its own: the helper is built for the first request (a go build).
    km, kc = start(env={**PATIENT, "GORUN_CACHE": str(tmp_path / "cache")}, cwd=str(tmp_path))
    try:
        assert execute(kc, 'fmt.Println("hi")').stream() == "hi\n"
        help_id = kc.complete("n := 5\nn", 8)
        run_id = kc.execute('fmt.Println("hi")')
        order = []
        while len(order) < 2:
            msg = kc.get_shell_msg(timeout=300)
            parent = msg["parent_header"].get("msg_id")
            if parent in (help_id, run_id):
                order.append((parent, msg["content"]))
        assert [p for p, _ in order] == [run_id, help_id]  # the cell did not wait
        assert kinds(order[1][1])["n"] == ("var", "int")  # and help still came, typed
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_without_the_helper_help_is_as_before(tmp_path, monkeypatch):
    """A helper that cannot run (here: a corrupt binary in the cache) costs nothing
    but the types: completion and inspection answer as they did without it."""
    monkeypatch.setenv("GORUN_CACHE", str(tmp_path / "cache"))
    exe = typeinfo.helper_path(find_toolchain())
    exe.parent.mkdir(parents=True)
    exe.write_bytes(b"\x7fELF not really")
    exe.chmod(0o755)
    km, kc = start(env={**PATIENT, "GORUN_CACHE": str(tmp_path / "cache")}, cwd=str(tmp_path))
    pid = km.provisioner.process.pid  # type: ignore[union-attr]
    try:
        for _ in range(2):
            reply = complete(kc, "strings.ToU")
            assert reply["status"] == "ok" and reply["matches"] == ["ToUpper", "ToUpperSpecial"]
            assert "_jupyter_types_experimental" not in reply["metadata"]
        reply = inspect(kc, "strings.ToUpper", 10)
        assert reply["found"] and "func ToUpper(s string) string" in reply["data"]["text/plain"]
        # Shift-Tab in an open call, in a function not closed yet: the call's function.
        code = "func f() {\n\tfmt.Println(strings.ToUpper("
        reply = inspect(kc, code, len(code))
        assert reply["found"] and "func ToUpper(s string) string" in reply["data"]["text/plain"]
        assert execute(kc, 'fmt.Println("still fine")').stream() == "still fine\n"
        assert [p for p in helpers_of(pid) if running(p)] == []
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_a_read_only_cache_still_gets_typed_help(tmp_path):
    """The helper cannot be kept in a read-only GORUN_CACHE: it is built into the
    session's own directory, and completion still knows types."""
    cache = tmp_path / "cache"
    cache.mkdir()
    with read_only(cache):
        km, kc = start(env={**PATIENT, "GORUN_CACHE": str(cache)}, cwd=str(tmp_path))
        try:
            assert kinds(complete(kc, "count := 3\nco"))["count"] == ("var", "int")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=False)


def test_go_completion_in_gorun_cells_of_a_python_kernel(tmp_path):
    """The magic's Go matcher, through ipykernel's own completion (with kinds)."""
    km, kc = start(env=PATIENT, cwd=str(tmp_path), kernel_name="python3")
    try:
        assert execute(kc, "%load_ext gorun_kernel").status == "ok"
        assert execute(kc, "%%gorun --quiet\n" + SESSION).status == "ok"
        code = "%%gorun\np := Point{}\np.Sc"
        reply = complete(kc, code)
        assert reply["matches"] == ["Scale"]
        assert (reply["cursor_start"], reply["cursor_end"]) == (len(code) - 2, len(code))
        (typed,) = reply["metadata"]["_jupyter_types_experimental"]
        assert typed["type"] == "method"
        code = "%%gorun --timeout 5s\nvar b strings.Builder\nb.Wri"
        assert complete(kc, code)["matches"] == ["Write", "WriteByte", "WriteRune", "WriteString"]
        assert complete(kc, '%%gorun\nimport "encoding/j')["matches"] == ["encoding/json"]
        assert "real" in complete(kc, "number = 1\nnumber.rea")["matches"]  # Python stays Python
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


@pytest.mark.e2e
def test_shift_tab_in_gorun_cells_of_a_python_kernel_answers_for_go(tmp_path):
    """Inspection (issue 22 item 4): the extension routes the running kernel's
    inspection of %%gorun and %%gotest cells to the Go helper; Python stays Python."""
    km, kc = start(env=PATIENT, cwd=str(tmp_path), kernel_name="python3")
    try:
        assert execute(kc, "%load_ext gorun_kernel").status == "ok"
        assert execute(kc, "%%gorun --quiet\n" + SESSION).status == "ok"
        code = "%%gorun\np := Point{}\np.Len()"
        reply = inspect(kc, code, code.index("Len") + 1)
        assert reply["found"], reply
        assert "func (Point).Len() int" in reply["data"]["text/plain"]
        assert "Len is the length of p along X." in reply["data"]["text/plain"]
        code = "%%gotest\nfunc TestX(t *testing.T) {\n\tstrings.ToUpper"
        text = inspect(kc, code, len(code) - 3)["data"]["text/plain"]
        assert "func strings.ToUpper(s string) string" in text
        # The magic's own line, and Python cells, are IPython's.
        assert "Call signature" not in str(inspect(kc, code, 3))
        python = inspect(kc, "len", 3)
        assert python["found"] and "Return the number of items" in python["data"]["text/plain"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
