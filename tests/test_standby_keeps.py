"""After a run's clean report, the kernel keeps its standby's cgroup for the standby's
next run only when nothing else is in it, or when the standby has already taken
another thread's launch, whose program is then rightly there (proc/spawner.py,
Spawner.keeps); and a late kill of a run whose standby has moved on kills nothing
(Spawner.stop_unless_moved_on). Pure: a cgroup directory's cgroup.procs is a file here."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorun_kernel.proc.cgroup import RunGroup
from gorun_kernel.proc.spawner import Spawner

STANDBY = 4242
PROGRAM = 4343


def group(tmp_path: Path, procs: list[int]) -> RunGroup:
    (tmp_path / "cgroup.procs").write_text("".join(f"{p}\n" for p in procs))
    return RunGroup([tmp_path], 2, [], kept=True)


def test_a_cgroup_holding_its_standby_alone_is_kept(tmp_path):
    spawner = Spawner()
    spawner.taken[STANDBY] = 1
    assert spawner.keeps(group(tmp_path, [STANDBY]), STANDBY, 1)


def test_a_cgroup_holding_more_than_its_standby_is_ended(tmp_path):
    # (a program that lied about its end through its supervisor's report pipe)
    spawner = Spawner()
    spawner.taken[STANDBY] = 1
    assert not spawner.keeps(group(tmp_path, [STANDBY, PROGRAM]), STANDBY, 1)


def test_the_next_runs_program_in_it_does_not_end_it(tmp_path):
    # The standby took another thread's launch before this run's end was handled:
    # the program there is that launch's, not one this run left.
    spawner = Spawner()
    spawner.taken[STANDBY] = 2
    assert spawner.keeps(group(tmp_path, [STANDBY, PROGRAM]), STANDBY, 1)


@pytest.mark.parametrize(
    ("launch", "stopped"),
    [
        # A late kill (a background program's --timeout, %kill) of a run that is over:
        # the standby has taken a later launch, which it runs now.
        pytest.param(1, False, id="moved-on"),
        pytest.param(2, True, id="current-run"),
        # forked for its run alone (launch 0): it never runs another launch
        pytest.param(0, True, id="a-supervisor-of-its-own"),
    ],
)
def test_a_kill_is_done_unless_the_standby_moved_on(launch, stopped):
    spawner = Spawner()
    spawner.taken[STANDBY] = 2
    stops: list[str] = []
    assert spawner.stop_unless_moved_on(STANDBY, launch, lambda: stops.append("x")) is stopped
    assert stops == (["x"] if stopped else [])
