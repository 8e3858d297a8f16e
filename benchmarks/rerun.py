"""An unchanged cell's re-run, execute_request to idle, through jupyter_client (issue 23 item 1).

    python benchmarks/rerun.py --reps 31 [--previous DIR] [--before DIR] [--out FILE]

Interleaved in one run, one repetition of each in turn: this tree's Go kernel,
the previous release's (--previous: a checkout of it, e.g. `git worktree add
--detach /tmp/prev 1eef003`, run with that tree on PYTHONPATH), plain `go run`
of the same program, and a python3 kernel's `print` (the round trip's floor);
--before: one more gorun kernel, from another checkout (a change's parent: a
change measured against what it changes, in the same run).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import GoRun, Kernel
from tables import report

from gorun_kernel.build.toolchain import find_toolchain

HELLO = 'import "fmt"\n\nfmt.Println("hello, again")'
PROGRAM = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello, again") }\n'


class PythonKernel(Kernel):
    def __init__(self, cwd: str) -> None:
        from jupyter_client import KernelManager

        self.started = time.perf_counter()
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=cwd, env=dict(os.environ))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)


def fmt(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"{statistics.median(ms):.1f} ms ({ms[0]:.1f}-{ms[-1]:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=31)
    parser.add_argument("--previous", help="a checkout of the previous release")
    parser.add_argument("--before", help="another checkout, e.g. the parent of a change")
    parser.add_argument("--out")
    args = parser.parse_args()
    cwd = tempfile.mkdtemp(prefix="gorun-rerun-")
    here = str(Path(__file__).resolve().parent.parent)
    kernels: dict[str, Kernel] = {
        "gorun kernel (this tree)": Kernel(cwd, {**os.environ, "PYTHONPATH": here}),
    }
    if args.previous:
        env = {**os.environ, "PYTHONPATH": args.previous}
        kernels["gorun kernel (previous release)"] = Kernel(cwd, env)
    if args.before:
        env = {**os.environ, "PYTHONPATH": args.before}
        kernels[f"gorun kernel (before: {revision(args.before)})"] = Kernel(cwd, env)
    kernels["python3 kernel: print('hello, again')"] = PythonKernel(cwd)
    code = {name: HELLO for name in kernels}
    code["python3 kernel: print('hello, again')"] = "print('hello, again')"
    for name, k in kernels.items():
        k.run(code[name])  # built (or not) once: every later run is a re-run
    gorun = GoRun()
    times: dict[str, list[float]] = {name: [] for name in kernels}
    times["plain `go run` (the same program)"] = []
    for _ in range(args.reps):
        for name, k in kernels.items():
            times[name].append(k.run(code[name]))
        times["plain `go run` (the same program)"].append(gorun.run(PROGRAM))
    for k in kernels.values():
        k.close()
    gorun.close()
    load = os.getloadavg()
    tc = find_toolchain()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}; "
        f"{tc.version}; Python {platform.python_version()}; {args.reps} repetitions, "
        f"interleaved, median (min-max); load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (other engineers' jobs).",
        "",
        "| unchanged hello cell re-run, execute_request to idle | time |",
        "| --- | --- |",
        *(f"| {name} | {fmt(t)} |" for name, t in times.items()),
    ]
    report(lines, args.out)
    print(f"(this tree at {revision(here)})")


def revision(tree: str) -> str:
    """The checkout's commit, short."""
    return subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip


if __name__ == "__main__":
    main()
