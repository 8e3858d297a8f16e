"""Edited cells through the fast path (compile + link, build/direct.py) vs `go run`.

    python benchmarks/fastpath.py --before /path/to/worktree/of/main/before [--reps 15]

Three kernels' worth of work in one run, one repetition of each in turn
(interleaved, so that the machine's drift falls on all alike): this tree's
kernel, the kernel of the tree given as --before (the same machine, the same
go, its own executable cache), and plain `go run .` of the same program in a
module of its own. Every source carries a number unique to the repetition, so
no cache (go's or ours) has seen it. Each figure is execute_request to idle,
through jupyter_client.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

from run import HELLO_PROGRAM, HELLO_SNIPPET, SALT, WEB_PROGRAM, GoRun, Kernel, fmt_ms
from tables import report

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.cmdline import parse
from gorun_kernel.engine import Engine
from gorun_kernel.events import BaseSink
from gorun_kernel.outcome import RunOptions


class Quiet(BaseSink):
    def stdout(self, text: str) -> None:
        pass

    def stderr(self, text: str) -> None:
        pass


def engine_cell(engine: Engine, cwd: str, code: str) -> float:
    """Build and run one cell in this process's engine (no kernel, no messages)."""
    start = time.perf_counter()
    outcome = engine.run_cell(code, parse([]), Quiet(), RunOptions(cwd))
    assert outcome.ok and outcome.built_by in ("direct", "cache"), outcome
    return time.perf_counter() - start


def kernel_env(tree: str, cache: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": tree, "GORUN_CACHE": cache}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="a worktree of the code before")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--out", help="also write the Markdown table to this file")
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    work = tempfile.mkdtemp(prefix="gorun-bench-cwd-")
    after = Kernel(work, kernel_env(here, tempfile.mkdtemp(prefix="gorun-bench-after-")))
    before = Kernel(work, kernel_env(args.before, tempfile.mkdtemp(prefix="gorun-bench-before-")))
    gorun = GoRun()
    cases = [
        ("edited hello (snippet; go run: the program)", HELLO_SNIPPET, HELLO_PROGRAM),
        ("edited hello (program cell)", HELLO_PROGRAM, HELLO_PROGRAM),
        ("edited net/http + encoding/json program", WEB_PROGRAM, WEB_PROGRAM),
    ]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the start (shared with other work); "
        f"{args.reps} repetitions, interleaved (after, before, go run).",
        "",
        "| cell | after (fast path) | before | go run | after / go run | before / go run |",
        "|---|---|---|---|---|---|",
    ]
    for name, cell, program in cases:
        for fn in (after.run, before.run):
            fn(cell.format(i=SALT - 1))  # the import set's first cell: go's plan, warm caches
        gorun.run(program.format(i=SALT - 1))
        a, b, g = [], [], []
        for i in range(args.reps):
            n = SALT + i + 1000 * len(lines)
            a.append(after.run(cell.format(i=n)))
            b.append(before.run(cell.format(i=n)))
            g.append(gorun.run(program.format(i=n)))
        med = statistics.median
        lines.append(
            f"| {name} | {fmt_ms(a)} | {fmt_ms(b)} | {fmt_ms(g)} | "
            f"{med(a) / med(g):.2f}x | {med(b) / med(g):.2f}x |"
        )
        print(lines[-1], file=sys.stderr)
    # The same edits without the kernel around the engine: what the build costs.
    os.environ["GORUN_CACHE"] = tempfile.mkdtemp(prefix="gorun-bench-engine-")
    engine = Engine(find_toolchain())
    lines += ["", "| in-process engine (no kernel) | after | go run | after / go run |"]
    lines.append("|---|---|---|---|")
    for name, cell, program in cases[1:]:
        engine_cell(engine, work, cell.format(i=SALT - 2))
        a, g = [], []
        for i in range(args.reps):
            n = SALT + 50000 + i + 1000 * len(lines)
            a.append(engine_cell(engine, work, cell.format(i=n)))
            g.append(gorun.run(program.format(i=n)))
        lines.append(
            f"| {name} | {fmt_ms(a)} | {fmt_ms(g)} | "
            f"{statistics.median(a) / statistics.median(g):.2f}x |"
        )
        print(lines[-1], file=sys.stderr)
    engine.close()
    # What a kernel adds to any cell on this machine now: an unchanged cell.
    a, b = [], []
    for _ in range(args.reps):
        a.append(after.run(HELLO_SNIPPET.format(i=SALT)))
        b.append(before.run(HELLO_SNIPPET.format(i=SALT)))
    lines.append("")
    lines.append(
        f"Unchanged cell re-run (the kernel's own cost per cell, no build): after "
        f"{fmt_ms(a)}, before {fmt_ms(b)}."
    )
    lines.append("")
    lines.append(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
    after.close()
    before.close()
    gorun.close()
    report(lines, args.out)


if __name__ == "__main__":
    main()
