"""Students as Unix users of one machine (one user per student, as The Littlest JupyterHub
deploys a class): JupyterHub's LocalProcessSpawner, with three real users made by the
test (as root).

The Hub runs as root; each student's jupyterhub-singleuser is started by the spawner
as that student, from an environment every user may run (classroom.userenv: a venv of
the system's Python 3 with this checkout pip-installed, kept between runs like the
class's caches). One Hub for every check:

- each student's kernel process runs as that student (its /proc status), and so
  does the Go program of a cell, which runs and prints;
- the class's shared caches (the machine cache of `warm --machine`, the module cache)
  are read by every student (a module from the module cache builds; each student's
  GOCACHE was seeded from the machine cache, so their first cell is built as an edited
  cell is: built_by "direct") and written by none (permission denied);
- nothing of one student's is readable by another (home, GOCACHE, scratch, notebook);
- after the Hub stops no process of theirs is left, and the users are removed.

A second Hub, the same students: nbgrader's round trip through their own servers
(nbgrader's server extension, as JupyterLab's Assignments panel calls it: list, fetch,
submit; the answer saved through the contents API), graded by the teacher.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbgrader_course import (
    ENDLESS,
    RIGHT,
    WRONG,
    cells_by_id,
    check,
    released,
    source,
)
from unix_users import end_processes, processes_of

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))  # classroom/ is not part of the installed package
from classroom import userenv  # noqa: E402
from classroom.exercise import Cell  # noqa: E402
from classroom.hub import STUDENT_TMP, ClassOptions, Classroom  # noqa: E402
from classroom.loadtest import log_in  # noqa: E402
from classroom.student import Student  # noqa: E402
from gorun_kernel.build import machinecache  # noqa: E402

# Kept between runs, as the class's caches are: the students' environment (a minute
# to make, then reinstalled only when the checkout changed) and the warmed caches.
KEPT = Path("/var/tmp/gorun-class-users-test")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix users: Linux"),
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="creates the students' Unix users (useradd) and starts their servers as them: "
        "needs root",
    ),
    pytest.mark.skipif(
        not (shutil.which("useradd") and shutil.which("userdel")), reason="no useradd/userdel"
    ),
    pytest.mark.skipif(
        shutil.which("npm") is None or shutil.which("node") is None,
        reason="JupyterHub's proxy (configurable-http-proxy) comes from npm: npm/node not on PATH",
    ),
    pytest.mark.skipif(
        userenv.system_python() is None,
        reason="no system python3 (3.10+, with venv and ensurepip) that every user may run",
    ),
]

MODULE = "example.com/greet@v1.2.0"  # from the tests' module proxy, into the class's cache
COURSE = "go101"  # nbgrader's course id (tests/nbgrader_course.py's configuration)


@pytest.fixture(scope="module")
def students() -> Iterator[list[pwd.struct_passwd]]:
    """Three new users, their homes 0700 (Debian's useradd makes them 0755 unless told)."""
    tag = uuid.uuid4().hex[:6]
    names = [f"gcu{tag}{i}" for i in range(3)]
    made: list[str] = []
    try:
        for name in names:
            add = ["useradd", "--create-home", "-K", "HOME_MODE=0700", "-s", "/bin/sh", name]
            subprocess.run(add, check=True, capture_output=True)
            made.append(name)
        yield [pwd.getpwnam(name) for name in made]
    finally:
        for name in made:
            uid = pwd.getpwnam(name).pw_uid
            end_processes(uid)
            subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
            # the kernels' per-user scratch root (empty: the test checks no session is left);
            # a later user given the same uid must not inherit it
            with contextlib.suppress(OSError):
                (STUDENT_TMP / f"gorun_kernel-{uid}").rmdir()
        for name in made:
            with pytest.raises(KeyError):
                pwd.getpwnam(name)  # removed


def kernel_pid(kernel_id: str) -> int:
    """The kernel's process, found by the connection file its command line names."""
    needle = f"kernel-{kernel_id}.json".encode()
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if entry.isdigit() and needle in Path(f"/proc/{entry}/cmdline").read_bytes():
                return int(entry)
    raise AssertionError(f"no process for kernel {kernel_id}")


def ids(pid: int) -> dict[str, list[int]]:
    """Uid: and Gid: of /proc/<pid>/status (real, effective, saved, file system)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid"):
            found[key] = [int(v) for v in value.split()]
    return found


def go_list(paths: list[str]) -> str:
    return "[]string{" + json.dumps(paths)[1:-1] + "}"  # JSON's strings are Go's here


def try_writes(paths: list[str]) -> Cell:
    """Each path: a new file in it (a directory) or an append to it (a file)."""
    code = f"""import (
	"fmt"
	"os"
	"path/filepath"
)

for _, p := range {go_list(paths)} {{
	if st, err := os.Stat(p); err != nil || !st.IsDir() {{
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {{
			f.Close()
		}}
		fmt.Println("result:", err)
		continue
	}}
	err := os.WriteFile(filepath.Join(p, "written-by-a-student"), []byte("x"), 0o644)
	fmt.Println("result:", err)
}}"""
    return Cell("writes", code)


def try_reads(paths: list[str]) -> Cell:
    """Each path: listed (a directory) or read (a file)."""
    code = f"""import (
	"fmt"
	"os"
	"strings"
)

for _, p := range {go_list(paths)} {{
	if strings.HasSuffix(p, "/") {{
		_, err := os.ReadDir(p)
		fmt.Println("result:", err)
	}} else {{
		_, err := os.ReadFile(p)
		fmt.Println("result:", err)
	}}
}}"""
    return Cell("reads", code)


def results(output: str) -> list[str]:
    """The program's own lines (the cell's output also has build progress and a summary)."""
    return [line for line in output.splitlines() if line.startswith("result: ")]


async def _open(room: Classroom, name: str) -> Student:
    student = await log_in(room, name)
    await student.start_server()
    await student.open_notebook()
    return student


async def _run(student: Student, cell: Cell) -> str:
    run = await student.run_cell(cell, timeout=300)
    assert run.status == "ok", f"{student.name}: {run.ename}: {run.evalue}\n{run.output}"
    return run.output


def class_options(students: list[pwd.struct_passwd], machine_cache: Path) -> ClassOptions:
    """The class of these students: the kept environment (made or brought up to date)
    and the kept class directory, its machine cache linked from the session's."""
    KEPT.mkdir(exist_ok=True)
    KEPT.chmod(0o755)
    python = userenv.make(KEPT / "env")
    # The class's own `warm --machine` (run by the Hub, with the students' go) starts
    # from the session's filled machine cache: the same go finds every entry there, so
    # it checks rather than compiles the standard library a second time.
    for part in (machinecache.GOCACHE, machinecache.GORUN):
        machinecache.link_missing(machine_cache / part, KEPT / "class" / "machine" / part)
    names = [s.pw_name for s in students]
    return ClassOptions(
        class_dir=KEPT / "class", modules=[MODULE], python=str(python), unix_users=names
    )


def test_students_as_unix_users_run_as_themselves_share_caches_read_only_and_see_nothing_of_each_other(  # noqa: E501
    students: list[pwd.struct_passwd], machine_cache: Path
) -> None:
    started = time.monotonic()
    options = class_options(students, machine_cache)
    env_seconds = time.monotonic() - started
    room = Classroom(options)
    try:
        room.start(timeout=300)
        assert room.warmed is not None
        print(
            f"\nthe students' environment: {env_seconds:.1f} s; the Hub up, caches warmed "
            f"({room.warmed.how}: {room.warmed.seconds:.1f} s): "
            f"{time.monotonic() - started - env_seconds:.1f} s",
            file=sys.stderr,
        )
        asyncio.run(_class(room, students))
    finally:
        left = room.stop()
    print(f"the class, start to stop: {time.monotonic() - started:.1f} s", file=sys.stderr)
    assert left.processes == [], left.processes
    assert left.scratch_dirs == [], left.scratch_dirs
    for account in students:
        assert processes_of(account.pw_uid) == [], f"{account.pw_name} still runs something"


async def _class(room: Classroom, students: list[pwd.struct_passwd]) -> None:
    """Every check, on the one Hub, with every student's server and kernel running."""
    opened = await asyncio.gather(*(_open(room, s.pw_name) for s in students))
    machine = room.machine_cache
    modcache = room.options.class_dir / "gomod"
    stamp = (machine / machinecache.STAMP).read_text()
    try:
        for student, account in zip(opened, students, strict=True):
            # the kernel process is the student's: real, effective, saved, file system ids
            status = ids(kernel_pid(student.kernel_id))
            assert status["Uid"] == [account.pw_uid] * 4, status
            assert status["Gid"] == [account.pw_gid] * 4, status
            # the student's first cell is built as an edited cell is (compile + link of the
            # cell alone): go's plan had no compile of fmt, the runtime or the display
            # package, which came from the class's machine cache
            first = await student.run_cell(Cell("first", 'fmt.Println("first")'), timeout=300)
            assert first.status == "ok", f"{first.ename}: {first.evalue}\n{first.output}"
            assert first.timing.get("built_by") == "direct", first.timing
            # a Go cell runs and prints, its program the student's too; a module from the
            # class's module cache builds
            hello = Cell(
                "hello",
                'import (\n\t"fmt"\n\t"os"\n\n\t"example.com/greet"\n)\n\n'
                'fmt.Println(greet.Hello("class"), os.Getuid(), os.Getenv("USER"))',
            )
            out = await _run(student, hello)
            assert f"Howdy, class! {account.pw_uid} {account.pw_name}" in out.splitlines(), out
            # the student's GOCACHE was seeded from the class's machine cache (read by them)
            mine = Path(account.pw_dir, ".cache", "go-build")
            assert (mine / machinecache.MARKER).read_text() == stamp
            assert mine.stat().st_uid == account.pw_uid
            # the class's caches: written by no student
            entry = next(p for p in (machine / machinecache.GOCACHE).glob("??/*") if p.is_file())
            module_dir = next(modcache.glob("example.com/greet@v1.2.0"))
            targets = [
                str(machine),
                str(machine / machinecache.GOCACHE),
                str(entry),
                str(machine / machinecache.STAMP),
                str(modcache),
                str(module_dir),
                str(module_dir / "go.mod"),
            ]
            lines = results(await _run(student, try_writes(targets)))
            assert len(lines) == len(targets), lines
            for target, line in zip(targets, lines, strict=True):
                assert line.endswith("permission denied"), (target, line)
            assert not list(machine.rglob("written-by-a-student"))
            assert not list(modcache.rglob("written-by-a-student"))

        # nothing of one student's is readable by another: B reads A's, C reads B's...
        for reader, (owner_student, owner) in zip(
            opened, [(opened[i - 1], students[i - 1]) for i in range(len(opened))], strict=True
        ):
            home = Path(owner.pw_dir)
            theirs = [
                f"{home}/",
                f"{home}/.cache/go-build/",
                f"{STUDENT_TMP}/gorun_kernel-{owner.pw_uid}/",
                f"{home}/classroom.ipynb",
            ]
            for path in theirs:
                assert Path(path).exists(), f"{path} of {owner_student.name} is not there"
            lines = results(await _run(reader, try_reads(theirs)))
            assert len(lines) == len(theirs), lines
            for path, line in zip(theirs, lines, strict=True):
                assert line.endswith("permission denied"), (reader.name, path, line)
    finally:
        for student in opened:
            student.close()


def test_nbgrader_round_trip_through_the_students_own_servers_on_the_hub(
    students: list[pwd.struct_passwd], machine_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The teacher generates and releases notebooks/classroom.ipynb; each student, in their
    own server on the Hub (as that Unix user), lists, fetches and submits it through
    nbgrader's server extension as JupyterLab's Assignments panel does, and saves their
    answer through the server's contents API; the teacher collects, autogrades and makes
    the feedback. The endless answer is stopped by the notebook's %timeout."""
    pytest.importorskip("nbgrader", reason='nbgrader is in the test extra: pip install ".[test]"')
    # nbgrader (the teacher's, in this process) runs `alembic` from PATH: this venv's
    bindir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    from nbgrader.api import Gradebook

    started = time.monotonic()
    answers = dict(zip((s.pw_name for s in students), (RIGHT, WRONG, ENDLESS), strict=True))
    work = Path(tempfile.mkdtemp(prefix="gorun-class-nbgrader-"))
    try:
        work.chmod(0o755)  # the students reach the exchange and the class's config through it
        exchange = work / "exchange"
        exchange.mkdir()
        exchange.chmod(0o777)  # as nbgrader's docs make /srv/nbgrader/exchange
        config = work / "students"  # what the students' servers read (JUPYTER_CONFIG_PATH)
        config.mkdir(mode=0o755)
        (config / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {COURSE!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n"
        )
        (config / "nbgrader_config.py").chmod(0o644)
        api = released(work, exchange)
        course = work / "course"

        options = class_options(students, machine_cache)
        options.nbgrader_config = config
        room = Classroom(options)
        try:
            room.start(timeout=300)
            logged_in = asyncio.run(_submit_all(room, students, answers))
            for account in students:  # submitted by the student's server, as the student
                (inbound,) = (exchange / COURSE / "inbound").glob(f"{account.pw_name}+ps1+*")
                assert (inbound / "classroom.ipynb").stat().st_uid == account.pw_uid
            submitted = time.monotonic() - started

            check(api.collect("ps1"))
            for name in answers:
                check(api.autograde("ps1", name))
            check(api.generate_feedback("ps1"))
            check(api.release_feedback("ps1"))
            graded = time.monotonic() - started
            asyncio.run(_fetch_feedback_all(logged_in, students))
        finally:
            left = room.stop()
        assert left.processes == [], left.processes
        for account in students:
            assert processes_of(account.pw_uid) == [], f"{account.pw_name} still runs something"
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            scores = {name: gb.find_submission("ps1", name).score for name in answers}
        print(
            f"\nnbgrader grades through the students' servers: {scores}; submitted at "
            f"{submitted:.1f} s, graded at {graded:.1f} s, "
            f"feedback fetched and the Hub stopped at {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
        assert list(scores.values()) == [3, 0, 0], scores  # right, wrong, endless
        endless = students[2].pw_name
        autograded = course / "autograded" / endless / "ps1" / "classroom.ipynb"
        cells = cells_by_id(json.loads(autograded.read_text()))
        for grade_id in ("visible_tests", "hidden_tests"):
            outputs = cells[grade_id]["outputs"]
            text = json.dumps(outputs)
            assert outputs[-1]["output_type"] == "error", text
            assert "timed out after 2s" in text, text[-1500:]
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _submit_all(
    room: Classroom, students: list[pwd.struct_passwd], answers: dict[str, str]
) -> list[Student]:
    logged_in = await asyncio.gather(*(log_in(room, s.pw_name) for s in students))
    await asyncio.gather(
        *(
            _fetch_answer_submit(student, account, answers[account.pw_name])
            for student, account in zip(logged_in, students, strict=True)
        )
    )
    return logged_in


async def _fetch_feedback_all(logged_in: list[Student], students: list[pwd.struct_passwd]) -> None:
    """The Assignments panel's Fetch Feedback: the teacher's feedback into each student's
    ps1/feedback/<timestamp>/, by their server, as them."""
    ps1 = {"course_id": COURSE, "assignment_id": "ps1"}
    for student, account in zip(logged_in, students, strict=True):
        listing = await student.server_request("POST", "assignments/fetch_feedback", ps1)
        (submitted,) = [a for a in _assignments(listing) if a["status"] == "submitted"]
        (submission,) = submitted["submissions"]
        assert submission["has_local_feedback"], submission
        (html,) = Path(account.pw_dir, "ps1", "feedback").glob("*/classroom.html")
        assert html.stat().st_uid == account.pw_uid
        assert "IsPalindrome" in html.read_text()


def _assignments(listing: dict) -> list[dict]:
    assert listing["success"], listing.get("value")
    return [a for a in listing["value"] if a["assignment_id"] == "ps1"]


async def _fetch_answer_submit(student: Student, account: pwd.struct_passwd, answer: str) -> None:
    """As a student in JupyterLab: the Assignments panel lists ps1 as released, Fetch;
    the notebook opened, the answer written and saved; Submit."""
    await student.start_server()
    listing = await student.server_request("GET", f"assignments?course_id={COURSE}")
    assert [a["status"] for a in _assignments(listing)] == ["released"], listing
    ps1 = {"course_id": COURSE, "assignment_id": "ps1"}
    listing = await student.server_request("POST", "assignments/fetch", ps1)
    (fetched,) = [a for a in _assignments(listing) if a["status"] == "fetched"]
    paths = [nb["path"] for nb in fetched["notebooks"]]
    assert paths == ["ps1/classroom.ipynb"], fetched
    # fetched by the student's server, as the student, into their home
    notebook = Path(account.pw_dir, "ps1", "classroom.ipynb")
    assert notebook.stat().st_uid == account.pw_uid

    model = await student.server_request("GET", "api/contents/ps1/classroom.ipynb")
    nb = model["content"]
    assert 'panic("not implemented")' in source(cells_by_id(nb)["answer"])  # the stub
    cells_by_id(nb)["answer"]["source"] = answer
    saved = {"type": "notebook", "format": "json", "content": nb}
    await student.server_request("PUT", "api/contents/ps1/classroom.ipynb", saved)
    assert source(cells_by_id(json.loads(notebook.read_text()))["answer"]) == answer

    listing = await student.server_request("POST", "assignments/submit", ps1)
    submitted = [a for a in _assignments(listing) if a["status"] == "submitted"]
    assert len(submitted) == 1 and len(submitted[0]["submissions"]) == 1, listing
    student.close()
