"""nbgrader's course for notebooks/classroom.ipynb, shared by the tests that grade it
(tests/test_classroom_nbgrader.py, tests/test_classroom_users.py): the teacher's
configuration, and three students' answers (right, wrong, never ending)."""

from __future__ import annotations

import shutil
from pathlib import Path

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


def nbgrader(course: Path, exchange: Path | None = None):  # -> NbGraderAPI
    """nbgrader's API for the course, configured as its nbgrader_config.py would."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(course)
    c.CourseDirectory.course_id = "go101"
    c.ClearSolutions.code_stub = {"go": STUB}
    if exchange is not None:
        c.Exchange.root = str(exchange)
    return NbGraderAPI(config=c)


def check(result: dict) -> None:
    assert result["success"], result.get("error", "") + result.get("log", "")


def released(work: Path, exchange: Path):  # -> NbGraderAPI
    """The teacher's course in work/course (theirs alone: solutions and hidden tests),
    with notebooks/classroom.ipynb as ps1, generated and released to the exchange."""
    course = work / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    course.chmod(0o700)
    shutil.copy(NOTEBOOKS / "classroom.ipynb", course / "source" / "ps1")
    shutil.copy(NOTEBOOKS / "palindromes.txt", course / "source" / "ps1")
    api = nbgrader(course, exchange)
    check(api.generate_assignment("ps1"))
    check(api.release_assignment("ps1"))
    return api


def cells_by_id(nb: dict) -> dict[str, dict]:
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in nb["cells"]
        if "grade_id" in c["metadata"].get("nbgrader", {})
    }


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


# Never returns once two letters match (i and j are never moved on): the class's
# %timeout (the notebook's set-up cell) stops every test that calls it, not a person.
ENDLESS = """\
func IsPalindrome(s string) bool {
	rs := []rune(strings.ToLower(s))
	i, j := 0, len(rs)-1
	for i < j {
		if rs[i] == rs[j] {
			continue
		}
		return false
	}
	return true
}"""
