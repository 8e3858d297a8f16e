"""The code stays ruff clean (lint and format), as the project's standards ask."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff(args):
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip('ruff is not installed (pip install -e ".[test]")')
    proc = subprocess.run([ruff, *args, "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- test-command -->", 1)[1].split("```sh\n", 1)[1].split("```")[0]
    command = block.strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in ci, f".ci/run must run the README's test command: {command}"


def _long_definitions() -> list[str]:
    """Functions over 80 lines and classes over 250 in gorun_kernel/ (the code's size budget)."""
    import ast

    found = []
    for path in sorted((ROOT / "gorun_kernel").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                limit = 250
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                limit = 80
            else:
                continue
            length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            if length > limit:
                where = path.relative_to(ROOT)
                found.append(f"{where}:{node.lineno} {node.name} is {length} lines (> {limit})")
    return found


def test_no_function_over_80_lines_no_class_over_250():
    assert _long_definitions() == []
