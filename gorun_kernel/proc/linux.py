"""Linux's process interfaces in one place: prctl(2) and the /proc file system.

Elsewhere (macOS, or a Linux without /proc) everything here degrades to "not
available": `HAS_PRCTL` is false and the prctl calls do nothing, the walks find
nothing, and callers fall back to what they do without them.

prctl is resolved once, at import, in our own process: a forked child (the run
supervisor, a program between fork and exec) then only makes the call, with no
library lookup or allocation after the fork.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _resolve_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_PRCTL = _resolve_prctl()
HAS_PRCTL = _PRCTL is not None


def set_parent_death_signal(sig: int) -> None:
    """Have the kernel send this process sig when its parent thread dies (PR_SET_PDEATHSIG).

    Safe between fork and exec. Armed after the parent may already have died:
    callers compare os.getppid() with the parent they expect right after.
    """
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(sig))


def become_child_subreaper() -> None:
    """Orphans of our descendants are re-parented to us, not to init (PR_SET_CHILD_SUBREAPER)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_CHILD_SUBREAPER, 1)


def _per_thread(pid: int, name: str) -> list[str]:
    """The text of /proc/<pid>/task/<tid>/<name> for each thread of pid; threads that
    end while we look are left out (empty if pid is gone)."""
    found: list[str] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/{name}") as f:
                found.append(f.read())
        except OSError:
            continue
    return found


def children(pid: int) -> list[int]:
    """The direct children of process pid, over all its threads (empty if it is gone)."""
    found: list[int] = []
    for text in _per_thread(pid, "children"):
        with contextlib.suppress(ValueError):
            found.extend(int(c) for c in text.split())
    return found


def descendants(pid: int) -> list[int]:
    """Every process below pid: its children, theirs, and so on (not pid itself)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = children(todo.pop())
        found.extend(kids)
        todo.extend(kids)
    return found


def thread_syscalls(pid: int) -> list[list[str]]:
    """For each thread of pid, the fields of /proc/<pid>/task/<tid>/syscall.

    "<nr> <arg0> ... <sp> <pc>" while blocked in a syscall, "running" or "-1 ..."
    otherwise; threads that end while we look are left out.
    """
    return [text.split() for text in _per_thread(pid, "syscall")]


def can_see_threads() -> bool:
    """Whether /proc shows per-thread state here (it may be missing or hidden)."""
    return os.path.exists(f"/proc/{os.getpid()}/task")


def open_fds() -> list[int] | None:
    """This process's open descriptors (None: /proc cannot tell). Safe after a fork."""
    try:
        return [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        return None


def started_at(pid: int) -> float | None:
    """When process pid started, in seconds since the epoch; None if there is no such process.

    Raises OSError or ValueError when /proc cannot tell (not Linux, an unknown layout).
    """
    boot = next(
        (
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        ),
        None,
    )
    if boot is None:
        raise ValueError("/proc/stat has no btime line")
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after
    # the last ")"; field 22 of proc(5), starttime, is the 20th after it, in clock ticks.
    fields = stat.rsplit(")", 1)[1].split()
    if len(fields) < 20:
        raise ValueError(f"/proc/{pid}/stat has no start time")
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def start_ticks(pid: int) -> int | None:
    """When process pid started, in clock ticks since boot (exact, unlike `started_at`,
    whose boot time /proc/stat rounds); None if there is no such process or /proc
    cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
