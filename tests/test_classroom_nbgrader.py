"""notebooks/classroom.ipynb through nbgrader (from PyPI): the student version, then autograde.

nbgrader works in a course directory, as for a teacher, through its own API (the
one its formgrader and its command line use, in this process: nbgrader takes
seconds to import): `generate_assignment` makes the student's notebook (stub,
no hidden tests), two students answer it, `autograde` runs their notebooks in
the Go (gorun) kernel with the hidden tests put back, and the gradebook has
the scores.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from nbgrader_course import (
    ENDLESS,
    NOTEBOOKS,
    RIGHT,
    STUB,
    WRONG,
    cells_by_id,
    check,
    nbgrader,
    released,
    source,
)

pytestmark = pytest.mark.e2e


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


STUDENTS = {"gcright": RIGHT, "gcwrong": WRONG, "gcendless": ENDLESS}
RUNUSER = shutil.which("runuser") or "runuser"  # in /usr/sbin


def _as(user: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """A command run as the student (runuser), in a directory of theirs."""
    env = {"HOME": str(cwd), "USER": user, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [RUNUSER, "-u", user, "--", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _exchange_step(step: str, exchange: Path, home: Path) -> None:
    """The student's `nbgrader fetch_assignment ps1` or `nbgrader submit ps1`, in their home.

    nbgrader's own exchange classes, as its command line runs them; called in a child
    process that has become the student (see as_student).
    """
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(home)
    c.CourseDirectory.course_id = "go101"
    c.Exchange.root = str(exchange)
    coursedir = CourseDirectory(config=c)
    coursedir.assignment_id = "ps1"
    kind = {"fetch": ExchangeFetchAssignment, "submit": ExchangeSubmit}[step]
    kind(coursedir=coursedir, authenticator=Authenticator(config=c), config=c).start()


def as_student(user: str, work: Callable[[], None]) -> None:
    """work() in a child process that is the student: their uid and gid, HOME, cwd.

    A fork, not a new interpreter: the test's Python may live where students cannot
    read (a venv whose python is under /root); what work() needs is imported first.
    """
    pw = pwd.getpwnam(user)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the student
        os.close(read)
        code = 0
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            os.environ.update(HOME=pw.pw_dir, USER=user, LOGNAME=user)
            os.chdir(pw.pw_dir)
            work()
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as f:
        error = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"as {user}:\n{error}"


@pytest.fixture
def student_users():
    """Three real Unix users (one per student), removed afterwards with their homes."""
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("creating the students' Unix users needs root, useradd and runuser")
    made = []
    try:
        for name in STUDENTS:
            # Debian's useradd makes homes world-readable (HOME_MODE 0755): a class's are not
            add = ["useradd", "--create-home", "-K", "HOME_MODE=0700", name]
            subprocess.run(add, check=True, capture_output=True)
            made.append(name)
        yield {name: Path(pwd.getpwnam(name).pw_dir) for name in made}
    finally:
        for name in made:
            subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


def test_the_round_trip_through_the_exchange_grades_three_real_students(
    student_users: dict[str, Path], monkeypatch
) -> None:
    """generate -> release -> each student (a Unix user) fetches, answers, submits ->
    collect -> autograde -> feedback, through nbgrader's exchange on this machine."""
    bindir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    from nbgrader.api import Gradebook

    work = Path(tempfile.mkdtemp(prefix="gorun-class-nbgrader-"))
    try:
        exchange = work / "exchange"
        exchange.mkdir()
        exchange.chmod(0o777)  # as nbgrader's docs make /srv/nbgrader/exchange
        work.chmod(0o755)  # the students reach the exchange through it
        api = released(work, exchange)
        course = work / "course"

        importlib.import_module("nbgrader.auth")  # before the students' forks (as_student)
        importlib.import_module("nbgrader.coursedir")
        importlib.import_module("nbgrader.exchange.default")

        for name, home in student_users.items():
            as_student(name, functools.partial(_exchange_step, "fetch", exchange, home))
            notebook = home / "ps1" / "classroom.ipynb"
            nb = json.loads(notebook.read_text())
            cells_by_id(nb)["answer"]["source"] = STUDENTS[name]
            answer = json.dumps(nb)
            as_student(name, functools.partial(notebook.write_text, answer))
            as_student(name, functools.partial(_exchange_step, "submit", exchange, home))

        # nothing of one student's is readable by another: not the answer, not the home
        right, wrong = student_users["gcright"], "gcwrong"
        peek = _as(wrong, ["cat", str(right / "ps1" / "classroom.ipynb")], Path("/"))
        assert peek.returncode != 0 and "Permission denied" in peek.stderr, peek

        check(api.collect("ps1"))
        for name in student_users:
            check(api.autograde("ps1", name))
        check(api.generate_feedback("ps1"))
        check(api.release_feedback("ps1"))

        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            scores = {s: gb.find_submission("ps1", s).score for s in student_users}
        print(f"\nnbgrader grades: {scores}", file=sys.stderr)
        assert scores == {"gcright": 3, "gcwrong": 0, "gcendless": 0}
        graded = course / "autograded" / "gcendless" / "ps1" / "classroom.ipynb"
        cells = cells_by_id(json.loads(graded.read_text()))
        for grade_id in ("visible_tests", "hidden_tests"):
            outputs = cells[grade_id]["outputs"]
            text = json.dumps(outputs)
            assert outputs[-1]["output_type"] == "error", text
            assert "timed out after 2s" in text, text[-1500:]
        feedback = course / "feedback" / "gcright" / "ps1"
        assert list(feedback.glob("classroom.html")), list(course.rglob("*.html"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
