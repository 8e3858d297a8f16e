"""When a snippet's declarations join the session, and what the session commands say
about it, through a real kernel and the %%gorun magic in real IPython.

A cell's declarations join once its program got past initialization (main began);
a cell whose initializer or init failed leaves the session as it was, as a cell
that fails to build does. The kernel is shared by the module: each test uses names
of its own.
"""

from __future__ import annotations

import pytest
from kernel_client import execute

pytestmark = pytest.mark.e2e


def ok(kc, code: str, **kw):
    r = execute(kc, code, **kw)
    assert r.status == "ok", r.messages
    return r


def listed(kc) -> list[str]:
    return [line.split()[0] for line in ok(kc, "%list").stream().splitlines()]


# -- a cell whose program did not get past init changes nothing ----------------------
# The engine's rules: test_engine_semantics.py (a failed initializer, init or exit; a
# replacement failing in init; the cell's own statements or main failing).


def test_magic_a_failed_initializer_does_not_join(run):
    result, out, err = run('%%gorun --quiet\nvar mz = func() int { panic("boom mz") }()\n')
    assert result.error_in_exec is not None and "panic: boom mz" in out + err
    result, out, _ = run('%%gorun --quiet\nfmt.Println("after")\n')
    assert result.success and out == "after\n"


# -- what %reset and %list say --------------------------------------------------------


def test_reset_says_what_it_forgot(kc):
    ok(kc, "%reset")
    ok(kc, 'import "strings"\nfunc up(s string) string { return strings.ToUpper(s) }\ntype R int')
    ok(kc, 'fmt.Println(cache.Value("reset-key", func() int { return 3 }))')
    r = ok(kc, "%reset")
    assert r.stream() == "forgot 2 declarations, 1 import and 1 kept value\n"
    assert ok(kc, "%reset").stream() == "nothing to forget\n"


def test_magic_reset_says_what_it_forgot(run):
    run("%%gorun --quiet\nvar one = 1\n")
    assert run("%gorun_reset")[1] == "forgot 1 declaration\n"
    assert run("%gorun_reset")[1] == "nothing to forget\n"


def test_list_takes_no_arguments(kc, run):
    r = execute(kc, "%list extra")
    assert r.reply["content"]["ename"] == "UsageError"
    assert r.reply["content"]["evalue"] == (
        "usage: %list (no arguments; a cell of just NAME?? shows a declaration's source)"
    )
    result, _, _ = run("%gorun_list extra")
    assert "usage: %gorun_list (no arguments" in str(result.error_in_exec)


# -- the declaration-only status names this cell's own declarations ---------------------


def test_magic_status_names_only_this_cells_declarations(run):
    # run_cell without history: every cell has the same execution count, so the
    # same label; the status must still be about this cell alone.
    def status(cell: str) -> str:
        result, out, _ = run("%%gorun\n" + cell + "\n")
        assert result.success, out
        return out.split(" · ")[0]

    assert status("func a4() int { return 1 }") == "declared: a4"
    assert status("func a4() int { return 1 }") == "declared: a4"  # run again
    assert status("func b4() int { return 2 }\ntype P4 struct{}") == "declared: b4, P4"
    assert status("func a4() int { return 3 }") == "declared: a4"  # edited
    assert status('import "strings"\nvar s4 = strings.ToUpper("x")') == (
        "declared: s4; imported: strings"
    )


# -- a name declared twice in one cell ------------------------------------------------


# A var and an import of one name: the golden case
# a_var_and_an_import_of_one_name_in_one_cell_are_refused (test_compose_golden.py).
@pytest.mark.parametrize(("cell", "line"), [("func twice() {}\nfunc twice() {}", 2)])
def test_a_name_declared_twice_in_one_cell_is_an_error_at_the_second(kc, cell, line):
    # As in a Go file; the session keeps neither (a later cell replaces, not this one).
    name = "twice" if "twice" in cell else "t2"
    r = execute(kc, cell)
    assert r.reply["content"]["ename"] == "CellError"
    assert r.reply["content"]["evalue"] == (
        f"line {line}: {name} redeclared in this cell (the first declaration is at line 1)"
    )
    assert name not in listed(kc)


# -- how the magic names its cells ---------------------------------------------------


def test_magic_names_a_cell_by_its_in_number(ip, capsys):
    # IPython 9 counts a cell before running it (execution_count is then In's
    # number + 1): the declaration is still listed as made in In's cell.
    result = ip.run_cell("%%gorun --quiet\nfunc named5() int { return 1 }\n", store_history=True)
    assert result.success
    capsys.readouterr()
    ip.run_cell("%gorun_list")
    assert capsys.readouterr().out == f"named5  func    cell [{result.execution_count}]\n"
