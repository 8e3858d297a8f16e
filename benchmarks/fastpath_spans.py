"""Where an edited cell's time goes in the engine: the fast path's spans, in-process.

    PYTHONPATH=<tree> python benchmarks/fastpath_spans.py [--reps 15]

Edited cells (hello, and a net/http + encoding/json program: every source new)
through Engine.run_cell, no kernel, with the instants between which the time
goes taken around the compiler's and the linker's processes and the program's
run. The spans that are the engine's own work (a, c, e, g) do not depend on
go's tools, so they are comparable between two trees run one after the other
(PYTHONPATH picks the tree) even on a busy machine; so is the engine's own CPU
time per cell (this process's; the tools' is their own). Wall-clock figures of
the tools and of the run are as noisy as the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from run import HELLO_PROGRAM, SALT, WEB_PROGRAM

from gorun_kernel.build import direct
from gorun_kernel.cmdline import parse
from gorun_kernel.engine import Engine
from gorun_kernel.events import BaseSink
from gorun_kernel.outcome import RunOptions
from gorun_kernel.run import jobs

SPANS = {
    "a. cell -> compiler started (compose, cache key, plan, source written)": ("t0", "compile0"),
    "b. compiler (go tool compile)": ("compile0", "compile1"),
    "c. compiler ended -> linker started": ("compile1", "link0"),
    "d. linker (go tool link)": ("link0", "link1"),
    "e. linker ended -> run begins (into the executable cache)": ("link1", "run0"),
    "f. the run (supervisor, program, output)": ("run0", "run1"),
    "g. run ended -> outcome": ("run1", "t1"),
}


class Quiet(BaseSink):
    def stdout(self, text: str) -> None:
        pass

    def stderr(self, text: str) -> None:
        pass


def instrument(marks: dict[str, float]) -> None:
    """Note the instants around the tools' processes and the run."""
    tool = direct.run_process

    def run_process(spec: Any, control: Any, sink: Any = None) -> Any:
        name = os.path.basename(spec.argv[0])
        marks[f"{name}0"] = time.perf_counter()
        try:
            return tool(spec, control, sink)
        finally:
            marks[f"{name}1"] = time.perf_counter()

    direct.run_process = run_process  # type: ignore[assignment]
    run = jobs.Jobs.run

    def jobs_run(self: jobs.Jobs, *args: Any, **kwargs: Any) -> Any:
        marks["run0"] = time.perf_counter()
        try:
            return run(self, *args, **kwargs)
        finally:
            marks["run1"] = time.perf_counter()

    jobs.Jobs.run = jobs_run  # type: ignore[method-assign]


def measure(
    engine: Engine, work: str, program: str, reps: int, marks: dict[str, float], salt: int
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for i in range(-1, reps):  # -1: the import set's first cell (go's plan)
        marks.clear()
        cpu = time.process_time()
        marks["t0"] = time.perf_counter()
        outcome = engine.run_cell(program.format(i=salt + i), parse([]), Quiet(), RunOptions(work))
        marks["t1"] = time.perf_counter()
        cpu = time.process_time() - cpu
        assert outcome.ok and outcome.built_by == "direct", (outcome.status, outcome.fallback)
        if i < 0:
            continue
        for name, (start, end) in SPANS.items():
            out[name].append(marks[end] - marks[start])
        out["total"].append(marks["t1"] - marks["t0"])
        out["the engine's own CPU time (this process)"].append(cpu)
    return out


def table(title: str, spans: dict[str, list[float]], fmt: Callable[[float], str]) -> list[str]:
    lines = [f"| {title} | median | min |", "|---|---|---|"]
    for name, values in spans.items():
        lines.append(f"| {name} | {fmt(statistics.median(values))} | {fmt(min(values))} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    os.environ["GORUN_CACHE"] = tempfile.mkdtemp(prefix="gorun-bench-spans-")
    marks: dict[str, float] = {}
    instrument(marks)
    engine = Engine()
    work = tempfile.mkdtemp(prefix="gorun-bench-cwd-")
    lines = [f"load average {os.getloadavg()[0]:.1f} at the start, {args.reps} edits each", ""]
    try:
        for n, (name, program) in enumerate((("hello", HELLO_PROGRAM), ("net/http", WEB_PROGRAM))):
            spans = measure(engine, work, program, args.reps, marks, SALT + 100000 * n)
            lines += [*table(f"edited {name} program (ms)", spans, lambda s: f"{s * 1000:.2f}"), ""]
    finally:
        engine.close()
    lines.append(f"load average {os.getloadavg()[0]:.1f} at the end")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
