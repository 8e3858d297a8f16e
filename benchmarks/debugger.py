"""The debugger's costs (issue 24), through jupyter_client and a real Delve.

    python benchmarks/debugger.py --reps 5 [--dlv PATH] [--out FILE]

Interleaved, one repetition of each in turn, each with an edited cell (a new
number in it, so every run builds):
- a kernel with the debugger on (initialize + attach, no breakpoint);
- a kernel with it off;
- plain `go run` of the same program;
then, on the debugging kernel: the time from execute_request to the `stopped`
event at a breakpoint in a hello-sized cell (edited too), and the memory (RSS)
of the kernel and everything below it (dlv, the program) while stopped.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client import KernelManager
from tables import report

from gorun_kernel.debug import delve

SNIPPET = 'import "fmt"\n\nn := %d\nfmt.Println("hello", n)\n'


class Client:
    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self.km = KernelManager(kernel_name="gorun")
        self.km.start_kernel(env=env, cwd=cwd)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=300)
        self.seq = 0
        self.shares: list[dict[str, Any]] = []  # each run's reply metadata (gorun_timing)

    def debug(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        self.seq += 1
        content = {"type": "request", "seq": self.seq, "command": command}
        msg = self.kc.session.msg("debug_request", {**content, "arguments": arguments or {}})
        self.kc.control_channel.send(msg)
        while True:
            reply = self.kc.control_channel.get_msg(timeout=600)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                assert reply["content"]["success"], reply["content"]
                return reply["content"].get("body", {})

    def run(self, code: str, until_event: str | None = None) -> float:
        """Seconds from execute_request to idle (or to the debug event until_event)."""
        started = time.perf_counter()
        msg_id = self.kc.execute(code, allow_stdin=False)
        while True:
            msg = self.kc.get_iopub_msg(timeout=600)
            kind, content = msg["header"]["msg_type"], msg["content"]
            if until_event and kind == "debug_event" and content["event"] == until_event:
                return time.perf_counter() - started
            if (
                kind == "status"
                and content["execution_state"] == "idle"
                and msg["parent_header"].get("msg_id") == msg_id
            ):
                took = time.perf_counter() - started
                self.shares.append(self.timing(msg_id))
                return took

    def timing(self, msg_id: str) -> dict[str, Any]:
        """The reply's gorun_timing: the kernel's own build and run seconds."""
        while True:
            reply = self.kc.get_shell_msg(timeout=600)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["metadata"].get("gorun_timing") or {}

    def settle(self, msg_id_prefix: str = "") -> None:
        """Drain the shell replies."""
        while True:
            try:
                self.kc.get_shell_msg(timeout=0.2)
            except Exception:
                return

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def tree(pid: int) -> list[int]:
    out, todo = [pid], [pid]
    while todo:
        p = todo.pop()
        for task in os.listdir(f"/proc/{p}/task"):
            kids = Path(f"/proc/{p}/task/{task}/children").read_text().split()
            out += map(int, kids)
            todo += map(int, kids)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--dlv", default=os.environ.get("GORUN_DLV") or shutil.which("dlv") or "")
    ap.add_argument("--out")
    ap.add_argument("--before", help="also a debugging kernel of this tree (a worktree)")
    args = ap.parse_args()
    if not args.dlv:
        sys.exit("give --dlv (a dlv v1.27.x) or put dlv on PATH")
    work = tempfile.mkdtemp(prefix="gorun-bench-debug-")
    # A cache of the benchmark's own, and numbers no earlier run has built.
    cache = tempfile.mkdtemp(prefix="gorun-bench-debug-cache-")
    env = {**os.environ, "GORUN_DLV": args.dlv, "GORUN_CACHE": cache}
    on, off = Client(env, work), Client(env, work)
    kernels = [("on", on), ("off", off)]
    if args.before:  # its own cache: the same edits are built again, not found
        before_cache = tempfile.mkdtemp(prefix="gorun-bench-debug-before-")
        before_env = {**env, "PYTHONPATH": args.before, "GORUN_CACHE": before_cache}
        kernels.append(("on (before)", Client(before_env, work)))
    for name, client in kernels:
        if name != "off":
            client.debug("initialize", {"adapterID": "go", "supportsVariableType": True})
            client.debug("attach")
    n = int(time.time()) % 100000 * 1000
    for _, client in kernels:  # the import set's first build (go's plan), not measured
        n += 1
        client.run(SNIPPET % n)
    gomod = Path(work, "plain")
    gomod.mkdir()
    (gomod / "go.mod").write_text("module plain\n\ngo 1.21\n")
    times: dict[str, list[float]] = {name: [] for name, _ in kernels}
    times.update({"go run": [], "to stopped": []})
    # The kernel's own split of each on/off run (its reply's gorun_timing): the build,
    # the run (under dlv when on: dlv's start, the DAP handshake, the program, the end).
    split: dict[str, list[float]] = {f"{k} {p}": [] for k, _ in kernels for p in ("build", "run")}
    memory: list[tuple[int, int]] = []
    for _ in range(args.reps):
        n += 1
        for name, client in kernels:  # the same edit for each (their caches are their own)
            times[name].append(client.run(SNIPPET % n))
            for part in ("build", "run"):
                split[f"{name} {part}"].append(client.shares[-1].get(part) or 0.0)
        n += 1
        (gomod / "main.go").write_text(
            f'package main\n\nimport "fmt"\n\nfunc main() {{ fmt.Println("hello", {n}) }}\n'
        )
        started = time.perf_counter()
        subprocess.run(["go", "run", "."], cwd=gomod, check=True, capture_output=True)
        times["go run"].append(time.perf_counter() - started)
        # A breakpoint at `fmt.Println` (line 4) of an edited hello cell.
        n += 1
        code = SNIPPET % n
        path = on.debug("dumpCell", {"code": code})["sourcePath"]
        on.debug("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": 4}]})
        times["to stopped"].append(on.run(code, until_event="stopped"))
        pids = tree(on.km.provisioner.process.pid)
        memory.append((rss_kib(pids[0]), sum(rss_kib(p) for p in pids)))
        on.debug("continue", {"threadId": 1})
        on.run("")  # the stopped cell ends; an empty cell after it marks the queue's end
        on.debug("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
        for _, client in kernels:
            client.settle()
    for _, client in kernels:
        client.close()
    lines = [
        f"# Debugger figures ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end; "
        f"Delve {delve.VERSION}; {args.reps} repetitions, interleaved; medians (min-max).",
        "",
        "| what | seconds |",
        "|---|---|",
    ]
    for name, values in times.items():
        lines.append(
            f"| {name} | {statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f}) |"
        )
    lines += ["", "| the kernel's split (its reply's timing) | seconds |", "|---|---|"]
    for name, values in split.items():
        lines.append(
            f"| {name} | {statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f}) |"
        )
    ratio = statistics.median(times["on"]) / statistics.median(times["off"])
    lines += ["", f"Debugger on / off, an edited cell with no breakpoint hit: {ratio:.2f}x."]
    if args.before:
        was = statistics.median(times["on (before)"]) / statistics.median(times["off"])
        lines.append(f"The tree given as --before ({args.before}), on / off: {was:.2f}x.")
    lines.append("")
    kernel = statistics.median(m[0] for m in memory) / 1024
    total = statistics.median(m[1] for m in memory) / 1024
    lines.append(
        f"Memory while stopped: the kernel {kernel:.0f} MiB; the kernel, dlv and the program "
        f"together {total:.0f} MiB (RSS, medians)."
    )
    report(lines, args.out)


if __name__ == "__main__":
    main()
