"""A per-program memory limit: `--memory 2GiB`, `%memory 2GiB`, `GORUN_MEMORY_LIMIT`.

How it is enforced, by platform (docs/faults.md, "Memory limit"):

- Linux with a memory cgroup we can make (cgroup.py): the run's cgroup holds
  the limit for all of its processes and every kind of memory (shared
  mappings, memfds); over it the OOM killer kills, and the run is reported
  over the limit. RLIMIT_DATA is set as well (not for -asan/-msan), so that a
  Go program's own allocations fail first, in Go's words.
- Linux: RLIMIT_DATA, soft and hard, set in the program's process between
  fork and exec, so the program cannot raise it. Since Linux 4.7 it bounds a
  process's private writable memory: for a Go program its heap, stacks and
  runtime structures. Over it, Go's allocator fails and the program ends
  with "fatal error: runtime: out of memory" (exit status 2), which we
  report as over the limit. A child the program starts inherits the limit
  (each process has its own). Below about 64 MiB a Go program cannot start.
  (RLIMIT_AS is no use for Go: the runtime reserves far more address space
  than it ever uses, and fails to start under a few hundred MiB.) Without a
  cgroup this is all: shared memory is not counted.
- elsewhere: not enforced; a note says so.

Sizes are written as Go and Docker users write them: 2GiB, 512MiB, 2G, 1.5g
(binary: 2G is 2 GiB), 500MB (decimal), or a number of bytes.
"""

from __future__ import annotations

import enum
import re
import resource
import sys
from dataclasses import dataclass, replace
from decimal import Decimal

from gorun_kernel import config
from gorun_kernel.errors import UsageError
from gorun_kernel.proc import cgroup

ENV = config.MEMORY_LIMIT.name
ENFORCED = sys.platform.startswith("linux") and hasattr(resource, "RLIMIT_DATA")
# How Go's runtime says an allocation failed, then exits with status 2: a line
# "fatal error: runtime: out of memory", "fatal error: out of memory allocating
# heap arena metadata", "fatal error: runtime: cannot allocate memory", ...
FATAL = b"fatal error: "
OOM_WORDS = (b"out of memory", b"cannot allocate memory")
OOM_STATUS = 2


def says_out_of_memory(line: bytes) -> bool:
    """Whether a line of a program's stderr is Go's runtime failing to allocate."""
    return line.startswith(FATAL) and any(w in line for w in OOM_WORDS)


# The largest limit the system takes (setrlimit's and a cgroup's: a signed 64-bit
# count of bytes, whole pages).
MAX_LIMIT = (1 << 63) - (1 << 12)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}
_UNITS = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


@dataclass(frozen=True)
class MemoryLimit:
    limit: int  # bytes
    # RLIMIT_DATA as well as the run's cgroup (where there is one): Go's own "out of
    # memory" failure, with its trace, before the cgroup's kill. Not for ASan and
    # MSan, whose shadow memory reservation RLIMIT_DATA refuses.
    rlimit: bool = True

    def __str__(self) -> str:
        return format_size(self.limit)

    def apply_in_child(self) -> None:
        """In the program's process, before exec."""
        if ENFORCED and self.rlimit:
            resource.setrlimit(resource.RLIMIT_DATA, (self.limit, self.limit))


def parse_size(text: str) -> int:
    """Bytes from "2GiB", "512MiB", "2G", "500MB", "1048576"."""
    m = _SIZE.match(text)
    if not m:
        raise UsageError(
            f"invalid memory size {text!r}: give bytes or a size such as 512MiB, 2GiB, 2G"
        )
    number, prefix, binary, byte = m.groups()
    power = _POWERS[prefix.lower()]
    if binary and not prefix:
        raise UsageError(f"invalid memory size {text!r}")
    # 2G and 2GiB are binary, as Docker and Kubernetes users mean them; 2GB is decimal.
    base = 1000 if byte and not binary else 1024
    size = int(Decimal(number) * base**power)  # exact: a float overflows on 400 digits
    if size < 1 << 20:
        raise UsageError(f"memory limit {text!r} is too small: give at least 1MiB")
    if size > MAX_LIMIT:
        raise UsageError(f"memory limit {text!r} is more than the system can limit (8 EiB)")
    return size


def format_size(n: int) -> str:
    for unit, name in _UNITS:
        if n >= unit:
            value = n / unit
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text} {name}"
    return f"{n} bytes"


def parse(text: str) -> MemoryLimit | None:
    """A limit, or None for "off"/"none"."""
    if text.strip().lower() in ("off", "none", ""):
        return None
    return MemoryLimit(parse_size(text))


class NoLimit(enum.Enum):
    """`--memory off`, `%memory off`: asked for no limit (refused under GORUN_MEMORY_LIMIT)."""

    OFF = "off"


OFF = NoLimit.OFF
# What a cell or %memory asked for, as one value: None (nothing: GORUN_MEMORY_LIMIT,
# if set, applies), OFF, or a limit.
MemoryAsk = MemoryLimit | NoLimit | None


def ask(text: str) -> MemoryLimit | NoLimit:
    """What `--memory TEXT` asks for: a limit, or OFF for "off"/"none"."""
    limit = parse(text)
    return OFF if limit is None else limit


def from_environment() -> MemoryLimit | None:
    """GORUN_MEMORY_LIMIT: the default for every program (a classroom sets it once)."""
    text = config.MEMORY_LIMIT.text()
    try:
        return parse(text)
    except UsageError as e:
        raise UsageError(f"{ENV}: {e.message}") from None


SANITIZERS = ("-asan", "-msan")  # go build flags whose runtime reserves terabytes of shadow


def for_build(memory: MemoryLimit | None, build_flags: list[str]) -> MemoryLimit | None:
    """The limit for a program built with build_flags.

    ASan and MSan reserve terabytes of address space for their shadow memory at
    start, which RLIMIT_DATA refuses ("AddressSanitizer failed to allocate ...
    Perhaps you're using ulimit -v"). Where a cgroup holds the limit, that is the
    limit (it counts memory used, not reserved); elsewhere they cannot run under one.
    """
    if memory is None:
        return None
    for flag in build_flags:
        name, _, value = flag.partition("=")
        if name in SANITIZERS and value.lower() not in ("false", "0", "f"):
            if cgroup.enforces_memory():
                return replace(memory, rlimit=False)
            raise UsageError(
                f"{name} cannot run under a memory limit on this machine ({memory}): its "
                "shadow memory reservation is over any limit the system can set here "
                "without a cgroup (see docs/faults.md, Memory limit); run it with "
                "--memory off, or without " + name
            )
    return memory


def choose(asked: MemoryAsk, ceiling: MemoryLimit | None) -> MemoryLimit | None:
    """A run's limit: what the cell (or %memory) asked for, within GORUN_MEMORY_LIMIT.

    The variable is the default and the ceiling: a classroom sets it once, and
    a cell can ask for less, never for more."""
    if asked is None:
        return ceiling
    if ceiling is not None and (asked is OFF or asked.limit > ceiling.limit):
        # Said for --memory and %memory alike: name neither.
        why = "it cannot be turned off" if asked is OFF else f"{asked} is more"
        raise UsageError(f"the memory limit of this session is {ceiling} ({ENV}): {why}: "
                         "only a lower limit can be asked for")  # fmt: skip
    return None if asked is OFF else asked
