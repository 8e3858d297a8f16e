"""A control group per run, where the machine gives us one: nothing a run started
outlives it, whatever it does to its supervisor, and a memory limit that counts
all of its memory.

The supervisor (supervisor.py) ends what a program starts, but a program can
stop its supervisor (SIGSTOP) or kill it, and then what it started is out of
its reach. A cgroup is not: every process a run starts is born in the run's
cgroup and cannot leave it (moving needs write access to another cgroup, which
programs of ours never get by accident), and the whole group is killed at once.

What each machine gets (docs/faults-and-limits.md says the same to users):

- cgroup v2 (the unified hierarchy: /sys/fs/cgroup on current distributions,
  /sys/fs/cgroup/unified on "hybrid" ones) where our own cgroup is writable
  (root, or a cgroup delegated to the user: systemd's Delegate=yes): a
  session cgroup under ours, a cgroup per run in it, ended with cgroup.kill
  (Linux 5.14+). If the memory controller can be enabled for the session
  (it can where our own cgroup has no other processes, or is the root of a
  container's namespace), a memory limit is the run's memory.max.
- cgroup v1's memory hierarchy, writable (root, as on this project's CI
  machine): a memory limit is the run's memory.limit_in_bytes (and memsw);
  without v2, the run's v1 cgroup also serves for ending everything (kill
  what it lists until it is empty).
- neither (macOS, a container without cgroup access): the
  supervisor alone (subreaper + PDEATHSIG) and RLIMIT_DATA. GORUN_CGROUP=off
  chooses this path (config.py).

The session cgroup is made once (`gorun-<pid>-<start time>`), each run's
(`run-<n>`) as it starts, and removed when the run is over. Our process never
joins any of them. A program is born in its run's cgroup: its supervisor,
forked there by the spawner (spawner.py), starts it there; or the supervisor
forks it straight into it (clone3, linux.fork_into_cgroup); or, where neither
can be (cgroup v1, no clone3), the supervisor moves itself into the run's
cgroup to start the program, then moves back where it came from (each move
waits for an RCU grace period: 10-20 ms).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel import config
from gorun_kernel.proc import linux

END_BOUND = 5.0  # seconds to wait for a killed run's cgroup to empty


@dataclass(frozen=True)
class Hierarchy:
    version: int  # 1 or 2
    own: Path  # our process's cgroup in it (a directory)

    def procs(self, directory: Path) -> Path:
        return directory / "cgroup.procs"


def _read(path: Path) -> str:
    """A small file's text in an open, reads and a close: a run's end reads
    cgroup.procs on the kernel's main thread, where each system call lets the
    kernel's other threads in (open() adds an fstat, an ioctl and an lseek)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode()


def _write(path: Path, text: str) -> None:
    """One write(2), as cgroup files want (no buffering, no newline games)."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _mounts() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(cgroup2 mounts, v1 memory mounts) as (mount root, mount point)."""
    v2: list[tuple[str, str]] = []
    memory: list[tuple[str, str]] = []
    for line in _read(Path("/proc/self/mountinfo")).splitlines():
        left, _, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        if len(fields) < 5 or len(after) < 3:
            continue
        root, point = fields[3], fields[4].replace("\\040", " ")
        if after[0] == "cgroup2":
            v2.append((root, point))
        elif after[0] == "cgroup" and "memory" in after[2].split(","):
            memory.append((root, point))
    return v2, memory


def _own(mounts: list[tuple[str, str]], path: str) -> Path | None:
    """Our cgroup's directory, from a mount of its hierarchy and our path in it."""
    for root, point in mounts:
        if path == root or path.startswith(root.rstrip("/") + "/"):
            directory = Path(point, path[len(root) :].lstrip("/"))
            if directory.is_dir():
                return directory
    return None


def _find() -> tuple[Hierarchy | None, Hierarchy | None]:
    """(the v2 hierarchy, the v1 memory hierarchy) our process is in, if mounted."""
    v2_mounts, memory_mounts = _mounts()
    v2 = memory = None
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0" and controllers == "":
            own = _own(v2_mounts, path)
            v2 = Hierarchy(2, own) if own is not None else None
        elif "memory" in controllers.split(","):
            own = _own(memory_mounts, path)
            memory = Hierarchy(1, own) if own is not None else None
    return v2, memory


class Sandbox:
    """The process's session cgroups (one per hierarchy used) and its runs'."""

    def __init__(self, lifetime: Hierarchy | None, memory: Hierarchy | None, name: str) -> None:
        self.lifetime: Path | None = None  # the session's cgroup for ending runs
        self.lifetime_version = 2
        self.memory: Path | None = None  # the session's cgroup for memory limits
        self.memory_version = 2
        # cgroup.procs of our own cgroups, where the supervisor moves back to
        self.origin: dict[Path | None, Path] = {}
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()
        if lifetime is not None and _make(lifetime.own / name):
            self.lifetime = lifetime.own / name
            self.origin[self.lifetime] = lifetime.own / "cgroup.procs"
            _remove_dead(lifetime.own)
            if "memory" in _read(self.lifetime / "cgroup.controllers").split():
                with contextlib.suppress(OSError):
                    _write(self.lifetime / "cgroup.subtree_control", "+memory")
                    self.memory = self.lifetime
        if self.memory is None and memory is not None and _make(memory.own / name):
            self.memory, self.memory_version = memory.own / name, 1
            self.origin[self.memory] = memory.own / "cgroup.procs"
            _remove_dead(memory.own)
            if self.lifetime is None:  # v1 alone: the memory cgroup ends runs too
                self.lifetime, self.lifetime_version = self.memory, 1

    def run(self, limit: int | None) -> RunGroup | None:
        """A new run's cgroups; None where there are none to be had."""
        if self.lifetime is None:
            return None
        if self.memory is None:
            limit = None  # (RLIMIT_DATA alone, then)
        if _ending:
            _remove_ended()
        with self.lock:
            name = f"run-{next(self.numbers)}"
        parents = [self.lifetime]
        if limit is not None and self.memory != self.lifetime:
            parents.append(self.memory)
        dirs = [p / name for p in parents if p is not None]
        try:
            for d in dirs:
                d.mkdir()
        except OSError:
            for d in dirs:
                with contextlib.suppress(OSError):
                    d.rmdir()
            return None
        group = RunGroup(dirs, self.lifetime_version, [self.origin[p] for p in parents])
        if limit is not None:
            try:
                group.limit_memory(dirs[-1], self.memory_version, limit)
            except OSError:
                group.end()
                return None
        return group

    def close(self) -> None:
        for d in (self.lifetime, self.memory):
            if d is not None:
                with contextlib.suppress(OSError):
                    for run in d.iterdir():
                        if run.is_dir() and run.name.startswith("run-"):
                            RunGroup([run], self.lifetime_version, []).end()
                    d.rmdir()


def _make(directory: Path) -> bool:
    try:
        directory.mkdir(exist_ok=True)
    except OSError:
        return False
    return True


def _remove_dead(parent: Path) -> None:
    """Session cgroups of processes that died without removing them (SIGKILL)."""
    with contextlib.suppress(OSError):
        for d in parent.iterdir():
            parts = d.name.split("-")
            if len(parts) != 3 or parts[0] != "gorun" or not parts[1].isdigit():
                continue
            if _session_name(int(parts[1])) != d.name:  # that process is gone
                for run in list(d.iterdir()):
                    if run.is_dir():
                        RunGroup([run], 2 if (run / "cgroup.kill").exists() else 1, []).end()
                with contextlib.suppress(OSError):
                    d.rmdir()


def _session_name(pid: int) -> str | None:
    """gorun-PID-START: the start time (in clock ticks since boot) tells a live
    process from a later one given the same pid."""
    started = linux.start_ticks(pid)
    return None if started is None else f"gorun-{pid}-{started}"


@dataclass
class RunGroup:
    """One run's cgroups: dirs[0] ends it; the last one holds its memory limit."""

    dirs: list[Path]
    version: int  # of dirs[0]: 2 has cgroup.kill
    origin: list[Path]  # for each of dirs, the cgroup.procs the supervisor came from
    memory_dir: Path | None = None
    memory_version: int = 2
    ooms_before: int = 0
    # A standby supervisor's (spawner.py): it stays there for its next run, once it has
    # reported this one's end with nothing else left in it (holds_only).
    kept: bool = False

    def limit_memory(self, directory: Path, version: int, limit: int) -> None:
        self.memory_dir, self.memory_version = directory, version
        if version == 2:
            _write(directory / "memory.max", str(limit))
            with contextlib.suppress(OSError):  # no swap: the limit is the limit
                _write(directory / "memory.swap.max", "0")
        else:
            _write(directory / "memory.limit_in_bytes", str(limit))
            with contextlib.suppress(OSError):  # swap accounting may be off
                _write(directory / "memory.memsw.limit_in_bytes", str(limit))
        self.ooms_before = self._ooms()

    # -- in the supervisor (a forked copy of our process) --------------------------

    def born_in(self) -> Path | None:
        """The cgroup a child can be born in (clone3's CLONE_INTO_CGROUP: v2 only)."""
        return self.dirs[0] if self.version == 2 else None

    def enter(self, born: bool = False) -> None:
        """Move the calling process into the run's cgroups (what it starts is born there);
        born: it was born in the first (born_in), the others remain."""
        for d in self.dirs[1:] if born else self.dirs:
            _write(d / "cgroup.procs", "0")

    def leave(self) -> None:
        """Move the calling process back to the cgroups it came from."""
        for procs in self.origin:
            with contextlib.suppress(OSError):
                _write(procs, "0")

    # -- in our process ------------------------------------------------------------

    def kill(self) -> None:
        """Kill every process of the run now."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                _write(self.dirs[0] / "cgroup.kill", "1")
                return
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def _pids(self) -> list[int]:
        try:
            return [int(p) for p in _read(self.dirs[0] / "cgroup.procs").split()]
        except (OSError, ValueError):
            return []

    def end(self, wait: bool = True) -> None:
        """Kill what is left, wait (bounded) for it to be gone, remove the cgroups.

        wait=False: what is left can only be on its way out (the run's supervisor,
        after its report: everything it started is reaped). It is killed all the
        same, and the cgroups it keeps are removed at a later run's start or at
        the session's end, not waited for now."""
        if not wait:
            if not self._remove():
                self.kill()
                with _lock:
                    _ending.append(self)
            return
        deadline = time.monotonic() + END_BOUND
        while self._pids() and time.monotonic() < deadline:
            self.kill()
            # Dying processes leave the cgroup as they exit: most often only the
            # supervisor, born here (spawner.py), on its way out after its report.
            time.sleep(0.0002)
        self._remove()

    def _remove(self) -> bool:
        """Remove the cgroups; False if one is not empty yet."""
        removed = True
        for d in reversed(self.dirs):
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                removed = False
        return removed

    def holds_only(self, pid: int) -> bool:
        """Whether nothing but pid (or nothing) is in the run's cgroups."""
        try:
            return all({int(p) for p in _read(d / "cgroup.procs").split()} <= {pid}
                       for d in self.dirs)  # fmt: skip
        except (OSError, ValueError):
            return False

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the run for its memory limit."""
        return self.memory_dir is not None and self._ooms() > self.ooms_before

    def _ooms(self) -> int:
        assert self.memory_dir is not None
        name = "memory.events" if self.memory_version == 2 else "memory.oom_control"
        with contextlib.suppress(OSError, ValueError):
            for line in _read(self.memory_dir / name).splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0


_sandbox: Sandbox | None = None
_made = False
_lock = threading.Lock()
_ending: list[RunGroup] = []  # killed, emptying: removed by a later run (end(wait=False))


def tidy() -> None:
    """Remove the cgroups of ended runs that have emptied since (at each run's start)."""
    if _ending:
        _remove_ended()


def _remove_ended() -> None:
    """Remove the cgroups of ended runs that have emptied since."""
    with _lock:
        left = [group for group in _ending if not group._remove()]
        _ending[:] = left


def sandbox() -> Sandbox | None:
    """This process's cgroups, made at its first run; None where there are none."""
    global _sandbox, _made
    with _lock:
        if not _made:
            _made = True
            _sandbox = _make_sandbox()
            if _sandbox is not None:
                atexit.register(_sandbox.close)
        return _sandbox


def _make_sandbox() -> Sandbox | None:
    if not config.switched_on(config.CGROUP) or not os.path.isdir("/proc"):
        return None
    name = _session_name(os.getpid())
    try:
        v2, memory = _find()
    except (OSError, ValueError):
        return None
    if name is None or (v2 is None and memory is None):
        return None
    box = Sandbox(v2, memory, name)
    return box if box.lifetime is not None else None


def enforces_memory() -> bool:
    """Whether a memory limit is a cgroup's here (all of a run's memory, ASan's too)."""
    box = sandbox()
    return box is not None and box.memory is not None
