"""Sessions as processes: interrupts, parallel sessions, clean-up of scratch modules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.engine import Engine

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent

SPAWNS_AND_HANGS = """%%gorun
package main

import (
	"fmt"
	"os/exec"
	"time"
)

func main() {
	child := exec.Command("sleep", "1000")
	if err := child.Start(); err != nil {
		panic(err)
	}
	fmt.Println("child", child.Process.Pid)
	time.Sleep(time.Hour)
}
"""

NEXT = '%%gorun\npackage main\nimport "fmt"\nfunc main() { fmt.Println("next cell ran") }\n'


def start_session(tmp_path: Path, cells: list[str], name: str = "cells") -> subprocess.Popen:
    spec = tmp_path / f"{name}.json"
    spec.write_text(json.dumps(cells))
    return subprocess.Popen(
        [sys.executable, str(HERE / "ipython_session.py"), str(spec)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(proc: subprocess.Popen, prefix: str) -> str:
    """Read the session's output line by line until a line starts with prefix."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"session ended before printing {prefix!r}")


def running(pid: int) -> bool:
    """True if pid is a live process (a zombie waiting to be reaped is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_gone(pid: int, within: float = 60.0) -> bool:
    """True once pid has ended (within: a bound on a hang; a loaded machine is slow to reap)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not running(pid):
            return True
        time.sleep(0.02)  # polling the kernel's process table, not standing in for a signal
    return False


def test_interrupt_during_a_run_kills_the_program_and_its_children(tmp_path):
    proc = start_session(tmp_path, [SPAWNS_AND_HANGS, NEXT])
    child = int(read_until(proc, "child ").split()[1])
    assert running(child)
    started = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)  # what Ctrl-C (or a kernel interrupt) sends
    rest = read_until(proc, "--- cell 0 done")
    assert time.monotonic() - started < 2.0
    assert "error=Interrupted" in rest
    assert "next cell ran" in read_until(proc, "next cell ran")
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert wait_gone(child), "the program's child process survived the interrupt"


def test_interrupt_during_a_build_stops_go(tmp_path):
    # -a rebuilds every package, the runtime included: seconds of go build.
    cell = NEXT.replace("%%gorun", "%%gorun -a")
    proc = start_session(tmp_path, ["!scratch", cell, NEXT])
    read_until(proc, "scratch:")
    builders = go_builds_started_by(proc.pid)
    os.kill(proc.pid, signal.SIGINT)
    assert "error=Interrupted" in read_until(proc, "--- cell 1 done")
    assert "next cell ran" in read_until(proc, "next cell ran")
    proc.communicate(timeout=60)
    assert all(wait_gone(pid) for pid in builders)


def go_builds_started_by(parent: int, within: float = 60) -> list[int]:
    """Wait for `go build` children of parent to appear in /proc; their pids."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        builds = [
            int(p)
            for p in os.listdir("/proc")
            if p.isdigit() and _cmdline(int(p))[:1] == ["build"] and _ppid(int(p)) == parent
        ]
        if builds:
            return builds
    raise AssertionError("go build never started")


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[1:]
    except OSError:
        return []


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def test_two_sessions_in_parallel_do_not_interfere(tmp_path):
    def cells(word: str) -> list[str]:
        return [
            "!scratch",
            f'%%gorun\npackage main\nimport "fmt"\nvar word = "{word}"\n'
            "func main() { for i := 0; i < 3; i++ { fmt.Println(word, i) } }\n",
        ]

    a = start_session(tmp_path, cells("alpha"), "a")
    b = start_session(tmp_path, cells("beta"), "b")
    out_a, _ = a.communicate(timeout=120)
    out_b, _ = b.communicate(timeout=120)
    assert "alpha 2" in out_a and "beta" not in out_a
    assert "beta 2" in out_b and "alpha" not in out_b
    dir_a = Path(out_a.split("scratch: ")[1].split()[0])
    dir_b = Path(out_b.split("scratch: ")[1].split()[0])
    assert dir_a != dir_b
    # Each session removed its scratch module when it ended.
    assert not dir_a.exists() and not dir_b.exists()


def test_a_killed_sessions_scratch_module_is_removed_at_the_next_start(tmp_path):
    proc = start_session(tmp_path, ["!scratch", SPAWNS_AND_HANGS])
    scratch = Path(read_until(proc, "scratch:").split()[1])
    child = int(read_until(proc, "child ").split()[1])
    proc.kill()  # SIGKILL: no atexit, no clean-up of its own
    proc.wait()
    assert scratch.exists()
    engine = Engine(find_toolchain())
    try:
        assert not scratch.exists()
        assert wait_gone(child), "what the dead session's program started still runs"
        assert engine.scratch.path.exists()
    finally:
        engine.close()
    assert not engine.scratch.path.exists()


def test_a_live_sessions_scratch_module_is_left_alone(tmp_path):
    first = Engine(find_toolchain())
    second = Engine(find_toolchain())
    try:
        assert first.scratch.path.exists() and second.scratch.path.exists()
    finally:
        first.close()
        second.close()


@pytest.fixture(autouse=True)
def _no_stray_sessions():
    yield
