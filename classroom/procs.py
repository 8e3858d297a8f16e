"""The class's processes, found in /proc by a marker in their environment.

The Hub gets CLASSROOM_ID=<run id> in its environment and the spawner gives it to
every single-user server; kernels, go commands and student programs inherit it.
So every process the class started carries it, whichever process group or
session it put itself in, and JUPYTERHUB_USER says whose it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MARKER = "CLASSROOM_ID"
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Proc:
    pid: int
    user: str  # JUPYTERHUB_USER, or "" for the Hub and its proxy
    rss: int  # bytes
    cmdline: str


def _environ(pid: int) -> dict[str, str] | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone, or a zombie
        return None
    env = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


def _rss(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * _PAGE


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


class ClassProcesses:
    """Finds the processes of one class run; environments are read once per process."""

    def __init__(self, class_id: str) -> None:
        self.class_id = class_id
        # (pid, start time, command line) -> user; the command line is in the key
        # because a process seen between fork and exec still has its parent's environment
        self._owner: dict[tuple[int, str, str], str | None] = {}

    def _start_time(self, pid: int) -> str | None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command name

    def scan(self) -> list[Proc]:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            started = self._start_time(pid)
            if started is None:
                continue
            cmdline = _cmdline(pid)
            key = (pid, started, cmdline)
            if key not in self._owner:
                env = _environ(pid)
                if env is None:
                    continue  # a zombie or gone: holds no memory, will be read again
                ours = env.get(MARKER) == self.class_id
                self._owner[key] = env.get("JUPYTERHUB_USER", "") if ours else None
            user = self._owner[key]
            if user is not None:
                found.append(Proc(pid, user, _rss(pid), cmdline))
        return found

    def rss_by_user(self) -> dict[str, dict[str, int]]:
        """Resident memory per student ("" = the Hub and the proxy), total and by kind."""
        totals: dict[str, dict[str, int]] = {}
        for proc in self.scan():
            kinds = totals.setdefault(proc.user, {"total": 0})
            kinds["total"] += proc.rss
            kind = kind_of(proc.cmdline)
            kinds[kind] = kinds.get(kind, 0) + proc.rss
        return totals


def kind_of(cmdline: str) -> str:
    """server, kernel, or program (go, its compiler and linker, the students' programs)."""
    if "jupyterhub-singleuser" in cmdline or "jupyterhub.singleuser" in cmdline:
        return "server"
    if "-m gorun_kernel" in cmdline:
        return "kernel"
    return "program"
