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
import errno
import os
import signal
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

SYS_CLONE3 = 435  # the same number on every architecture (a syscall newer than the split)
CLONE_INTO_CGROUP = 0x200000000  # Linux 5.7+, cgroup v2


class _CloneArgs(ctypes.Structure):
    """struct clone_args up to its `cgroup` field (CLONE_ARGS_SIZE_VER2)."""

    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack",
            "stack_size", "tls", "set_tid", "set_tid_size", "cgroup",
        )
    ]  # fmt: skip


def _resolve_syscall() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        # PyDLL: the call keeps the GIL, so a child of the clone goes on exactly
        # where its parent was (no GIL to take back in a process of one thread).
        call = ctypes.PyDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
    # syscall(long number, ...): its arguments as the C library reads them, whole words.
    call.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_size_t]
    call.restype = ctypes.c_long
    return call  # type: ignore[no-any-return]


_SYSCALL = _resolve_syscall()
_clone3_works = _SYSCALL is not None  # until the system says otherwise (ENOSYS, seccomp)


def fork_into_cgroup(directory: int) -> int | None:
    """fork(2), the child born in the cgroup v2 `directory` (an open descriptor):
    clone3 with CLONE_INTO_CGROUP. As os.fork: the child's pid, or 0 in the child.

    None where it cannot be done (a kernel before 5.7, a seccomp filter that
    refuses clone3, a cgroup v1 directory): the caller forks and moves the child.
    Moving a process between cgroups (a write to cgroup.procs) waits for an RCU
    grace period, 10-20 ms on a busy machine, every run; being born there costs
    nothing more than the fork.

    Only for a process of one thread that runs nothing but the exec's
    preparation in the child (the supervisor): the C library's fork handlers
    do not run, so its locks and Python's are as the parent's one thread left them.
    """
    global _clone3_works
    if not _clone3_works or _SYSCALL is None:
        return None
    args = _CloneArgs(flags=CLONE_INTO_CGROUP, exit_signal=signal.SIGCHLD, cgroup=directory)
    pid = _SYSCALL(SYS_CLONE3, ctypes.byref(args), ctypes.sizeof(args))
    if pid < 0:
        if ctypes.get_errno() in (errno.ENOSYS, errno.EPERM, errno.E2BIG):
            _clone3_works = False  # this system has none: do not try again
        return None
    return int(pid)


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
