"""Benchmarks: the gorun kernel next to plain `go run`, measured in the same run.

    python benchmarks/run.py [--reps N] [--out benchmarks/RESULTS.md] [--only tests|fresh|help]

Every kernel figure is a real kernel process driven through jupyter_client:
the time from sending execute_request to the kernel's status going idle. Every
`go run` figure is the same program, built and run by `go run` in a module of
its own, as a subprocess. Each is repeated; the table shows the median and the
spread (min-max), and the ratio kernel / go run.
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import helpbench  # this directory's (python benchmarks/run.py puts it on sys.path)
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from stdin_bench import StdinBench, magic_runner

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.compose.emit import emit
from gorun_kernel.compose.parse import parse_cell
from gorun_kernel.compose.session import Session
from gorun_kernel.compose.stdlib import StdIndex
from gorun_kernel.help import typeinfo

HELLO_SNIPPET = 'fmt.Println("hello {i}")'
HELLO_PROGRAM = 'package main\n\nimport "fmt"\n\nfunc main() {{ fmt.Println("hello {i}") }}\n'
WEB_PROGRAM = """package main

import (
	"encoding/json"
	"fmt"
	"net/http"
)

func main() {{
	b, _ := json.Marshal(map[string]any{{"status": http.StatusText(200), "n": {i}}})
	fmt.Println(string(b))
}}
"""
FLOOD = """package main

import (
	"os"
	"strings"
)

func main() {
	line := strings.Repeat("x", 1023) + "\\n"
	for i := 0; i < 100*1024; i++ {
		os.Stdout.WriteString(line)
	}
}
"""


TEST_CELL = """%%gotest
func TestSalt(t *testing.T) {{
	if strings.Repeat("a", 2) != "aa" {{
		t.Fatal({i})
	}}
}}

func TestTwo(t *testing.T) {{ t.Run("sub", func(t *testing.T) {{}}) }}

func TestThree(t *testing.T) {{}}
"""


def test_file(cell: str) -> str:
    """The test cell as a _test.go file for plain `go test`."""
    body = cell.split("\n", 1)[1]
    return f'package main\n\nimport (\n\t"strings"\n\t"testing"\n)\n\n{body}'


class Kernel:
    def __init__(
        self,
        cwd: str,
        env: dict[str, str] | None = None,
        kernel_name: str = "gorun",
        specs: KernelSpecManager | None = None,
    ) -> None:
        """A kernel (gorun's, or kernel_name's, looked up in specs) started in cwd."""
        self.started = time.perf_counter()
        found = {} if specs is None else {"kernel_spec_manager": specs}
        self.km = KernelManager(kernel_name=kernel_name, **found)
        self.km.start_kernel(cwd=cwd, env=env if env is not None else dict(os.environ))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def run(self, code: str) -> float:
        """Seconds from execute_request to idle; fails loudly if the cell failed."""
        start = time.perf_counter()
        msg_id = self.kc.execute(code)
        while True:
            msg = self.kc.get_iopub_msg(timeout=300)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "error":
                raise RuntimeError(f"cell failed: {msg['content']['evalue']}")
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                elapsed = time.perf_counter() - start
                break
        while True:  # the reply, so the next request starts clean
            try:
                self.kc.get_shell_msg(timeout=0.01)
            except queue.Empty:
                break
        return elapsed

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.km.provisioner.process.pid}/status").read_text()
        kb = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM"))
        return kb / 1024

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)


class GoRun:
    """`go run .` in a module of its own."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gorun-bench-"))
        tc = find_toolchain()
        (self.dir / "go.mod").write_text(f"module bench\n\ngo {tc.go_line()}\n")
        self.go = tc.go

    def run(
        self,
        program: str,
        sink: int | None = subprocess.DEVNULL,
        vet: bool = False,
        env: dict[str, str] | None = None,
    ) -> float:
        """`go run .` (vet: `go vet . && go run .`, one after the other)."""
        (self.dir / "main.go").write_text(program)
        (self.dir / "main_test.go").unlink(missing_ok=True)
        start = time.perf_counter()
        if vet:
            subprocess.run([self.go, "vet", "."], cwd=self.dir, check=True)
        subprocess.run([self.go, "run", "."], cwd=self.dir, stdout=sink, check=True, env=env)
        return time.perf_counter() - start

    def test(self, tests: str) -> float:
        """`go test -count=1 .` (no cached result) of a package main and its tests."""
        (self.dir / "main.go").write_text("package main\n\nfunc main() {}\n")
        (self.dir / "main_test.go").write_text(tests)
        start = time.perf_counter()
        subprocess.run([self.go, "test", "-count=1", "."], cwd=self.dir, stdout=subprocess.DEVNULL,
                       check=True)  # fmt: skip
        return time.perf_counter() - start

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# Every "edited" source carries a number unique to this run, so that neither go's
# build cache nor ours can have seen it in an earlier run of the benchmarks.
SALT = int(time.time() * 1000) % 10**9 * 1000


def paired(
    reps: int, kernel: Callable[[int], float], plain: Callable[[int], float]
) -> tuple[list[float], list[float]]:
    """Both sides, one repetition each in turn, so that the machine's drift (other
    load, CPU frequency) falls on both alike. One warm-up each first: caches (go's
    and ours) as a user's second cell would find them."""
    kernel(SALT - 1)
    plain(SALT - 1)
    k, p = [], []
    for i in range(reps):
        k.append(kernel(SALT + i))
        p.append(plain(SALT + i))
    return k, p


def fmt_ms(values: list[float]) -> str:
    med, lo, hi = (x * 1000 for x in (statistics.median(values), min(values), max(values)))
    digits = 2 if med < 10 else 0
    return f"{med:.{digits}f} ms ({lo:.{digits}f}-{hi:.{digits}f})"


def ratio(a: list[float], b: list[float]) -> str:
    return f"{statistics.median(a) / statistics.median(b):.2f}x"


def compose_ms(decls: int, reps: int) -> list[float]:
    """Plan and compose one snippet in a session of `decls` declarations (no go command)."""
    tc = find_toolchain()
    std = StdIndex.for_goroot(tc.goroot, tc.version)
    session = Session()
    for i in range(decls):
        code = f'func f{i}(x int) int {{ return x + {i} + len(strings.Repeat("a", x)) }}'
        session.commit(session.plan(parse_cell(code), code, 1, f"[{i}]", std))
    times = []
    for i in range(reps):
        code = f"fmt.Println(f{i % decls}({i}))"
        start = time.perf_counter()
        plan = session.plan(parse_cell(code), code, 1, "[x]", std)
        emit(plan, std, show=False)
        times.append(time.perf_counter() - start)
    return times


def test_and_vet_rows(kernel: Kernel, gorun: GoRun, reps: int, row: Callable[..., None]) -> None:
    """Test cells next to plain `go test`; --vet next to `go vet && go run`."""
    row("edited test cell (%%gotest, 3 tests and a subtest; plain: go test -count=1)",
        *paired(reps, lambda i: kernel.run(TEST_CELL.format(i=i)),
                lambda i: gorun.test(test_file(TEST_CELL.format(i=i)))))  # fmt: skip
    row("unchanged test cell re-run (plain: go test -count=1)",
        *paired(reps, lambda i: kernel.run(TEST_CELL.format(i=SALT)),
                lambda i: gorun.test(test_file(TEST_CELL.format(i=SALT)))))  # fmt: skip
    cost = vet_cost(kernel, gorun, reps)
    row("edited cell with --vet (vet alongside the build; plain: go vet && go run)",
        cost["kernel --vet"], cost["go vet && go run"])  # fmt: skip
    return cost


def vet_cost(kernel: Kernel, gorun: GoRun, reps: int) -> dict[str, list[float]]:
    """A hello-world cell four ways, in turn: what --vet costs in the kernel (vet
    alongside the build) and what go vet costs on the command line (before go run)."""
    ways: dict[str, Callable[[int], float]] = {
        "kernel": lambda i: kernel.run(HELLO_SNIPPET.format(i=i)),
        "kernel --vet": lambda i: kernel.run("%%gorun --vet\n" + HELLO_SNIPPET.format(i=i)),
        "go run": lambda i: gorun.run(HELLO_PROGRAM.format(i=i)),
        "go vet && go run": lambda i: gorun.run(HELLO_PROGRAM.format(i=i), vet=True),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for i in range(-1, reps):  # -1: a warm-up round
        for j, (name, way) in enumerate(ways.items()):
            t = way(SALT + 10 * i + j + 5000)
            if i >= 0:
                times[name].append(t)
    return times


def vet_note(cost: dict[str, list[float]]) -> str:
    def extra(name: str, base: str) -> str:
        a, b = statistics.median(cost[name]), statistics.median(cost[base])
        return f"{(a - b) * 1000:+.0f} ms ({a / b - 1:+.0%})"

    return (
        f"go vet's cost, the same cell four ways in turn: in the kernel, --vet (vet "
        f"alongside the build) {extra('kernel --vet', 'kernel')} over the cell without it; "
        f"on the command line, `go vet && go run` {extra('go vet && go run', 'go run')} "
        "over `go run`."
    )


def cell_rows(kernel: Kernel, gorun: GoRun, reps: int, row: Callable[..., None]) -> None:
    """Edited and unchanged cells, a big session, composing, an output flood."""
    row("edited cell: net/http + encoding/json program",
        *paired(reps, lambda i: kernel.run(WEB_PROGRAM.format(i=i)),
                lambda i: gorun.run(WEB_PROGRAM.format(i=i))))  # fmt: skip
    row("unchanged cell re-run",
        *paired(reps, lambda i: kernel.run(HELLO_SNIPPET.format(i=SALT)),
                lambda i: gorun.run(HELLO_PROGRAM.format(i=SALT))))  # fmt: skip
    funcs = "".join(f"func f{i}(x int) int {{ return x + {i} }}\n" for i in range(100))
    kernel.run(funcs)
    with_funcs = f'package main\n\nimport "fmt"\n\n{funcs}func main() {{ fmt.Println(f7(N)) }}\n'
    row("edited cell in a session of 100 declarations",
        *paired(reps, lambda i: kernel.run(f"fmt.Println(f7({i}))"),
                lambda i: gorun.run(with_funcs.replace("N", str(i)))))  # fmt: skip
    row("composing that snippet (100 declarations), no go command",
        compose_ms(100, max(reps, 50)), None, "in-process")  # fmt: skip


def fresh_machine(
    work: str, gorun: GoRun, reps: int, warm: list[float]
) -> list[tuple[str, list[float], list[float] | None, str]]:
    """A fresh machine: an empty GOCACHE; the kernel started, its first cell sent 5 s
    later (a user opening a notebook), with the background warm-up and without, and
    20 s later (the warm-up had time); next to plain `go run` on an empty cache, and
    to a warm cell (`warm`)."""
    sides: dict[str, tuple[float, str]] = {"5 s": (5, "1"), "5 s off": (5, "0"), "20 s": (20, "1")}
    results: dict[str, list[float]] = {k: [] for k in [*sides, "go run", "warm"]}
    for i in range(reps):
        for side in [*sides, "go run", *(["warm"] if i == 0 else [])]:
            cache = tempfile.mkdtemp(prefix="gorun-bench-gocache-")
            env = {**os.environ, "GOCACHE": cache, "GORUN_WARM": "1"}
            if side == "go run":
                results[side].append(gorun.run(HELLO_PROGRAM.format(i=SALT + 3000 + i), env=env))
            elif side == "warm":
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "gorun_kernel", "warm"], env=env,
                               check=True, capture_output=True)  # fmt: skip
                results[side].append(time.perf_counter() - start)
            else:
                delay, env["GORUN_WARM"] = sides[side]
                kernel = Kernel(work, env)
                time.sleep(max(0.0, kernel.started + delay - time.perf_counter()))
                salt = SALT + 4000 + 100 * list(sides).index(side) + i  # new to our cache too
                results[side].append(kernel.run(HELLO_SNIPPET.format(i=salt)))
                kernel.close()
            shutil.rmtree(cache, ignore_errors=True)

    def vs_warm(times: list[float]) -> str:
        return f"; {statistics.median(times) / statistics.median(warm):.1f}x a warm cell"

    plain = results["go run"]
    return [
        ("first cell on an empty GOCACHE, 5 s after kernel start (background warm-up)",
         results["5 s"], plain, vs_warm(results["5 s"])),
        ("the same, warm-up off (GORUN_WARM=0)",
         results["5 s off"], plain, vs_warm(results["5 s off"])),
        ("first cell on an empty GOCACHE, 20 s after kernel start (background warm-up)",
         results["20 s"], plain, vs_warm(results["20 s"])),
        ("`python -m gorun_kernel warm` on an empty GOCACHE (niced; all three tiers; once)",
         results["warm"], None, "ahead of time"),
    ]  # fmt: skip


def stdin_rows(kernel: Kernel, go: str, reps: int) -> list[tuple[str, list[float], list[float]]]:
    """400 MB through stdin three ways, next to `cat file | program` (stdin_bench.py)."""
    bench = StdinBench(go, kernel.run)
    try:
        return bench.rows(reps, magic_runner())
    finally:
        shutil.rmtree(bench.dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--out", help="also write the Markdown table to this file")
    parser.add_argument(
        "--only",
        choices=["tests", "fresh", "stdin", "help"],
        help="only test cells and --vet; or the empty-GOCACHE rows; or stdin; or help while typing",
    )
    parser.add_argument("--fresh-reps", type=int, default=3,
                        help="repetitions of the empty-GOCACHE rows (seconds each)")  # fmt: skip
    args = parser.parse_args()
    reps = args.reps
    if args.only == "help":
        helpbench.main(Kernel, args.out)
        return
    typeinfo.helper_binary(find_toolchain())  # built once per machine: measured on its own
    work = tempfile.mkdtemp(prefix="gorun-bench-cwd-")
    gorun = GoRun()
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, kernel: list[float], plain: list[float] | None, note: str = "") -> None:
        rows.append((name, fmt_ms(kernel), fmt_ms(plain) if plain else "-",
                     ratio(kernel, plain) if plain else note))  # fmt: skip
        print(f"{name}: {rows[-1][1]} vs {rows[-1][2]} {rows[-1][3]}", file=sys.stderr)

    # A new kernel process, and its first cell (a new one: it is built).
    startup = []
    kernel = None
    for i in range(1 if args.only else reps):
        if kernel is not None:
            kernel.close()
        start = time.perf_counter()
        kernel = Kernel(work)
        kernel.run(HELLO_SNIPPET.format(i=SALT + 2000 + i))
        startup.append(time.perf_counter() - start)
    assert kernel is not None

    warm_cell, plain_hello = paired(reps, lambda i: kernel.run(HELLO_SNIPPET.format(i=i)),
                                    lambda i: gorun.run(HELLO_PROGRAM.format(i=i)))  # fmt: skip
    row("edited cell: hello-world snippet", warm_cell, plain_hello)
    if not args.only:
        cell_rows(kernel, gorun, reps, row)  # leaves a session of 100 declarations
        kernel.run("type P struct{ X, Y int }\nfunc (p *P) Move(dx int) { p.X += dx }")
        rows.extend(helpbench.completion_rows(kernel.kc, kernel.km.provisioner.process.pid,
                                              salt=SALT))  # fmt: skip
        rows.append(helpbench.build_row())
        row("kernel start to the first (new) cell's result", startup,
            [gorun.run(HELLO_PROGRAM.format(i=SALT + 1000 + i)) for i in range(reps)])  # fmt: skip
        row("100 MB to stdout (shown up to the 4 MB cap)",
            *paired(max(3, reps // 3), lambda i: kernel.run(FLOOD),
                    lambda i: gorun.run(FLOOD, sink=subprocess.PIPE)))  # fmt: skip
    cost = test_and_vet_rows(kernel, gorun, reps, row) if args.only in (None, "tests") else None
    peak = kernel.peak_rss_mb()
    if args.only in (None, "stdin"):
        for name, k, p in stdin_rows(kernel, gorun.go, max(3, reps // 3)):
            row(name, k, p)
    kernel.close()
    if args.only in (None, "fresh"):
        for name, k, p, note in fresh_machine(work, gorun, args.fresh_reps, warm_cell):
            rows.append((name, fmt_ms(k), fmt_ms(p) if p else "-",
                         (ratio(k, p) if p else "") + note))  # fmt: skip
            print(f"{name}: {rows[-1][1]} vs {rows[-1][2]} {rows[-1][3]}", file=sys.stderr)
    gorun.close()
    shutil.rmtree(work, ignore_errors=True)

    tc = find_toolchain()
    load = os.getloadavg()[0]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; {tc.version}; Python {platform.python_version()}; "
        f"{reps} repetitions, median (min-max); load average at the end {load:.1f}.",
        "",
        "| benchmark | gorun kernel | plain `go run` | kernel / go run |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]
    if not args.only:
        lines.append(
            f"| kernel peak memory (VmHWM), after the flood | {peak:.0f} MB | - | target < 150 MB |"
        )
    if cost is not None:
        lines += ["", vet_note(cost)]
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")


if __name__ == "__main__":
    main()
