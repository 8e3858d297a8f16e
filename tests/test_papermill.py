"""papermill parameterizes Go notebooks: the translator, through papermill's own CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from kernel_client import execute

ROOT = Path(__file__).parent.parent
NOTEBOOK = ROOT / "notebooks" / "parameters.ipynb"


def papermill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "papermill", "--start-timeout", "180", *args],
        cwd=cwd, capture_output=True, text=True,
    )  # fmt: skip


@pytest.mark.e2e
def test_papermill_cli_passes_parameters_to_go_cells(tmp_path):
    out = tmp_path / "out.ipynb"
    proc = papermill("-p", "n", "5", "-p", "name", "Ada", str(NOTEBOOK), str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Passed unknown parameter" not in proc.stderr  # papermill read the Go parameters
    nb = nbformat.read(out, as_version=4)
    (injected,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected.source == '// Parameters\nvar n = 5\nvar name = "Ada"\n'
    code = [c for c in nb.cells if c.cell_type == "code"]
    after = code[code.index(injected) + 1 :]
    assert after[0].outputs[0]["text"] == "".join(f"{i}. Hello, Ada!\n" for i in range(1, 6))
    (value,) = [o for o in after[1].outputs if o["output_type"] == "execute_result"]
    assert value["data"]["text/plain"] == '"AAAAA"'


@pytest.mark.e2e
def test_papermill_help_lists_the_go_parameters(tmp_path):
    proc = papermill("--help-notebook", str(NOTEBOOK), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "n: int (default 3)" in proc.stdout and "how many greetings" in proc.stdout
    assert 'name: string (default "Gopher")' in proc.stdout


VALUES = {
    "count": 5,
    "ratio": 2.5,
    "whole": 2.0,
    "big": 2**64 - 1,
    "ok": True,
    "nothing": None,
    "words": ["a", "b"],
    "nums": [1, 2.5],
    "grid": [[1, 2], [3]],
    "mixed": [1, "a", None, {"k": True}],
    "empty": [],
    "ages": {"Ada": 36, "Alan": 41},
    "groups": {"x": ["a"], "y": []},
    "byid": {1: "one", 2: "two"},
    "odd": {"a": 1, "b": "two"},
    "inf": float("-inf"),
}
# What Go says of each (%T and %v): typed where the elements agree (an empty list
# agrees with any slice type), any otherwise.
EXPECTED = """\
count int 5
ratio float64 2.5
whole float64 2
big uint64 18446744073709551615
ok bool true
nothing <nil> <nil>
words []string [a b]
nums []float64 [1 2.5]
grid [][]int [[1 2] [3]]
mixed []interface {} [1 a <nil> map[k:true]]
empty []interface {} []
ages map[string]int map[Ada:36 Alan:41]
groups map[string][]string map[x:[a] y:[]]
byid map[int]string map[1:one 2:two]
odd map[string]interface {} map[a:1 b:two]
inf float64 -Inf
"""


def test_parameters_are_go_literals_of_the_right_types(kc):
    from gorun_kernel.frontends.papermill_go import GoTranslator

    cell = GoTranslator.codify(VALUES)
    assert execute(kc, cell).status == "ok"
    show = "".join(f'fmt.Printf("{name} %T %v\\n", {name}, {name})\n' for name in VALUES)
    assert execute(kc, show).stream() == EXPECTED


def test_strings_reach_go_byte_for_byte(kc):
    from gorun_kernel.frontends.papermill_go import GoTranslator

    text = 'quote " backslash \\ newline \n tab \t nul \x00 é 😀 bom \ufeff sep \u2028 del \x7f'
    execute(kc, GoTranslator.codify({"text": text}))
    assert execute(kc, 'fmt.Printf("%x", text)').stream() == text.encode().hex()


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("type", "is a Go keyword"),
        ("my-param", "not a Go identifier"),
        ("2x", "not a Go"),
        ("init", "names a func in Go's package main"),
        ("main", "names a func in Go's package main"),
    ],
)
def test_names_go_cannot_take_are_refused_clearly(name, why):
    from papermill.exceptions import PapermillException

    from gorun_kernel.frontends.papermill_go import GoTranslator

    with pytest.raises(PapermillException, match=why):
        GoTranslator.codify({name: 1})


def test_an_integer_beyond_uint64_is_refused_clearly():
    from papermill.exceptions import PapermillException

    from gorun_kernel.frontends.papermill_go import GoTranslator

    with pytest.raises(PapermillException, match="does not fit in a Go integer"):
        GoTranslator.codify({"n": 2**64})


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (1 + 2j, "a Python complex has no Go literal"),
        (b"\xff\x00", "a Python bytes has no Go literal"),
        ([1, {"k": bytearray(b"x")}], "a Python bytearray has no Go literal"),
        ({1, 2}, "a Python set has no Go literal"),
        (_nested(900), "nested deeper than 100 levels"),
    ],
)
def test_values_go_cannot_take_are_refused_clearly(value, why):
    from papermill.exceptions import PapermillException

    from gorun_kernel.frontends.papermill_go import GoTranslator

    with pytest.raises(PapermillException, match=why):
        GoTranslator.codify({"v": value})
    with pytest.raises(PapermillException, match=why):
        GoTranslator.translate(value)


def test_dates_and_nesting_within_the_bound_still_translate():
    import datetime

    from gorun_kernel.frontends.papermill_go import GoTranslator

    assert GoTranslator.translate(datetime.date(2026, 12, 7)) == '"2026-12-07"'
    assert GoTranslator.translate(_nested(100)) == "[]" * 101 + "any" + "{" * 101 + "}" * 101
