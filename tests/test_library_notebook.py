"""The library-docs notebook sees edits to the library it documents, without a restart."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from kernel_client import execute, start

pytestmark = pytest.mark.e2e

LIBRARY = Path(__file__).parent.parent / "notebooks" / "library"


def test_an_edit_to_the_library_is_seen_by_the_next_run(tmp_path):
    lib = tmp_path / "library"
    shutil.copytree(LIBRARY, lib)
    nb = nbformat.read(lib / "docs" / "shapes.ipynb", as_version=4)
    cells = [
        c.source
        for c in nb.cells
        if c.cell_type == "code" and "nbval-raises-exception" not in c.metadata.get("tags", [])
    ]
    cwd = os.getcwd()
    os.chdir(lib / "docs")  # a kernel starts in the notebook's directory
    try:
        km, kc = start()
    finally:
        os.chdir(cwd)
    try:
        results = [execute(kc, code) for code in cells]
        assert all(r.status == "ok" for r in results), [r.messages for r in results]
        total = next(code for code in cells if code.startswith("shapes.TotalArea("))
        assert execute(kc, total).value == "10"

        source = lib / "shapes" / "shapes.go"
        source.write_text(source.read_text().replace("total += s.Area()", "total += 2 * s.Area()"))
        assert execute(kc, total).value == "20"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
