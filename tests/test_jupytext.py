"""Jupytext: Go notebooks as `.go` percent scripts and back, every cell form intact."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parent.parent
GO_NOTEBOOKS = [
    p
    for p in sorted((ROOT / "notebooks").glob("**/*.ipynb"))
    if nbformat.read(p, as_version=4).metadata["kernelspec"]["name"] == "gorun"
]

# Every line form of a cell: our command lines (jupytext comments them out as
# magics: `// %%gorun -race`), Go comments that look like them, txtar cells,
# and the GoNB forms jupytext escapes (`//gonb:%%`).
CELLS = [
    "%goflags -race --timeout 10s",
    "%%gorun\nfmt.Println(1)",
    "%%gorun -tags 'a b' --timeout 5 -- -x y\nfmt.Println(os.Args[1:])",
    '%env GREETING=hi\n%timeout 5s\n%%gorun -race\nfmt.Println(os.Getenv("GREETING"))',
    "!ls -l\n!echo two words",
    "%gorun ./cmd/tool arg",
    "%list\n%rm sq\n%help",
    '-- main.go --\npackage main\n\nimport "m/sub"\n\nfunc main() { sub.Hi() }\n'
    "-- go.mod --\nmodule m\n-- sub/sub.go --\npackage sub\n\nfunc Hi() {}",
    "%%gorun --quiet\n-- main.go --\npackage main\nfunc main() {}\n-- data.txt --\n%%gorun\n!x",
    '// %v prints a value; // !important\nfmt.Printf("%v\\n", 3)',
    "//%gorun in a comment\nx := 7 %\n\t2\nfmt.Println(x)",
    "s := `\n%%gorun\n!ls\n// %%\n`\nfmt.Print(s)",
    "// %%\nfmt.Println(6)",
    "func sq(x int) int { return x * x }\n\nsq(3)",
]


def jupytext(*args: str, cwd: Path) -> None:
    exe = shutil.which("jupytext", path=str(Path(sys.executable).parent))
    assert exe is not None, 'jupytext is in the test extra: pip install -e ".[test]"'
    subprocess.run([exe, *args], cwd=cwd, check=True, capture_output=True)


def round_trip(nb_path: Path, fmt: str, tmp: Path) -> tuple[str, nbformat.NotebookNode]:
    """`jupytext --to fmt`, then `jupytext --to ipynb` of that: (the script, the notebook)."""
    script = tmp / f"{nb_path.stem}.{fmt.split(':')[0]}"
    jupytext("--to", fmt, str(nb_path), "-o", str(script), cwd=tmp)
    back = tmp / f"{nb_path.stem}.back.ipynb"
    jupytext("--to", "ipynb", str(script), "-o", str(back), cwd=tmp)
    return script.read_text(), nbformat.read(back, as_version=4)


def round_trip_in_process(nb_path: Path, fmt: str) -> tuple[str, nbformat.NotebookNode]:
    """The same through jupytext's API (what its command line calls), without the start-up."""
    import jupytext as jt

    script = jt.writes(jt.read(nb_path), fmt=fmt)
    return script, jt.reads(script, fmt=fmt)


def cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


@pytest.mark.e2e
def test_every_cell_form_survives_go_percent(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "gorun", "display_name": "Go (gorun)", "language": "go"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Forms\n\nSome *text*.")]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in CELLS]
    path = tmp_path / "forms.ipynb"
    nbformat.write(nb, path)
    script, back = round_trip(path, "go:percent", tmp_path)
    assert cells(back) == cells(nb)
    assert back.metadata["kernelspec"]["name"] == "gorun"
    # The script's form: command lines commented out, txtar markers as they are.
    assert "// %%\n// %%gorun -tags 'a b' --timeout 5 -- -x y\nfmt.Println" in script
    assert "// %%\n// !ls -l\n// !echo two words\n" in script
    assert "\n-- go.mod --\nmodule m\n" in script


@pytest.mark.parametrize("path", GO_NOTEBOOKS, ids=lambda p: p.name)
def test_shipped_go_notebooks_survive_go_percent(path):
    _, back = round_trip_in_process(path, "go:percent")
    original = nbformat.read(path, as_version=4)
    assert cells(back) == cells(original)
    tags = [c.metadata.get("tags", []) for c in original.cells]
    assert [c.metadata.get("tags", []) for c in back.cells] == tags  # parameters, raises-exception


def test_the_magic_notebook_survives_py_percent():
    path = ROOT / "notebooks" / "gorun-magic.ipynb"
    script, back = round_trip_in_process(path, "py:percent")
    assert cells(back) == cells(nbformat.read(path, as_version=4))
    assert "# %%gorun" in script  # the cell magic, commented out, is not a cell marker
