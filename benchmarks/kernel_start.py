"""Kernel start to ready: the Go (gorun) kernel next to a python3 ipykernel kernel.

    python benchmarks/kernel_start.py --reps 15

Each repetition starts one kernel of each kind in turn (the order alternating),
through jupyter_client as a front-end does, and times start_kernel to the
kernel_info reply (wait_for_ready): what a user waits for before the first
cell can run. Both kernels are the ones installed in this environment, so they
load the same ipykernel; the difference is what gorun_kernel adds at start.
Prints a Markdown table row: medians (min-max) and the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import KernelManager


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_to_ready(name: str, cwd: str) -> tuple[float, float]:
    """Seconds from start_kernel to the kernel_info reply, and the kernel process's CPU
    seconds by then (less at the mercy of a busy machine); the kernel is shut down after."""
    where = tempfile.mkdtemp(prefix="kernel-start-")
    km = KernelManager(kernel_name=name, transport="ipc", ip=os.path.join(where, "k"))
    start = time.perf_counter()
    km.start_kernel(cwd=cwd, env=dict(os.environ))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        wall = time.perf_counter() - start
        return wall, cpu_seconds(km.provisioner.process.pid)  # type: ignore[union-attr]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def fmt(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):.0f} ms ({min(ms):.0f}-{max(ms):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="kernel-start-cwd-")
    times: dict[str, list[float]] = {"gorun": [], "python3": []}
    cpu: dict[str, list[float]] = {"gorun": [], "python3": []}
    start_to_ready("gorun", work)  # once, unmeasured: the OS's file cache, as on a used machine
    start_to_ready("python3", work)
    for i in range(args.reps):
        order = ["gorun", "python3"] if i % 2 == 0 else ["python3", "gorun"]
        for name in order:
            wall, used = start_to_ready(name, work)
            times[name].append(wall)
            cpu[name].append(used)

    def ratio(of: dict[str, list[float]]) -> str:
        return f"{statistics.median(of['gorun']) / statistics.median(of['python3']):.2f}x"

    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python "
        f"{sys.version.split()[0]}; {args.reps} repetitions, interleaved; load average at "
        f"the end {os.getloadavg()[0]:.1f}.\n"
    )
    print("| benchmark | gorun kernel | python3 kernel | gorun / python3 |")
    print("| --- | --- | --- | --- |")
    print(
        f"| kernel start to ready (kernel_info reply) | {fmt(times['gorun'])} | "
        f"{fmt(times['python3'])} | {ratio(times)} |"
    )
    print(
        f"| the kernel process's CPU time by then | {fmt(cpu['gorun'])} | "
        f"{fmt(cpu['python3'])} | {ratio(cpu)} |"
    )


if __name__ == "__main__":
    main()
