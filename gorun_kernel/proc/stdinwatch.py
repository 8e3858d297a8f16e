"""Telling that a program waits for input (Linux: its threads' syscalls in /proc).

A program that blocks in read(2) on its standard input wants a line from the
user: the run loop then turns its pending partial line into a prompt.
"""

from __future__ import annotations

import os
import platform

# The read(2)-family syscall numbers, to tell from /proc that a process is
# blocked reading its standard input.
_READ_SYSCALLS = {
    "x86_64": {0, 17, 19, 295, 327},
    "aarch64": {63, 65, 67, 69, 286},
}.get(platform.machine(), set())


def group_pids(pid: int) -> list[int]:
    """The process and its descendants (Linux: /proc/<pid>/task/<tid>/children)."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return seen


def _reading_fd0(p: int) -> bool:
    try:
        tids = os.listdir(f"/proc/{p}/task")
    except OSError:
        return False
    for tid in tids:
        try:
            with open(f"/proc/{p}/task/{tid}/syscall") as f:
                fields = f.read().split()
        except OSError:
            continue
        # "<nr> <arg0> ...": a read-family syscall whose fd (arg0) is 0.
        if (
            len(fields) >= 2
            and fields[0].isdigit()
            and int(fields[0]) in _READ_SYSCALLS
            and int(fields[1], 16) == 0
        ):
            return True
    return False


def blocked_reading_stdin(pid: int) -> bool:
    """True when some thread of the process tree is in a read(2) of fd 0 (Linux only)."""
    if not _READ_SYSCALLS:
        return False
    return any(_reading_fd0(p) for p in group_pids(pid))


def stdin_detection_works() -> bool:
    """Whether this platform lets us see that a program waits for input."""
    return bool(_READ_SYSCALLS) and os.path.exists(f"/proc/{os.getpid()}/task")
