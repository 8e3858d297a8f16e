"""Where an unchanged cell's re-run spends CPU: each process and each kernel thread.

    python benchmarks/rerun_cpu.py [--reps 300] [--tree DIR] [--out FILE]

On a machine of two cores, a re-run is as much a matter of CPU as of waiting: the
client, the kernel's threads, the supervisor and the Go program all want a core
within a few milliseconds. This runs the unchanged hello cell `--reps` times in a
gorun kernel (this tree's, or --tree's), then a python3 kernel's `print` as many
times, and reads from /proc what each used per cell: the kernel's threads (the
main thread is the one whose id is the process's; Python 3.11 names no others),
the spawner and the standby supervisor (children of the kernel), the programs
(the standby's reaped children) and this process, the client (jupyter_client).
Clock ticks are 10 ms: over 300 cells a figure is good to about 0.03 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from rerun import HELLO, PythonKernel
from run import Kernel
from tables import report

TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid: int, tid: int | None = None) -> tuple[int, int]:
    """(own, reaped children's) CPU ticks of a process, or of one of its threads."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    text = Path(path).read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def children(pid: int) -> list[int]:
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    return found


def client() -> float:
    t = os.times()
    return t.user + t.system


def measure(kernel: Kernel, code: str, reps: int, gorun: bool) -> list[tuple[str, float]]:
    """(what, ms of CPU per cell) for reps runs of code."""
    pid = kernel.km.provisioner.process.pid
    for _ in range(10):
        kernel.run(code)  # built, the spawner and its standby up
    threads = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    helpers = {}
    if gorun:
        for spawner in children(pid):  # (the warm-up is off: GORUN_WARM=0)
            helpers["spawner"] = spawner
            for standby in children(spawner):
                helpers["standby supervisor"] = standby
    before = {t: cpu(pid, t) for t in threads}
    helpers_before = {name: cpu(p) for name, p in helpers.items()}
    client_before = client()
    for _ in range(reps):
        kernel.run(code)
    per = 1000 / reps
    total = 0.0
    thread_rows = []
    for n, t in enumerate(threads):
        used = (cpu(pid, t)[0] - before[t][0]) / TICK * per
        total += used
        if used > 0:
            name = "main thread" if t == pid else f"thread {n}"
            thread_rows.append((f"kernel: {name}", used))
    rows = [("kernel process, all threads", total), *thread_rows]
    for name, p in helpers.items():
        own, reaped = cpu(p)
        rows.append((name, (own - helpers_before[name][0]) / TICK * per))
        if name == "standby supervisor":
            rows.append(("the Go programs (standby's reaped children)",
                         (reaped - helpers_before[name][1]) / TICK * per))  # fmt: skip
    rows.append(("the client (jupyter_client, this process)", (client() - client_before) * per))
    return rows


def everything(rows: list[tuple[str, float]]) -> float:
    """The kernel process's CPU and every other process's (not its threads again)."""
    return sum(ms for what, ms in rows if not what.startswith("kernel: "))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--tree", help="the checkout whose kernel runs (default: this one)")
    parser.add_argument("--out")
    args = parser.parse_args()
    tree = args.tree or str(Path(__file__).resolve().parent.parent)
    cwd = tempfile.mkdtemp(prefix="gorun-rerun-cpu-")
    env = {**os.environ, "PYTHONPATH": tree, "GORUN_WARM": "0"}
    started = time.strftime("%H:%M UTC", time.gmtime())
    gorun = Kernel(cwd, env)
    go_rows = measure(gorun, HELLO, args.reps, gorun=True)
    gorun.close()
    python = PythonKernel(cwd)
    py_rows = measure(python, "print('hello, again')", args.reps, gorun=False)
    python.close()
    load = os.getloadavg()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}; "
        f"Python {platform.python_version()}; {args.reps} cells each, {started}; load "
        f"average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.",
        "",
        "| unchanged hello re-run (gorun) | CPU ms per cell |",
        "| --- | --- |",
        *(f"| {what} | {ms:.2f} |" for what, ms in go_rows),
        f"| **all of it** | **{everything(go_rows):.2f}** |",
        "",
        "| python3 kernel's `print` | CPU ms per cell |",
        "| --- | --- |",
        *(f"| {what} | {ms:.2f} |" for what, ms in py_rows),
        f"| **all of it** | **{everything(py_rows):.2f}** |",
    ]
    report(lines, args.out)


if __name__ == "__main__":
    main()
