"""Benchmarks of help while typing: completion latency and memory, through a real kernel.

    python benchmarks/run.py --only help [--out benchmarks/HELP_RESULTS.md]

A new kernel, a cell of 100 declarations (and a type with a method), then the
completion requests a user makes, each timed from complete_request to its
complete_reply; then the resident memory of the kernel and its typeinfo helper.
The full run (`run.py` without --only) has the same rows.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.help import typeinfo

Row = tuple[str, str, str, str]

# A method of a library value, a session function, a session type's fields and
# methods, a package's members, a local.
COMPLETIONS = [
    "var b strings.Builder\nb.Wr",
    "n := f1",
    "p := P{}\np.",
    "fmt.Pri",
    "total := 0\nfor i := range 3 {\n\ttotal += i\n}\nto",
]
DECLS = "".join(f"func f{i}(x int) int {{ return x + {i} }}\n" for i in range(100))


def complete(kc: Any, code: str) -> tuple[float, dict[str, Any]]:
    """Seconds from complete_request to its reply, and the reply's content."""
    start = time.perf_counter()
    msg_id = kc.complete(code, len(code))
    while True:
        msg = kc.get_shell_msg(timeout=300)
        if msg["parent_header"].get("msg_id") == msg_id:
            return time.perf_counter() - start, msg["content"]


def memory_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS")) / 1024


def helper_pids(kernel_pid: int) -> list[int]:
    """The typeinfo helper the kernel started (its child named typeinfo)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if "(typeinfo)" in stat and int(stat.rsplit(")", 1)[1].split()[1]) == kernel_pid:
            found.append(int(entry))
    return found


def completion_rows(kc: Any, kernel_pid: int, reps: int = 50, salt: int = 0) -> list[Row]:
    """In a session with 100 declarations: the first completion (the helper starts),
    then p50/p95 of `reps`, and memory after them."""
    first, reply = complete(kc, COMPLETIONS[0])
    typed = "_jupyter_types_experimental" in reply["metadata"]
    times = []
    for i in range(reps):
        t, reply = complete(kc, f"// {salt + i}\n" + COMPLETIONS[i % len(COMPLETIONS)])
        assert "_jupyter_types_experimental" in reply["metadata"], reply
        times.append(t)
    q = statistics.quantiles(times, n=20)
    (helper,) = helper_pids(kernel_pid)
    k_mb, h_mb = memory_mb(kernel_pid), memory_mb(helper)
    return [
        ("first completion after kernel start (helper starts, go list)",
         f"{first * 1000:.0f} ms", "-", "typed" if typed else "fell back (time box)"),
        (f"completion in the 100-declaration session, p50 / p95 of {reps}",
         f"{statistics.median(times) * 1000:.1f} / {q[18] * 1000:.1f} ms", "-",
         "target <= 50 / <= 150 ms"),
        ("kernel + typeinfo helper memory (RSS) after them",
         f"{k_mb + h_mb:.0f} MB ({k_mb:.0f} + {h_mb:.0f})", "-", "target < 250 MB"),
    ]  # fmt: skip


def build_row() -> Row:
    """Building the helper from its source, as on a machine that never had it
    (go's build cache as it is: the standard library is usually compiled)."""
    tc = find_toolchain()
    old = os.environ.get("GORUN_CACHE")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GORUN_CACHE"] = cache
        try:
            start = time.perf_counter()
            typeinfo.helper_binary(tc)
            seconds = time.perf_counter() - start
        finally:
            if old is None:
                os.environ.pop("GORUN_CACHE")
            else:
                os.environ["GORUN_CACHE"] = old
    return ("building the typeinfo helper once (new machine or toolchain)",
            f"{seconds:.1f} s", "-", "then cached")  # fmt: skip


def main(kernel_class: Any, out: str | None) -> None:
    """--only help: a new kernel with 100 declarations, the completion rows, the build."""
    tc = find_toolchain()
    typeinfo.helper_binary(tc)  # built once per machine: measured on its own
    work = tempfile.mkdtemp(prefix="gorun-bench-cwd-")
    kernel = kernel_class(work)
    try:
        kernel.run(DECLS + "type P struct{ X, Y int }\nfunc (p *P) Move(dx int) { p.X += dx }")
        rows = [*completion_rows(kernel.kc, kernel.km.provisioner.process.pid), build_row()]
    finally:
        kernel.close()
        shutil.rmtree(work, ignore_errors=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    table = "\n".join([
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()} (load average {load}); {tc.version}; Python "
        f"{platform.python_version()}; 50 completion requests after the first.",
        "",
        "| benchmark | gorun kernel | plain `go run` | kernel / go run |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ])  # fmt: skip
    print(table)
    if out:
        Path(out).write_text(table + "\n")
