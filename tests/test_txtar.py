"""compose/txtar.py: multi-file cells split into files and their line table (pure)."""

from __future__ import annotations

import pytest

from gorun_kernel.compose import txtar
from gorun_kernel.errors import CellError


def test_text_before_the_first_marker_is_main_go_and_each_marker_starts_a_file():
    code = "package main\nfunc main() {}\n-- a/b.go --\npackage a\n-- data.txt --\nhi"
    files, table = txtar.split(code, first_line=2)
    assert files == {
        "main.go": "package main\nfunc main() {}\n",
        "a/b.go": "package a\n",
        "data.txt": "hi\n",
    }
    # Origins are the notebook's lines: the cell starts at line 2, markers are lines too.
    assert [(o.line, o.text) for o in table["a/b.go"]] == [(5, "package a")]
    assert [o.line for o in table["main.go"]] == [2, 3]


def test_only_blank_text_before_the_first_marker_is_no_main_go():
    files, _ = txtar.split("\n  \n-- main.go --\npackage main", first_line=1)
    assert list(files) == ["main.go"] and files["main.go"] == "package main\n"


def test_a_crlf_marker_is_a_marker_and_a_data_file_keeps_its_crlf():
    files, table = txtar.split("-- x.txt --\r\na\r\nb\r\n", first_line=1)
    assert files == {"x.txt": "a\r\nb\r\n"}
    assert table["x.txt"][0].text == "a"  # quoted without the CR


@pytest.mark.parametrize(
    ("code", "is_one"),
    [
        ("fmt.Println(1)", False),
        ("x := `\n-- not at column 0 --`", False),
        ("package main\n-- go.mod --\nmodule m", True),
        ("-- main.go --\r\npackage main", True),
    ],
)
def test_is_txtar_needs_a_marker_line(code, is_one):
    assert txtar.is_txtar(code) is is_one


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a\\b.go", "use / to separate directories"),
        ("C:/x.go", "absolute paths"),
        ("./x.go", "must be clean"),
        ("a//b.go", "must be clean"),
        (".gorun-value/x", "reserved"),
        ("/".join(["d"] * 33) + ".go", "more than 32 directories deep"),
    ],
)
def test_names_that_are_not_clean_paths_inside_the_module_are_refused(name, why):
    with pytest.raises(CellError, match=why) as info:
        txtar.split(f"package main\n-- {name} --\nx", first_line=1)
    assert info.value.message.startswith("line 2: bad file name")


def test_a_go_sum_without_its_go_mod_is_refused_at_its_line():
    with pytest.raises(CellError) as info:
        txtar.split("package main\n-- go.sum --\nexample.com/x v1 h1:abc=", first_line=3)
    assert info.value.message.startswith("line 4: a go.sum needs the go.mod")
