"""Telling that a program waits for input (Linux: its threads' syscalls in /proc).

A program that blocks in read(2) on its standard input wants a line from the
user: the run loop then turns its pending partial line into a prompt.
"""

from __future__ import annotations

import functools
import platform

from gorun_kernel.proc import linux

# The read(2)-family syscall numbers, to tell from /proc that a process is
# blocked reading its standard input.
_READ_SYSCALLS = {
    "x86_64": {0, 17, 19, 295, 327},
    "aarch64": {63, 65, 67, 69, 286},
}.get(platform.machine(), set())


def _reading_fd0(p: int) -> bool:
    # "<nr> <arg0> ...": a read-family syscall whose fd (arg0) is 0.
    return any(
        len(fields) >= 2
        and fields[0].isdigit()
        and int(fields[0]) in _READ_SYSCALLS
        and int(fields[1], 16) == 0
        for fields in linux.thread_syscalls(p)
    )


def blocked_reading_stdin(pid: int) -> bool:
    """True when some thread of the process tree is in a read(2) of fd 0 (Linux only)."""
    if not _READ_SYSCALLS:
        return False
    return any(_reading_fd0(p) for p in [pid, *linux.descendants(pid)])


@functools.cache
def stdin_detection_works() -> bool:
    """Whether this platform lets us see that a program waits for input (asked per
    cell, looked up once: /proc's layout does not change under a process)."""
    return bool(_READ_SYSCALLS) and linux.can_see_threads()
