"""Where a cell's milliseconds go: named instants of its handling, for profiling.

With GORUN_SPANS set to a file, `mark(name)` notes the CLOCK_MONOTONIC time of a
step (the clock is the machine's, so a client's send time compares with the
kernel's), and `flush()` appends the cell's marks to the file as one JSON line
(`benchmarks/spans.py` turns them into a table). Unset, `mark` is one test of a
module global: nothing is measured and nothing is kept.
"""

from __future__ import annotations

import json
import time

from gorun_kernel import config

PATH = config.SPANS.text()  # read once: a profile is of one kernel's life
_marks: list[tuple[str, int]] = []


def mark(name: str) -> None:
    """The step `name` happens now (the main thread's run of a cell)."""
    if PATH:
        _marks.append((name, time.monotonic_ns()))


def forget() -> None:
    """A forked process starts with no marks of its parent's."""
    _marks.clear()


def flush(suffix: str = "") -> None:
    """The cell is done: its marks go to the file as one line (a helper process,
    the supervisor, writes its own to the file's name + suffix)."""
    if not PATH or not _marks:
        return
    line = json.dumps(_marks)
    _marks.clear()
    with open(PATH + suffix, "a") as f:
        f.write(line + "\n")
