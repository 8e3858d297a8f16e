"""A final print call's value: shown by golib/printed in the kernel, by golib/value elsewhere.

A cell ending in fmt.Println(...) shows its results, (n, err), only when err is
not nil. golib/value shows them as a tuple's text; so does golib/printed, which
links nothing fmt does not (value brings image, encoding/base64, bufio: 13-14 ms
of every edited hello cell's link). The kernel's cells use printed when the value
goes to the kernel alone; the magic's (a data channel to Python), --wasm cells
(a page) and any other final value use value. Both show the same text.
"""

from __future__ import annotations

import pytest
from engine_tier import run as run_in
from golden import std_index

from gorun_kernel.compose.compose import compose_cell
from gorun_kernel.compose.emit import PRINTED_HELPER_SOURCE, VALUE_HELPER, VALUE_HELPER_SOURCE
from gorun_kernel.compose.session import Session
from gorun_kernel.run.runner import may_display

# A print call whose error is not nil: its (n, err) is the cell's value.
FAILING_PRINT = (
    "type full struct{}\n\n"
    'func (full) Write(p []byte) (int, error) { return 0, errors.New("disk full") }\n\n'
    'fmt.Fprintln(full{}, "x")'
)


def composed_files(cells: list[str], shown_only: bool = True) -> dict[str, str]:
    """The files of the last of cells (run in one session)."""
    session = Session()
    composed = None
    for i, code in enumerate(cells, 1):
        composed = compose_cell(code, 1, f"[{i}]", session, std_index, shown_only=shown_only)
        assert composed.plan is not None
        session.commit(composed.plan)
    assert composed is not None
    return composed.files


def helper(cells: list[str], shown_only: bool = True) -> str:
    """The value helper the last of cells is composed with."""
    return composed_files(cells, shown_only).get(VALUE_HELPER, "")


@pytest.mark.parametrize(
    "cell", ['fmt.Println("hi")', 'fmt.Printf("%d\\n", 1)', 'fmt.Fprint(os.Stdout, "x")']
)
def test_a_final_fmt_print_shown_by_the_kernel_alone_links_printed(cell):
    files = composed_files([cell])
    assert files[VALUE_HELPER] == PRINTED_HELPER_SOURCE
    # printed never displays: the run gets no display channel (a socket pair per run)
    std = std_index()
    assert not may_display(files, lambda path: std.name_of(path) is not None)


@pytest.mark.parametrize(
    "cells",
    [
        ["x := 6 * 7\nx"],  # a value: its richer forms are value's
        ["p := fmt.Println\np(1)"],  # a print through a name bound to it
        ['os.Stdout.WriteString("x")'],  # a write, not fmt's: its results may be anything
        ['import fmt "log"\nfmt.Println("x")'],  # a package of another path named fmt
        ['errors.New("x")'],
    ],
)
def test_any_other_final_value_links_value(cells):
    assert helper(cells) == VALUE_HELPER_SOURCE


def test_a_final_print_whose_value_goes_to_python_or_a_page_links_value():
    assert helper(['fmt.Println("hi")'], shown_only=False) == VALUE_HELPER_SOURCE


@pytest.mark.e2e
def test_a_failing_print_shows_its_tuple_in_the_kernel(go_engine):
    # (the engine run as the kernel runs it: no data channel, printed shows it)
    outcome, _ = run_in(go_engine, FAILING_PRINT)
    assert outcome.ok and outcome.value == "(0, disk full)", outcome


@pytest.mark.e2e
def test_a_failing_print_in_the_magic_shows_the_same_tuple_through_value(run):
    result, _, _ = run("%%gorun\n" + FAILING_PRINT)
    assert repr(result.result) == "(0, disk full)"
