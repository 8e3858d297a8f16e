"""Kernel start to ready: the Go (gorun) kernel next to a python3 ipykernel kernel.

    python benchmarks/kernel_start.py --reps 15

Each repetition starts one kernel of each kind in turn (the order alternating),
through jupyter_client as a front-end does, and times start_kernel to the
kernel_info reply (wait_for_ready): what a user waits for before the first
cell can run. Both kernels are the ones installed in this environment, so they
load the same ipykernel; the difference is what gorun_kernel adds at start.

wait_for_ready ends with jupyter_client draining IOPub until it has been quiet
for 0.2 s, the same for both kernels; a second row times the kernel's own part,
from start_kernel to the reply to one kernel_info sent at once (its own starts,
interleaved too), and the kernel process's CPU time at that reply.
Prints Markdown table rows: medians (min-max) and the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_start(
    name: str,
    cwd: str,
    until: Callable[[BlockingKernelClient], None],
    env: dict[str, str] | None = None,
    specs: KernelSpecManager | None = None,
) -> tuple[float, float]:
    """Seconds from start_kernel to until(client)'s return, and the kernel process's CPU
    seconds then (less at the mercy of a busy machine); the kernel is shut down after.
    env: the kernel's (default: ours); specs: where its kernelspec is (default: installed)."""
    where = tempfile.mkdtemp(prefix="kernel-start-")
    found = {} if specs is None else {"kernel_spec_manager": specs}
    km = KernelManager(kernel_name=name, transport="ipc", ip=os.path.join(where, "k"), **found)
    start = time.perf_counter()
    km.start_kernel(cwd=cwd, env=dict(os.environ) if env is None else env)
    kc = km.client()
    kc.start_channels()
    try:
        until(kc)
        wall = time.perf_counter() - start
        return wall, cpu_seconds(km.provisioner.process.pid)  # type: ignore[union-attr]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def ready(kc: BlockingKernelClient) -> None:
    """What a front-end waits for: wait_for_ready (a kernel_info reply, then IOPub quiet)."""
    kc.wait_for_ready(timeout=120)


def first_reply(kc: BlockingKernelClient) -> None:
    """The reply to a kernel_info sent as the channels start (zmq holds it until the
    kernel listens): the kernel's own part of its start."""
    msg_id = kc.kernel_info()
    while kc.get_shell_msg(timeout=120)["parent_header"].get("msg_id") != msg_id:
        pass


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
    replies: dict[str, list[float]] = {"gorun": [], "python3": []}
    reply_cpu: dict[str, list[float]] = {"gorun": [], "python3": []}
    timed_start("gorun", work, ready)  # once, unmeasured: the OS's file cache, as on a used machine
    timed_start("python3", work, ready)
    for i in range(args.reps):
        order = ["gorun", "python3"] if i % 2 == 0 else ["python3", "gorun"]
        for name in order:
            wall, used = timed_start(name, work, ready)
            times[name].append(wall)
            cpu[name].append(used)
        for name in order:
            wall, used = timed_start(name, work, first_reply)
            replies[name].append(wall)
            reply_cpu[name].append(used)

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
    print(
        f"| kernel start to its first kernel_info reply | {fmt(replies['gorun'])} | "
        f"{fmt(replies['python3'])} | {ratio(replies)} |"
    )
    print(
        f"| the kernel process's CPU time at that reply | {fmt(reply_cpu['gorun'])} | "
        f"{fmt(reply_cpu['python3'])} | {ratio(reply_cpu)} |"
    )


if __name__ == "__main__":
    main()
