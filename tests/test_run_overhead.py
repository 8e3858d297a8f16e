"""Per-run work a program does not need is not done (issue 23: the re-run's overhead).

- A run's display channel (a socket pair and its buffer) is opened only for a
  program that may show displays: one that imports the display package, or a
  package outside the standard library that could. Counted from the program's
  side, in /proc: the descriptors it inherits and the variable that names the
  channel. The pure rule (may_display) is checked without a build.
- Where runs get a cgroup (v2), the program is born in its run's cgroup, and so
  is its supervisor (forked there by the spawner): no move between cgroups,
  each of which waits for an RCU grace period. Seen from the program: its
  cgroup and its parent's, in /proc. The supervisor waits there for the next run.
"""

from __future__ import annotations

import os
import signal

import pytest
from engine_tier import run

from gorun_kernel.proc import cgroup, linux, spawner
from gorun_kernel.run.runner import may_display

STD = {"fmt", "os", "strings", "net/http", "encoding/json"}


def is_std(path: str) -> bool:
    return path in STD


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('package main\n\nimport "fmt"\n', False),
        ('package main\n\nimport (\n\t"fmt"\n\t"net/http"\n)\n', False),
        # what a snippet's program imports for its value and its start: no displays
        ('import (\n\t"fmt"\n\t"gorun.dev/display/started"\n\t"gorun.dev/display/value"\n)', False),
        ('import (\n\t"fmt"\n\t"gorun.dev/display"\n)\n', True),
        ('import d "gorun.dev/display"\n', True),
        ('import "gorun.dev/display/widgets"\n', True),
        # a package that could import the display package itself
        ('import (\n\t"fmt"\n\t"example.com/lib"\n)\n', True),
        ('import "mylib/plot"\n', True),
        ('import "C"\n', True),
        ("import `fmt`\n", True),  # not read here: counts as yes
        # frames written by hand to the channel the variable names
        ('import "os"\n\nvar fd = os.Getenv("GORUN_DISPLAY_FD")\n', True),
    ],
)
def test_a_display_channel_only_for_a_program_that_may_display(source, expected):
    assert may_display({"main.go": source}, is_std) is expected


def test_only_go_files_are_read():
    assert not may_display({"go.mod": 'import "gorun.dev/display"', "a.go": ""}, is_std)


# The program's descriptors that are sockets (the display channel is a socket pair's
# end; stdio, the value and start channels are pipes), and the variable naming it.
FDS = (
    'import (\n\t"fmt"\n\t"os"\n\t"strings"\n)\n\n'
    'entries, _ := os.ReadDir("/proc/self/fd")\n'
    "sockets := 0\n"
    "for _, e := range entries {\n"
    '\tif to, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.HasPrefix(to, "socket:") {\n'
    "\t\tsockets++\n"
    "\t}\n"
    "}\n"
    "named := false\n"
    "for _, kv := range os.Environ() {\n"
    # (not the variable's name in one piece: a program naming it gets the channel)
    '\tnamed = named || strings.HasPrefix(kv, "GORUN_"+"DISPLAY_FD=")\n'
    "}\n"
    "fmt.Println(sockets, named)\n"
)


@pytest.mark.e2e
def test_a_program_without_displays_inherits_no_display_channel(go_engine):
    outcome, sink = run(go_engine, FDS)
    assert outcome.ok, outcome.status
    assert sink.text().split() == ["0", "false"]
    # The same program importing the display package has its channel.
    shows = FDS.replace('"os"\n', '"os"\n\t"gorun.dev/display"\n') + 'display.Markdown("*x*")\n'
    outcome, sink = run(go_engine, shows)
    assert outcome.ok, outcome.status
    sockets, named = sink.text().split()
    assert named == "true"
    assert int(sockets) >= 1


CGROUPS = (
    'import (\n\t"fmt"\n\t"os"\n)\n\n'
    'own, _ := os.ReadFile("/proc/self/cgroup")\n'
    'parent, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", os.Getppid()))\n'
    'fmt.Print(string(own), "--\\n", string(parent))\n'
)


def v2_path(text: str) -> str:
    return next(line[3:] for line in text.splitlines() if line.startswith("0::"))


@pytest.mark.e2e
def test_a_program_and_its_supervisor_are_born_in_the_runs_cgroup(go_engine):
    box = cgroup.sandbox()
    if box is None or box.lifetime is None or box.lifetime_version != 2:
        pytest.skip("no writable cgroup v2 hierarchy on this machine (cgroup.py's fallback runs)")
    outcome, sink = run(go_engine, CGROUPS)
    # The first run starts the spawner (its runs' supervisors fork from the kernel until
    # it says it is ready): run again until a run went through it.
    for _ in range(20):
        if spawner.SPAWNER.ready:
            break
        outcome, sink = run(go_engine, CGROUPS)
    assert spawner.SPAWNER.ready, "the spawner never became ready"
    outcome, sink = run(go_engine, CGROUPS)
    assert outcome.ok, outcome.status
    own, parent = (v2_path(part) for part in sink.text().split("--\n"))
    run_dir = box.lifetime / own.rsplit("/", 1)[1]
    assert own.endswith(f"/{box.lifetime.name}/{run_dir.name}")
    assert run_dir.name.startswith("run-")
    assert parent == own  # the supervisor, born there with the program
    # Between runs the cgroup holds the supervisor alone: a standby, waiting for the
    # next launch, which runs there too (spawner.py), with nothing of the run before.
    assert run_dir.name.startswith("run-s")
    waiting = (run_dir / "cgroup.procs").read_text().split()
    assert len(waiting) == 1, waiting
    outcome, sink = run(go_engine, CGROUPS)
    assert outcome.ok, outcome.status
    assert [v2_path(part) for part in sink.text().split("--\n")] == [own, own]
    assert (run_dir / "cgroup.procs").read_text().split() == waiting


@pytest.mark.e2e
def test_a_program_that_ends_at_once_is_never_looked_at_for_input(go_engine, monkeypatch):
    """Whether a program waits for input is read from /proc (0.15-0.2 ms a look); a
    program that ends within process.ASK_AFTER is never looked at (three or four looks a
    run before), and one that reads at once is still asked, and answered."""
    from gorun_kernel.proc import asking, process

    hello = 'import "fmt"\n\nfmt.Println("hi")'
    assert run(go_engine, hello)[0].ok  # built now: the runs below only run it
    looks: list[int | None] = []
    wanted = asking.InputAsker.wanted

    def counted(self, pid):
        looks.append(pid)
        return wanted(self, pid)

    monkeypatch.setattr(asking.InputAsker, "wanted", counted)
    # (a second, not 20 ms: on a loaded machine a hello run can take longer than that)
    monkeypatch.setattr(process, "ASK_AFTER", 1.0)
    for _ in range(3):
        outcome, sink = run(go_engine, hello, answers=[])
        assert outcome.ok, outcome.status
        assert sink.text() == "hi\n"
    assert looks == []
    asks = 'import "fmt"\n\nvar name string\nfmt.Scanln(&name)\nfmt.Println("hello,", name)'
    outcome, sink = run(go_engine, asks, answers=["gopher"])
    assert outcome.ok, outcome.status
    assert sink.text().endswith("hello, gopher\n")
    assert looks, "the program that reads was never looked at"


def _through_the_spawner(engine, code: str):
    """Runs code until a run went through the spawner's standby (the first runs fork
    from the engine's process while the spawner starts); that run's (outcome, sink)."""
    for _ in range(40):
        ready = spawner.SPAWNER.ready
        outcome, sink = run(engine, code)
        if ready:
            return outcome, sink
    raise AssertionError("the spawner never became ready")


@pytest.mark.e2e
def test_a_program_a_standby_starts_inherits_no_socket_of_ours(go_engine):
    """The standby keeps the kernel's socket for its next launch; the program it starts
    must not have it (a program reading it would take another cell's launch)."""
    program = (  # a program cell: no channels kept, so nothing of ours is moved away
        "package main\n\n" + FDS.replace("\n\nentries", "\n\nfunc main() {\nentries", 1) + "}\n"
    )
    for code in (program, FDS):  # (the program first: a snippet's channels can move ours)
        outcome, sink = _through_the_spawner(go_engine, code)
        assert outcome.ok, outcome.status
        assert sink.text().split() == ["0", "false"]


@pytest.mark.e2e
def test_a_program_that_cannot_start_leaves_no_supervisor_behind(go_engine, tmp_path):
    """A start that fails (here: -exec of a file that is not executable) is said in the
    user's terms, and its supervisor waits for the next run as after any other: runs
    that fail do not pile up supervisors."""
    not_executable = tmp_path / "xprog"
    not_executable.write_text("#!/bin/sh\n")
    hello = 'import "fmt"\n\nfmt.Println("hi")'
    _through_the_spawner(go_engine, hello)
    assert spawner.SPAWNER.proc is not None
    for _ in range(5):
        outcome, _ = run(go_engine, hello, f"-exec {not_executable}")
        assert not outcome.ok
        assert "cannot start" in str(outcome.error) and "ermission denied" in str(outcome.error)
    outcome, sink = run(go_engine, hello)
    assert outcome.ok and sink.text() == "hi\n"
    supervisors = linux.children(spawner.SPAWNER.proc.pid)
    assert len(supervisors) == 1, supervisors


@pytest.mark.e2e
def test_a_stop_that_reaches_a_waiting_supervisor_late_does_not_stop_the_next_run(go_engine):
    """A supervisor is signalled by pid (SIGTERM: an interrupt, a timeout), and a
    standby's pid outlives its run: a stop that arrives after its run, while it waits,
    must not stop the next run it takes."""
    hello = 'import "fmt"\n\nfmt.Println("hi")'
    _through_the_spawner(go_engine, hello)
    assert spawner.SPAWNER.proc is not None
    waiting = linux.children(spawner.SPAWNER.proc.pid)
    assert len(waiting) == 1, waiting
    os.kill(waiting[0], signal.SIGTERM)
    outcome, sink = run(go_engine, hello)
    assert outcome.ok, outcome.status
    assert sink.text() == "hi\n"
