"""The documentation notebooks (notebooks/*.ipynb) as a reader sees them.

nbval (see pyproject.toml) re-runs them and compares outputs; these tests check
what it does not: the saved notebooks were run top to bottom with errors only
where a cell is tagged to expect one, and `jupyter nbconvert --to html` renders
them with Go syntax highlighting (the kernel's language_info names the `go`
pygments lexer), and renders the `%%gorun` cells of the Python notebook.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
RAISES = "nbval-raises-exception"


def notebooks(kernel: str) -> list[str]:
    """The notebooks (paths relative to notebooks/) whose kernelspec is `kernel`."""
    return [
        p.relative_to(NOTEBOOKS).as_posix()
        for p in sorted(NOTEBOOKS.rglob("*.ipynb"))
        if ".ipynb_checkpoints" not in p.parts
        and nbformat.read(p, as_version=4).metadata.kernelspec.name == kernel
    ]


GO_NOTEBOOKS = notebooks("gorun")
PYTHON_NOTEBOOKS = notebooks("python3")


def test_the_documentation_notebooks_are_found():
    assert {"tour.ipynb", "classroom.ipynb"} <= set(GO_NOTEBOOKS)
    assert "gorun-magic.ipynb" in PYTHON_NOTEBOOKS


# One code cell of nbconvert's HTML: its cell id, then the highlighted source.
CODE_CELL = re.compile(
    r'<div class="jp-Cell jp-CodeCell[^"]*" id="cell-id=([^"]+)">.*?'
    r'<div class="highlight hl-([\w-]+)"><pre>(.*?)</pre>',
    re.S,
)
TAG = re.compile(r"<[^>]+>")


def span(css: str, text: str) -> str:
    return f'<span class="{css}">{text}</span>'


def rendered(name: str, outdir: str) -> tuple[str, dict[str, tuple[str, str]]]:
    """The notebook's HTML, and {cell id: (lexer, highlighted source)} of its code cells."""
    page = (Path(outdir) / Path(name).name).with_suffix(".html").read_text(encoding="utf-8")
    return page, {cid: (lexer, pre) for cid, lexer, pre in CODE_CELL.findall(page)}


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every documentation notebook rendered by one `jupyter nbconvert --to html` run.

    One command for them all, as a user converting a folder would type it: the
    pages are the same as one run per notebook, without a Python start per notebook.
    """
    names = GO_NOTEBOOKS + PYTHON_NOTEBOOKS
    pages = [Path(name).name for name in names]
    assert len(set(pages)) == len(pages), f"two notebooks would write one page: {names}"
    out = str(tmp_path_factory.mktemp("html"))
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html",
         "--output-dir", out, *(str(NOTEBOOKS / name) for name in names)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


def code_cells(name: str) -> list[nbformat.NotebookNode]:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("name", GO_NOTEBOOKS + PYTHON_NOTEBOOKS)
def test_saved_notebook_ran_in_order_with_only_tagged_errors(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    cells = code_cells(name)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    for c in cells:
        errors = [o for o in c.outputs if o.output_type == "error"]
        tagged = RAISES in c.metadata.get("tags", [])
        assert bool(errors) == tagged, f"cell {c.id}: error outputs {errors}, tagged {tagged}"


@pytest.mark.e2e
@pytest.mark.parametrize("name", GO_NOTEBOOKS)
def test_go_notebook_renders_with_go_highlighting(name, outdir):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert nb.metadata.language_info.name == "go"
    assert nb.metadata.language_info.pygments_lexer == "go"
    page, blocks = rendered(name, outdir)
    cells = code_cells(name)
    assert set(blocks) == {c.id for c in cells}
    for c in cells:
        lexer, pre = blocks[c.id]
        assert lexer == "go", c.id
        assert html.unescape(TAG.sub("", pre)).rstrip("\n") == c.source, c.id
        assert 'class="err"' not in pre, f"{c.id}: the Go lexer did not understand {pre}"
        lines = c.source.splitlines()
        for keyword in ("func", "var", "type"):  # Go's declaration keywords: class kd
            if any(line.startswith(f"{keyword} ") for line in lines):
                assert span("kd", keyword) in pre, f"{c.id}: {keyword} not highlighted"
        if "package main" in lines:
            assert span("kn", "package") in pre, c.id
    go_code = "".join(pre for _, pre in blocks.values())
    for css in ("kd", "k", "kt", "nx", "s", "mi"):  # keyword kinds, names, strings, numbers
        assert f'<span class="{css}">' in go_code, css
    assert "exit status 0" in page  # outputs render too


@pytest.mark.e2e
@pytest.mark.parametrize("name", PYTHON_NOTEBOOKS)
def test_python_notebook_renders_gorun_cells(name, outdir):
    page, blocks = rendered(name, outdir)
    cells = code_cells(name)
    assert set(blocks) == {c.id for c in cells}
    gorun_cells = [c for c in cells if c.source.startswith(("%%gorun", "%gorun"))]
    assert len(gorun_cells) >= 4
    for c in cells:
        lexer, pre = blocks[c.id]
        assert lexer == "ipython3", c.id
        assert html.unescape(TAG.sub("", pre)).rstrip("\n") == c.source, c.id
    for c in gorun_cells:
        _, pre = blocks[c.id]
        magic = "%%" if c.source.startswith("%%") else "%"
        assert pre.startswith("<span></span>" + span("o", magic) + span("k", "gorun")), c.id
    python_code = "".join(pre for _, pre in blocks.values())
    assert span("kn", "import") in python_code  # the Python cells are highlighted as Python
    assert "hello from Go" in page and "exit status 0" in page
