"""Where a cell's milliseconds go in the kernel: the profile of issue 23 (benchmarks/RERUN.md).

    python benchmarks/spans.py [--reps 60] [--edit | --web] [--tree DIR] [--out FILE]

A gorun kernel (this tree, or --tree DIR: another checkout) runs with
GORUN_SPANS set (gorun_kernel/spans.py): each cell writes the CLOCK_MONOTONIC
instants of its steps, the kernel's and its run supervisor's; this client
adds when it sent execute_request and when the kernel said idle. The steps
between two instants are grouped into the rows of the table; each row is the
median over the cells of that row's time in a cell. Instants, not wall-clock
totals alone: on a shared machine the shares are what compare.

The cell: an unchanged hello cell run again (default), an edited hello cell
(--edit: a new string each time), or an edited net/http + encoding/json cell (--web).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import Kernel

HELLO = 'import "fmt"\n\nfmt.Println("hello, again {i}")'
WEB = (
    'import (\n\t"encoding/json"\n\t"fmt"\n\t"net/http"\n)\n\n'
    'b, _ := json.Marshal(map[string]any{{"status": http.StatusText(200), "n": "{i}"}})\n'
    "fmt.Println(string(b))"
)

BUILD = "build (an edited cell: compiler and linker, or go build; not overhead)"
# Each step is named by the instant it ends at (gorun_kernel's spans.mark names).
ROWS: dict[str, tuple[str, ...]] = {
    "message handling (receive, history, reply, idle)": (
        "early", "request", "do_execute", "execute", "replied", "client-idle",
    ),
    "compose (read the cell)": ("composed",),
    # (a head start: the memo's stamps checked as the request arrives, then again)
    "cache lookup (build key, executable cache)": ("checked", "built"),
    BUILD: (),
    "pipes and channels (set up, drain, close)": (
        "runner", "process", "spawn", "supervised", "loop-done", "cleaned", "ran",
        "ahead", "adopted",
    ),
    "supervisor start (cgroup, spawner, fork)": (
        "launch-made", "standby-got", "spawner-answered", "spawned",
        "sup-start", "sup-setup", "sup-fds",
    ),
    "spawn (the program's start)": (
        "sup-cgroup-entered", "sup-cloned", "sup-posix-spawned", "sup-spawned", "said-pid",
    ),
    "the program's own run (not overhead)": ("program-exit", "sup-program-exit"),
    "supervisor end (reap, report)": ("sup-ended", "said-exit", "report-eof"),
    "status line (presentation)": ("presented",),
    "other": ("executed",),
}  # fmt: skip
ROW_OF = {name: row for row, names in ROWS.items() for name in names}


def read_lines(path: Path) -> list[list[tuple[str, int]]]:
    if not path.exists():
        return []
    return [[tuple(m) for m in json.loads(line)] for line in path.read_text().splitlines()]


def profile(spans: Path, client: list[tuple[int, int]]) -> dict[str, list[float]]:
    """Milliseconds per row, one value per cell."""
    kernel = read_lines(spans)[-len(client) :]
    supervisor = read_lines(Path(str(spans) + ".supervisor"))
    supervisor = supervisor[-len(client) :] if len(supervisor) >= len(client) else []
    rows: dict[str, list[float]] = {row: [] for row in ROWS}
    rows["unnamed steps"] = []
    for i, (sent, idle) in enumerate(client):
        marks = [("client-send", sent), *kernel[i], ("client-idle", idle)]
        if supervisor:
            marks += supervisor[i]
        marks.sort(key=lambda m: m[1])
        cell = dict.fromkeys(rows, 0.0)
        building = False  # between "composed" and "built": go's or the compiler's processes
        for (_, t0), (name, t1) in itertools.pairwise(marks):
            row = BUILD if building and name != "built" else ROW_OF.get(name, "unnamed steps")
            cell[row] += (t1 - t0) / 1e6
            building = (building or name == "composed") and name != "built"
        for row, ms in cell.items():
            rows[row].append(ms)
    return rows


def steps(spans: Path, client: list[tuple[int, int]]) -> str:
    """--steps: every instant's step (from the one before it), median ms, in cell order."""
    kernel = read_lines(spans)[-len(client) :]
    supervisor = read_lines(Path(str(spans) + ".supervisor"))
    supervisor = supervisor[-len(client) :] if len(supervisor) >= len(client) else []
    per: dict[str, list[float]] = {}
    for i, (sent, idle) in enumerate(client):
        marks = [("client-send", sent), *kernel[i], ("client-idle", idle)]
        if supervisor:
            marks += supervisor[i]
        marks.sort(key=lambda m: m[1])
        for (_, t0), (name, t1) in itertools.pairwise(marks):
            per.setdefault(name, []).append((t1 - t0) / 1e6)
    lines = ["| step (ends at) | median ms |", "| --- | --- |"]
    lines += [f"| {name} | {statistics.median(v):.3f} |" for name, v in per.items()]
    return "\n".join(lines)


def table(rows: dict[str, list[float]], totals: list[float]) -> str:
    medians = {row: statistics.median(v) for row, v in rows.items() if v}
    overhead = sum(ms for row, ms in medians.items() if not _not_overhead(row))
    lines = ["| step | median ms per cell | share of the kernel's overhead |"]
    lines.append("| --- | --- | --- |")
    for row, ms in medians.items():
        overhead_row = not _not_overhead(row) and overhead
        share = f"{100 * ms / overhead:.0f}%" if overhead_row else ""
        lines.append(f"| {row} | {ms:.2f} | {share} |")
    lines.append(f"| **execute_request to idle (median of the totals)** | "
                 f"**{statistics.median(totals):.2f}** | |")  # fmt: skip
    return "\n".join(lines)


def _not_overhead(row: str) -> bool:
    """The program's own run and the build are not the kernel's overhead."""
    return "not overhead" in row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=60)
    parser.add_argument("--edit", action="store_true", help="an edited hello cell")
    parser.add_argument("--web", action="store_true", help="an edited net/http cell")
    parser.add_argument("--tree", help="the checkout whose kernel runs (default: this one)")
    parser.add_argument("--out")
    parser.add_argument("--steps", action="store_true", help="also every step, finer than the rows")
    args = parser.parse_args()
    tree = args.tree or str(Path(__file__).resolve().parent.parent)
    work = Path(tempfile.mkdtemp(prefix="gorun-spans-"))
    spans = work / "spans.jsonl"
    env = {**os.environ, "PYTHONPATH": tree, "GORUN_SPANS": str(spans)}
    kernel = Kernel(str(work), env)
    source = WEB if args.web else HELLO
    edited = args.edit or args.web
    # Edited cells never found in the executable cache (it outlives kernels): this
    # run's own text. A number in a string, as an edit of a literal would be.
    salt = f"{os.getpid()}.{time.time_ns()}"
    kernel.run(source.format(i=f"{salt}-0"))
    kernel.run(source.format(i=f"{salt}-1"))  # the spawner is there from the second run on
    client: list[tuple[int, int]] = []
    for i in range(args.reps):
        sent = time.monotonic_ns()
        seconds = kernel.run(source.format(i=f"{salt}-{i + 2}" if edited else f"{salt}-1"))
        client.append((sent, sent + int(seconds * 1e9)))
    kernel.close()
    rows = profile(spans, client)
    load = os.getloadavg()
    what = "unchanged hello cell re-run"
    if edited:
        what = "edited net/http cell" if args.web else "edited hello cell"
    text = (
        f"{what}, {args.reps} cells, kernel of {tree}; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n\n"
        + table(rows, [(b - a) / 1e6 for a, b in client])
        + "\n"
    )
    if args.steps:
        text += "\n" + steps(spans, client) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
