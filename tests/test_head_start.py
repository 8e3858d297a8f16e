"""A head start: an unchanged cell's program, started as its request arrives (issue 23 item 1).

After a plain cell ran and succeeded, the kernel works out its next run during
the idle time after its idle status (HeadStart.next_run: compose, the rerun memo's
answer). When the next execute_request is that same cell, its program starts
before ipykernel handles the request (HeadStart.start, from shell_main), and
the run adopts the started process (Runner: the same launch_key), so that the
program's start overlaps the request's handling.

What must hold, each tested here with real programs: the program runs once per
request, never twice, never from a stale build; it is not started when anything
it depends on changed, or when the request is another; a head start that is not
adopted is ended and reaped; an adopted run is interrupted, asks for input and
shows its output as any run.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import threading
import time
from pathlib import Path

import pytest
from engine_tier import Recorder, edit_in_place, words_library
from kernel_client import execute, running

from gorun_kernel import cmdline
from gorun_kernel.engine import Engine
from gorun_kernel.outcome import RunOptions

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("stamps_trusted_at_once")]

SALT = random.randrange(10**9)  # noqa: S311 (not a secret): texts no cache has seen


def appending(path: Path, word: str) -> str:
    """A cell that appends a line to path (so each run can be counted) and prints word."""
    return (
        f'import (\n\t"fmt"\n\t"os"\n)\n\n'
        f"f, _ := os.OpenFile({json.dumps(str(path))},\n"
        "\tos.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)\n"
        f'fmt.Fprintln(f, "ran")\nf.Close()\nfmt.Println("{word} {SALT}")'
    )


def runs(path: Path) -> int:
    return path.read_text().count("ran\n") if path.exists() else 0


# -- the engine: next_run, start_ahead, and the run that adopts or ends it -----------


@pytest.fixture
def engine(fresh_engine):
    return fresh_engine


def cell(engine: Engine, code: str, label: str, cwd: str = ".", flags: str = ""):
    sink = Recorder()
    cmd = cmdline.parse(shlex.split(flags))
    outcome = engine.run_cell(code, cmd, sink, RunOptions(cwd), label=label)
    return outcome, sink


def ahead_of(engine: Engine, code: str, label: str, cwd: str = ".", flags: str = "") -> bool:
    """What the kernel does between a cell and its next request: next_run, then start_ahead."""
    cmd = cmdline.parse(shlex.split(flags))
    ahead = engine.head_start.next_run(code, cmd, RunOptions(cwd), label=label)
    return ahead is not None and engine.head_start.start(ahead, RunOptions(cwd))


def test_a_started_program_is_adopted_by_its_run_and_runs_once(engine, tmp_path):
    log = tmp_path / "runs"
    code = appending(log, "once")
    outcome, sink = cell(engine, code, "[1]")
    assert outcome.ok and runs(log) == 1
    assert ahead_of(engine, code, "[2]")
    assert engine.runner.ahead is not None
    outcome, sink = cell(engine, code, "[2]")
    assert outcome.ok, outcome.status
    assert sink.text() == f"once {SALT}\n"
    assert (engine.runner.adopted, engine.runner.abandoned) == (1, 0)
    assert runs(log) == 2  # the adopted program is the run: not one more
    assert engine.runner.ahead is None


def test_a_head_start_no_run_adopts_is_ended_and_reaped(engine, tmp_path):
    pidfile = tmp_path / "pid"
    flag = tmp_path / "sleep"
    code = (
        f'import (\n\t"fmt"\n\t"os"\n\t"time"\n)\n\n'
        f"os.WriteFile({json.dumps(str(pidfile))}, []byte(fmt.Sprint(os.Getpid())), 0o600)\n"
        f"if _, err := os.Stat({json.dumps(str(flag))}); err == nil {{\n"
        f"\ttime.Sleep(time.Hour)\n}}\nfmt.Println({SALT})"
    )
    assert cell(engine, code, "[1]")[0].ok
    pidfile.unlink()
    flag.write_text("")
    assert ahead_of(engine, code, "[2]")
    deadline = time.monotonic() + 60
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, "the started program never wrote its pid"
        time.sleep(0.01)
    pid = int(pidfile.read_text())
    os.kill(pid, 0)  # it runs, unseen, until a run adopts it
    engine.head_start.end()  # its request was not run (aborted, say)
    assert (engine.runner.adopted, engine.runner.abandoned) == (0, 1)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ended, and reaped by its supervisor
    assert engine.runner.ahead is None


def test_a_run_asked_for_another_program_ends_the_head_start_and_runs_its_own(engine, tmp_path):
    log = tmp_path / "runs"
    code = appending(log, "first")
    assert cell(engine, code, "[1]")[0].ok
    assert ahead_of(engine, code, "[2]")
    other = f'import "fmt"\n\nfmt.Println("other {SALT}")'
    outcome, sink = cell(engine, other, "[2]")
    assert outcome.ok and sink.text() == f"other {SALT}\n"
    assert (engine.runner.adopted, engine.runner.abandoned) == (0, 1)


def test_no_head_start_once_a_local_modules_file_changed(engine, tmp_path):
    source, code, cwd = words_library(tmp_path, SALT)
    assert cell(engine, code, "[1]", cwd)[1].text() == f"aaa {SALT}\n"
    cmd = cmdline.parse([])
    ahead = engine.head_start.next_run(code, cmd, RunOptions(cwd), label="[2]")
    assert ahead is not None  # worked out after the cell: the memo has its build
    edit_in_place(source)  # between the cell and its next request
    assert not engine.head_start.start(ahead, RunOptions(cwd))  # the old build would run
    assert engine.runner.ahead is None
    assert cell(engine, code, "[2]", cwd)[1].text() == f"bbb {SALT}\n"


def test_no_head_start_when_the_request_runs_elsewhere_or_under_other_flags(engine, tmp_path):
    code = f'import "fmt"\n\nfmt.Println("where {SALT}")'
    assert cell(engine, code, "[1]")[0].ok
    cmd = cmdline.parse([])
    ahead = engine.head_start.next_run(code, cmd, RunOptions("."), label="[2]")
    assert ahead is not None
    assert not engine.head_start.start(ahead, RunOptions(str(tmp_path)))  # another directory

    def next_run(code: str, words: list[str]) -> object:
        opts = RunOptions(".")
        return engine.head_start.next_run(code, cmdline.parse(words), opts, label="[2]")

    # A build the memo does not have, a background cell, a cell with no build: nothing.
    assert next_run(code, ["-ldflags=-X=main.x=1"]) is None
    assert next_run(code, ["--bg"]) is None
    assert next_run(code + "\n", []) is not None
    assert next_run("x := ", []) is None


def test_a_head_start_holds_the_session_and_is_the_starting_threads_alone(engine, tmp_path):
    """Until its request is over, no other thread's cell (a subshell's) runs, nor can
    another thread's run adopt or end it."""
    code = appending(tmp_path / "runs", "held")
    assert cell(engine, code, "[1]")[0].ok
    assert ahead_of(engine, code, "[2]")
    ahead = engine.runner.ahead
    seen: list[object] = []

    def elsewhere() -> None:
        seen.append(engine.busy.acquire(blocking=False))
        assert ahead is not None
        program = engine.head_start.next_run(code, cmdline.parse([]), RunOptions("."), label="[2]")
        seen.append(program)  # (the session is held: nothing worked out here either)

    t = threading.Thread(target=elsewhere)
    t.start()
    t.join()
    assert seen == [False, None]
    outcome, sink = cell(engine, code, "[2]")
    assert outcome.ok and sink.text() == f"held {SALT}\n" and engine.runner.adopted == 1
    engine.head_start.end()  # (its request is over: kernel.py's after_dispatch)
    t = threading.Thread(target=lambda: seen.append(engine.busy.acquire(blocking=False)))
    t.start()
    t.join()
    assert seen[-1] is True


def test_a_run_that_builds_ends_the_head_start_before_building(engine, tmp_path):
    source, code, cwd = words_library(tmp_path, SALT)
    assert cell(engine, code, "[1]", cwd)[1].text() == f"aaa {SALT}\n"
    assert ahead_of(engine, code, "[2]", cwd)
    ended_at_build: list[int] = []
    build = engine.cells._build_snippet  # (go runs in it)

    def watched(*args, **kwargs):
        ended_at_build.append(engine.runner.abandoned)
        return build(*args, **kwargs)

    engine.cells._build_snippet = watched  # type: ignore[method-assign]
    edit_in_place(source)  # after the start, before the run
    _, sink = cell(engine, code, "[2]", cwd)
    assert sink.text() == f"bbb {SALT}\n"
    assert (engine.runner.adopted, engine.runner.abandoned) == (0, 1)
    assert ended_at_build == [1]  # ended before go ran (the memo had no answer)


# -- the kernel: the head start as a client sees it ---------------------------------------


def marks(spans: Path) -> list[list[str]]:
    """The kernel's marks, a list per cell, in order of time."""
    cells = [json.loads(line) for line in spans.read_text().splitlines()]
    return [[name for name, _ in sorted(c, key=lambda m: m[1])] for c in cells]


def started_ahead(names: list[str]) -> bool:
    """The program's start came before the request's handler began, and was adopted."""
    return "ahead" in names and names.index("ahead") < names.index("request") and "adopted" in names


@pytest.fixture
def spans(tmp_path):
    return tmp_path / "spans.jsonl"


def test_an_unchanged_cell_starts_before_its_request_is_handled_and_runs_once(tmp_path, spans):
    log = tmp_path / "runs"
    code = appending(log, "again")
    other = f'import "fmt"\n\nfmt.Println("other {SALT}")'
    with running(env={"GORUN_SPANS": str(spans)}, cwd=str(tmp_path)) as (_, kc):
        for i in range(3):
            r = execute(kc, code, allow_stdin=True, cell_id="c1")
            assert r.status == "ok" and r.stream() == f"again {SALT}\n"
            assert runs(log) == i + 1
        r = execute(kc, other, allow_stdin=True, cell_id="c2")  # another cell
        assert r.stream() == f"other {SALT}\n"
        r = execute(kc, code, allow_stdin=True, cell_id="c1")  # the first, after another
        assert r.stream() == f"again {SALT}\n" and runs(log) == 4
        r = execute(kc, code, allow_stdin=False, cell_id="c1")  # the same, without input
        assert r.stream() == f"again {SALT}\n" and runs(log) == 5
        r = execute(kc, code, allow_stdin=False, cell_id="c1")
        assert r.stream() == f"again {SALT}\n" and runs(log) == 6
    cells = [names for names in marks(spans) if "request" in names]
    ahead = [started_ahead(names) for names in cells]
    # The first run builds; the second and third start ahead; the other cell does not,
    # nor the first cell after it, nor a request that differs (input); then again.
    assert ahead == [False, True, True, False, False, False, True], cells


def test_a_head_started_program_asks_for_input_and_is_interrupted_as_any(tmp_path, spans):
    flag = tmp_path / "wait"
    code = (
        f'import (\n\t"bufio"\n\t"fmt"\n\t"os"\n\t"time"\n)\n\n'
        f'fmt.Print("name? ")\nname, _ := bufio.NewReader(os.Stdin).ReadString(10)\n'
        f'fmt.Println("hi", name, {SALT})\n'
        f"if _, err := os.Stat({json.dumps(str(flag))}); err == nil {{\n"
        f'\tfmt.Println("sleeping")\n\ttime.Sleep(time.Hour)\n}}'
    )
    with running(env={"GORUN_SPANS": str(spans)}, cwd=str(tmp_path)) as (km, kc):
        r = execute(kc, code, answers=["ann"])
        assert r.status == "ok" and r.prompts == ["name? "]
        r = execute(kc, code, answers=["bob"])
        assert r.status == "ok" and r.prompts == ["name? "], r.messages
        assert f"hi bob\n {SALT}" in r.stream()
        flag.write_text("")
        interrupted: list[bool] = []

        def on_message(kind: str, content: dict) -> None:
            if kind == "stream" and "sleeping" in content["text"] and not interrupted:
                interrupted.append(True)
                threading.Thread(target=km.interrupt_kernel).start()

        r = execute(kc, code, answers=["cyd"], on_message=on_message, timeout=60)
        assert interrupted and r.prompts == ["name? "]
        assert r.status == "error" and "interrupt" in r.reply["content"]["evalue"]
        r = execute(kc, f'import "fmt"\n\nfmt.Println("after {SALT}")')
        assert r.stream() == f"after {SALT}\n"  # the kernel goes on
    cells = [names for names in marks(spans) if "request" in names]
    assert [started_ahead(names) for names in cells[:3]] == [False, True, True]
