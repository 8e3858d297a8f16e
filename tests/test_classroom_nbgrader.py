"""notebooks/classroom.ipynb through nbgrader (from PyPI): the student version, then autograde.

nbgrader works in a course directory, as for a teacher, through its own API (the
one its formgrader and its command line use, in this process: nbgrader takes
seconds to import): `generate_assignment` makes the student's notebook (stub,
no hidden tests), two students answer it, `autograde` runs their notebooks in
the Go (gorun) kernel with the hidden tests put back, and the gradebook has
the scores.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
STUB = '// YOUR CODE HERE\npanic("not implemented")'

# Off by one: s[len(s)-i] is past the end at i == 0, so every real case panics.
WRONG = """\
func IsPalindrome(s string) bool {
	for i := 0; i < len(s)/2; i++ {
		if s[i] != s[len(s)-i] {
			return false
		}
	}
	return true
}"""

RIGHT = """\
func IsPalindrome(s string) bool {
	keep := func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}
	rs := []rune(strings.Map(keep, s))
	for i := range len(rs) / 2 {
		if rs[i] != rs[len(rs)-1-i] {
			return false
		}
	}
	return true
}"""


def nbgrader(course: Path):  # -> NbGraderAPI
    """nbgrader's API for the course, configured as its nbgrader_config.py would."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(course)
    c.CourseDirectory.course_id = "go101"
    c.ClearSolutions.code_stub = {"go": STUB}
    return NbGraderAPI(config=c)


def check(result: dict) -> None:
    assert result["success"], result.get("error", "") + result.get("log", "")


def cells_by_id(nb: dict) -> dict[str, dict]:
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in nb["cells"]
        if "grade_id" in c["metadata"].get("nbgrader", {})
    }


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_autograde_gives_0_to_a_wrong_answer_and_full_points_to_a_right_one(tmp_path, monkeypatch):
    pytest.importorskip("nbgrader", reason='nbgrader is in the test extra: pip install ".[test]"')
    # nbgrader runs `alembic` (its gradebook's migrations) from PATH: the one installed
    # beside this interpreter, also when the venv's python runs without its bin/ on PATH.
    bindir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    shutil.copy(NOTEBOOKS / "classroom.ipynb", course / "source" / "ps1")
    shutil.copy(NOTEBOOKS / "palindromes.txt", course / "source" / "ps1")
    api = nbgrader(course)
    check(api.generate_assignment("ps1"))

    # The student's version: the stub instead of the solution, no hidden tests.
    release = json.loads((course / "release" / "ps1" / "classroom.ipynb").read_text())
    cells = cells_by_id(release)
    answer = source(cells["answer"])
    assert answer == "func IsPalindrome(s string) bool {\n\t" + STUB.replace("\n", "\n\t") + "\n}"
    hidden = source(cells["hidden_tests"])
    assert "TestIsPalindromeIgnoresCase" in hidden and "TestIsPalindromeRunes" not in hidden
    assert not any(c.get("outputs") for c in release["cells"])

    for student, text in {"wrong": WRONG, "right": RIGHT}.items():
        nb = json.loads(json.dumps(release))
        cells_by_id(nb)["answer"]["source"] = text
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        (folder / "classroom.ipynb").write_text(json.dumps(nb))
        shutil.copy(NOTEBOOKS / "palindromes.txt", folder)
    for student in ("wrong", "right"):
        check(api.autograde("ps1", student))

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission("ps1", s).score for s in ("wrong", "right")}
        max_score = gb.find_assignment("ps1").max_score
    assert max_score == 3
    assert scores == {"wrong": 0, "right": 3}

    # The wrong answer's tests ran (the hidden ones too) and failed at the student's line.
    graded = json.loads((course / "autograded" / "wrong" / "ps1" / "classroom.ipynb").read_text())
    cells = cells_by_id(graded)
    assert "TestIsPalindromeRunes" in source(cells["hidden_tests"])  # put back for grading
    for grade_id in ("visible_tests", "hidden_tests"):
        outputs = cells[grade_id]["outputs"]
        assert outputs[-1]["output_type"] == "error" and outputs[-1]["ename"] == "TestFailure"
    table = "".join(cells["visible_tests"]["outputs"][0]["data"]["text/plain"])
    assert "panic: runtime error: index out of range [7] with length 7" in table
    assert "cell[2]:3" in table  # the student's line: s[i] != s[len(s)-i] (//line directives)
