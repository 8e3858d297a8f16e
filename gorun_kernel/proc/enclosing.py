"""The memory limit the kernel itself runs under: a container's, a pod's, a systemd slice's.

Where the kernel has no cgroup of its own for a run (proc/cgroup.py: in a container
the cgroup file system is read-only), a program that allocates past the container's
limit is killed by the kernel's OOM killer with SIGKILL, which alone says only
"signal: killed". The enclosing memory cgroup's own oom_kill count tells that it was
the limit: read before and after the run, it lets the run be reported as over the
container's limit, in the student's words.

cgroup v2: /sys/fs/cgroup/memory.max and memory.events; v1: the memory hierarchy's
memory.limit_in_bytes and memory.oom_control. In a container these are the
container's own (podman and docker mount its cgroup at the root of /sys/fs/cgroup).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel.proc.memlimit import format_size

CGROUP_ROOT = Path("/sys/fs/cgroup")
# v1 reports "no limit" as a page-rounded 2**63 - 1; anything this large is no limit.
NO_LIMIT = 1 << 62


@dataclass(frozen=True)
class EnclosingLimit:
    directory: Path
    limit: int  # bytes
    version: int  # 1 or 2

    def __str__(self) -> str:
        return format_size(self.limit)

    def oom_kills(self) -> int:
        """How many processes the limit's OOM killer has killed so far (0 if unknown)."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        with contextlib.suppress(OSError, ValueError):
            for line in (self.directory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0


def _own_cgroup(version: int) -> str:
    """This process's cgroup path in the hierarchy (v2: "0::", v1: the memory line)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            ident, controllers, path = line.split(":", 2)
            if version == 2 and ident == "0" and controllers == "":
                return path
            if version == 1 and "memory" in controllers.split(","):
                return path
    return "/"


def _limit_in(directory: Path, version: int) -> int | None:
    name = "memory.max" if version == 2 else "memory.limit_in_bytes"
    try:
        text = (directory / name).read_text().strip()
    except OSError:
        return None
    if text == "max" or not text.isdigit() or int(text) >= NO_LIMIT:
        return None
    return int(text)


@functools.cache
def enclosing_limit(root: Path = CGROUP_ROOT) -> EnclosingLimit | None:
    """The memory limit of the cgroup this process is in, or None where there is none.

    The process's own cgroup directory when it is visible, else the hierarchy's root
    (inside a container without a cgroup namespace, /proc/self/cgroup names the host's
    path while the container's cgroup is mounted at the root).
    """
    for version, base in ((2, root), (1, root / "memory")):
        own = base / _own_cgroup(version).lstrip("/")
        for directory in dict.fromkeys((own, base)):
            limit = _limit_in(directory, version)
            if limit is not None:
                return EnclosingLimit(directory, limit, version)
    return None
