"""A new student's first cell, with and without the class's warmed shared build cache.

    python benchmarks/classroom_first_cell.py [--reps 3] [--out benchmarks/CLASSROOM.md]

Through the local JupyterHub (classroom.hub), one Hub per mode: each repetition
is a new student who logs in, starts a server, opens the exercise notebook's
kernel and runs a first cell (the exercise's answer and its check: fmt, strings,
unicode). "cold": the student's build cache starts empty (go's default, a new
home); "warm": it starts as the class's warmed cache (hard links). In the same
run, plain `go run` of the same program with an empty GOCACHE and with a seeded one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classroom import caches, exercise, loadtest
from classroom.hub import ClassOptions, Classroom, default_class_dir
from gorun_kernel.build.toolchain import find_toolchain

FIRST_CELL = exercise.Cell("first cell", exercise.SOLUTION + exercise.CHECK, expect_text="pass")
PROGRAM = (
    'package main\n\nimport (\n\t"fmt"\n\t"strings"\n\t"unicode"\n)\n\n'
    + exercise.SOLUTION
    + "\nfunc main() {\n"
    + "".join(f"\t{line}\n" for line in exercise.CHECK.splitlines())
    + "}\n"
)


async def new_student(room: Classroom, name: str) -> tuple[float, float]:
    """(first cell's seconds, seconds from login to its result)."""
    started = time.monotonic()
    student = await loadtest.log_in(room, name)
    await student.start_server()
    await student.open_notebook()
    run = await student.run_cell(FIRST_CELL)
    student.close()
    if run.problem:
        raise SystemExit(f"{name}'s first cell failed: {run.problem}")
    return run.seconds, time.monotonic() - started


def hub_figures(shared: bool, reps: int, class_dir: Path) -> tuple[list[float], list[float]]:
    cells, totals = [], []
    with Classroom(ClassOptions(class_dir, shared_cache=shared)) as room:
        for i in range(reps):
            cell, total = asyncio.run(new_student(room, f"new{i}"))
            cells.append(cell)
            totals.append(total)
    return cells, totals


def go_run_seconds(gocache: Path) -> float:
    toolchain = find_toolchain()
    with tempfile.TemporaryDirectory() as work:
        Path(work, "go.mod").write_text("module first\n\ngo 1.21\n")
        Path(work, "main.go").write_text(PROGRAM)
        env = toolchain.command_env({**os.environ, "GOCACHE": str(gocache)})
        started = time.monotonic()
        subprocess.run(
            [toolchain.go, "run", "."], cwd=work, env=env, check=True, capture_output=True
        )
        return time.monotonic() - started


def plain_figures(reps: int, warmed: Path) -> tuple[list[float], list[float]]:
    cold, warm = [], []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            cold.append(go_run_seconds(Path(tmp, "empty")))
            caches.seed_build_cache(warmed, Path(tmp, "seeded"))
            warm.append(go_run_seconds(Path(tmp, "seeded")))
    return cold, warm


def fmt_s(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--class-dir", type=Path, default=default_class_dir())
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()
    warmed = caches.warm_build_cache(args.class_dir / "go-build")
    cold_cell, cold_total = hub_figures(False, args.reps, args.class_dir)
    warm_cell, warm_total = hub_figures(True, args.reps, args.class_dir)
    plain_cold, plain_warm = plain_figures(args.reps, args.class_dir / "go-build")
    go = find_toolchain().version
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; {go}; {args.reps} new students per mode, median (min-max). "
        f"Warming the class's caches once: {warmed.how}; gorun_kernel's standard-library index.",
        "",
        "| a new student's first cell | empty build cache | warmed shared cache | speed-up |",
        "| --- | --- | --- | --- |",
        f"| the cell (execute_request to idle) | {fmt_s(cold_cell)} | {fmt_s(warm_cell)} | "
        f"{statistics.median(cold_cell) / statistics.median(warm_cell):.1f}x |",
        f"| login to the cell's result (server, kernel, cell) | {fmt_s(cold_total)} | "
        f"{fmt_s(warm_total)} | "
        f"{statistics.median(cold_total) / statistics.median(warm_total):.1f}x |",
        f"| plain `go run` of the same program | {fmt_s(plain_cold)} | {fmt_s(plain_warm)} | "
        f"{statistics.median(plain_cold) / statistics.median(plain_warm):.1f}x |",
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
