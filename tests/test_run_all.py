"""Run All on every shipped notebook, as JupyterLab, nbconvert and papermill do it.

Cells that fail on purpose carry the standard `raises-exception` tag (which
JupyterLab's Run All, nbclient and so nbconvert --execute and papermill honour)
as well as nbval's own `nbval-raises-exception`: every cell runs, and the ones
that fail are exactly the tagged ones.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("**/*.ipynb"))
IDS = [str(p.relative_to(ROOT / "notebooks")) for p in NOTEBOOKS]
# Seconds for a kernel to start (the tools' default is 60; a loaded CI machine
# has taken longer).
START_TIMEOUT = 180


def _code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def tagged(nb: nbformat.NotebookNode, tag: str = "raises-exception") -> list[int]:
    return [i for i, c in _code_cells(nb) if tag in c.metadata.get("tags", [])]


def failed(nb: nbformat.NotebookNode) -> list[int]:
    return [i for i, c in _code_cells(nb) if any(o.output_type == "error" for o in c.outputs)]


def unrun(nb: nbformat.NotebookNode) -> list[int]:
    return [i for i, c in _code_cells(nb) if c.execution_count is None]


def test_the_notebooks_are_found():
    assert len(NOTEBOOKS) >= 4, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_deliberate_failures_carry_the_standard_tag(path):
    nb = nbformat.read(path, as_version=4)
    assert tagged(nb) == tagged(nb, "nbval-raises-exception")


@pytest.mark.e2e
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_nbclient_runs_every_cell(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # allow_errors=False, as Run All: an untagged failure would raise here.
    client = NotebookClient(nb, timeout=300, startup_timeout=START_TIMEOUT,
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    client.execute()
    assert unrun(nb) == []
    assert failed(nb) == tagged(nb)


@pytest.mark.e2e
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_papermill_runs_every_cell(path, tmp_path):
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from papermill.execute import remove_error_markers

    out = tmp_path / path.name
    expected = tagged(nbformat.read(path, as_version=4))
    run = {"cwd": str(path.parent), "progress_bar": False, "start_timeout": START_TIMEOUT}
    if expected:
        # papermill runs on past tagged cells (its nbclient honours the tag), but
        # its verdict counts any error output: the run itself then fails.
        with pytest.raises(PapermillExecutionError):
            papermill.execute_notebook(str(path), str(out), **run)
    else:
        papermill.execute_notebook(str(path), str(out), **run)
    nb = remove_error_markers(nbformat.read(out, as_version=4))  # papermill's banner cells
    assert unrun(nb) == []
    assert failed(nb) == expected
