"""compose/linedirs.py: //line directives make go name the user's lines (pure).

The check reads the annotated file as go does: a `//line name:N:1` directive gives
the next line position (name, N), and each line after it the next number.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gorun_kernel.compose.linedirs import annotate, cell_file, merge
from gorun_kernel.diagnostics import Origin


def positions(rows: list[str]) -> list[tuple[str, int] | None]:
    """The (file, line) go gives each row; None for the directives themselves."""
    found: list[tuple[str, int] | None] = []
    at: tuple[str, int] = ("main.go", 1)
    for line in rows:
        if line.startswith("//line "):
            name, number, _ = line.removeprefix("//line ").rsplit(":", 2)
            found.append(None)
            at = (name, int(number))
            continue
        found.append(at)
        at = (at[0], at[1] + 1)
    return found


# A generated file: our lines (None; "" is a blank one) and runs of cell lines.
LINES = st.lists(
    st.one_of(
        st.sampled_from([None, ""]),
        st.tuples(st.sampled_from([None, "[1]", "[2]"]), st.integers(1, 30)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(LINES)
def test_every_line_is_where_go_will_say_it_is(spec):
    lines, origins = [], []
    for i, item in enumerate(spec):
        if item is None:
            lines.append(f"ours{i}()")
            origins.append(None)
        elif item == "":
            lines.append("")
            origins.append(None)
        else:
            cell, number = item
            lines.append(f"user{i}()")
            origins.append(Origin(number, f"user{i}()", cell))
    text, table = annotate("main.go", lines, origins)
    assert text.endswith("\n")
    rows = text[:-1].split("\n") if lines else []  # (no lines: the text is one newline)
    written = [(line, pos) for line, pos in zip(rows, positions(rows), strict=True) if pos]
    assert [line for line, _ in written] == lines  # the directives are all we added
    for (line, pos), origin in zip(written, origins, strict=True):
        if origin is not None:
            assert pos == (cell_file(origin.cell), origin.line)  # the user's line
        elif line:
            assert pos[0] == "main.go"  # never a user's line for one of ours
            assert table["main.go"][pos[1] - 1] is None


def test_cell_file_names_are_safe_for_a_directive():
    assert cell_file(None) == "cell"
    assert cell_file("[3]") == "cell[3]"
    assert cell_file("[a b:c]") == "cell[a_b_c]"  # no space or colon in a //line name


def test_a_head_of_cgo_preamble_gets_no_directive():
    text, _ = annotate("main.go", ["// #include <x.h>", 'import "C"'], [None, Origin(1, "x")], 1)
    assert text.split("\n")[0] == "// #include <x.h>"
    assert text.split("\n")[1] == "//line cell:1:1"


def test_merge_joins_the_current_cells_lines_from_several_files():
    a = Origin(1, "one")
    b = Origin(3, "three")
    table = {"cell": [a, None, None]}
    merge(table, {"cell": [None, None, b], "main.go": [None]})
    assert table["cell"] == [a, None, b] and table["main.go"] == [None]
