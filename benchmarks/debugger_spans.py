"""Where a debugged cell's time goes, in this process (no kernel, no messages).

    python benchmarks/debugger_spans.py --dlv PATH [--reps 7]

The engine and the debug session (gorun_kernel/debug/adapter.py) of the tree
on PYTHONPATH, with the debugger on and no breakpoint: each repetition builds
and runs an edited hello cell, once with the debugger off and once on, and
records when, after the run began, each step was done: the build (the fast
path's compile + link), Delve's connection, each DAP request's answer (for
`launch`, Delve has started the program and loaded its debug information),
the program's exit, the run's end (dlv gone), the session's clean-up. The
session's hooks are the DAP client's (DapClient.__init__ and call), which
every tree of the debugger has, so a tree before a change can be measured
the same way (PYTHONPATH=that tree). Prints one Markdown table of medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict
from typing import Any

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.cmdline import parse
from gorun_kernel.debug import adapter, dap
from gorun_kernel.engine import Engine
from gorun_kernel.events import BaseSink
from gorun_kernel.outcome import RunOptions

SNIPPET = 'import "fmt"\n\nn := %d\nfmt.Println("hello", n)\n'


class Quiet(BaseSink):
    def stdout(self, text: str) -> None:
        pass

    def stderr(self, text: str) -> None:
        pass


class Spans:
    """Seconds since the run began at which each step was done (the first time)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.marks: dict[str, float] = {}

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.perf_counter() - self.started)


SPANS = Spans()


def hook() -> None:
    init, call = dap.DapClient.__init__, dap.DapClient.call

    def traced_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        SPANS.mark("Delve connected")

    def traced_call(self: Any, command: str, *args: Any, **kwargs: Any) -> Any:
        reply = call(self, command, *args, **kwargs)
        SPANS.mark(f"{command} answered")
        return reply

    dap.DapClient.__init__ = traced_init  # type: ignore[method-assign]
    dap.DapClient.call = traced_call  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--dlv", required=True)
    args = ap.parse_args()
    global SPANS
    os.environ["GORUN_CACHE"] = tempfile.mkdtemp(prefix="gorun-bench-spans-")
    os.environ["GORUN_DLV"] = args.dlv
    hook()
    tc = find_toolchain()
    engine = Engine(tc)
    debugger = adapter.Debugger(lambda event: None, lambda: tc, {})
    for seq, command in enumerate(("initialize", "attach")):
        debugger.handle({"seq": seq, "type": "request", "command": command, "arguments": {}})
    work = tempfile.mkdtemp(prefix="gorun-bench-spans-cwd-")
    found: dict[str, list[float]] = defaultdict(list)
    n = int(time.time()) % 100000 * 1000
    for rep in range(args.reps + 1):  # the first: the import set's plan, not counted
        for on in (False, True):
            n += 1
            SPANS = Spans()
            words = debugger.begin_run(SNIPPET % n) if on else []
            outcome = engine.run_cell(SNIPPET % n, parse(words), Quiet(), RunOptions(work))
            SPANS.mark("run ended")
            if on:
                debugger.end_run()
                SPANS.mark("session cleaned up")
            assert outcome.ok, outcome.status
            if rep:
                key = "on" if on else "off"
                found[f"{key}: built"].append(outcome.build_seconds or 0.0)
                for name, at in SPANS.marks.items():
                    found[f"{key}: {name}"].append(at)
    engine.close()
    print(f"load {os.getloadavg()[0]:.1f}; {args.reps} repetitions; seconds since the run began")
    print("\n| step done | median |\n|---|---|")
    for name, values in sorted(found.items(), key=lambda kv: (kv[0][:3], statistics.median(kv[1]))):
        print(f"| {name} | {statistics.median(values):.3f} |")


if __name__ == "__main__":
    main()
