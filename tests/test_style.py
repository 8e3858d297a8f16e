"""The code stays ruff clean (lint and format), as the project's standards ask."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import sizes

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


def test_the_size_report_measures_definitions_and_flags_the_large_ones():
    # The sizes are a report (tests/sizes.py, printed after every run), not a gate.
    body = "".join(f"    x{i} = {i}\n" for i in range(85))
    source = f"class Small:\n    def short(self):\n        return 1\n\ndef long():\n{body}"
    found = {d.name: d for d in sizes.definitions(source, "m.py")}
    assert (found["Small"].kind, found["Small"].lines, found["Small"].over) == ("class", 3, False)
    assert (found["short"].where, found["short"].lines) == ("m.py:2", 2)
    assert (found["long"].lines, found["long"].over) == (86, True)
    functions, classes = sizes.largest(count=3)
    assert len(functions) == 3 and len(classes) == 3
    assert functions[0].lines >= functions[1].lines >= functions[2].lines
    assert sizes.report(3)[1] == "largest functions:"
