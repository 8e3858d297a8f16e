"""The gorun kernel next to GoNB, the other Go kernel for Jupyter, and plain `go run` (issue 23).

    python benchmarks/gonb.py [--reps 15] [--out FILE]

GoNB (github.com/janpfeifer/gonb) is built here from the Go module proxy, with
the goimports it requires (golang.org/x/tools), into ~/.cache/gorun_kernel-bench/
(once; a scratch module each, `go get` then `go build`), and its kernelspec is
installed there with `gonb --install --force_deps`: gopls, which GoNB uses for
completion only, is not needed to run cells. The versions are the newest this
machine's proxy serves (`@latest` of GoNB is refused: 403).

In one run, one repetition of each in turn (interleaved): this tree's gorun
kernel, GoNB's kernel, and `go run .` of the same program in a module of its
own. Each cell is written the way its kernel takes it (GoNB: imports, then `%%`
and main's body). The rows: an unchanged cell run again, an edited hello cell and
an edited net/http + encoding/json cell (a number unique to the repetition in the
source: no cache has seen it), each execute_request to idle through
jupyter_client; and kernel start to ready (wait_for_ready).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from kernel_start import ready, timed_start
from run import HELLO_PROGRAM, HELLO_SNIPPET, SALT, WEB_PROGRAM, GoRun, Kernel, fmt_ms
from tables import report

from gorun_kernel.build.toolchain import find_toolchain

GONB = ("github.com/janpfeifer/gonb", "v0.10.6")
GOIMPORTS = ("golang.org/x/tools/cmd/goimports", "v0.52.0")
HOME = Path.home() / ".cache" / "gorun_kernel-bench" / f"gonb-{GONB[1]}"

GONB_HELLO = 'import "fmt"\n\n%%\nfmt.Println("hello {i}")'
GONB_WEB = (
    'import (\n\t"encoding/json"\n\t"fmt"\n\t"net/http"\n)\n\n%%\n'
    'b, _ := json.Marshal(map[string]any{{"status": http.StatusText(200), "n": {i}}})\n'
    "fmt.Println(string(b))"
)
SNIPPET_WEB = (
    'import (\n\t"encoding/json"\n\t"fmt"\n\t"net/http"\n)\n\n'
    'b, _ := json.Marshal(map[string]any{{"status": http.StatusText(200), "n": {i}}})\n'
    "fmt.Println(string(b))"
)


def build(go: str, package: str, version: str, binary: Path) -> None:
    """go get package@version in a scratch module of its own, then go build it."""
    if binary.exists():
        return
    module = Path(tempfile.mkdtemp(prefix="gonb-build-"))
    run = {"cwd": module, "check": True}
    subprocess.run([go, "mod", "init", "build"], **run, capture_output=True)
    subprocess.run([go, "get", f"{package}@{version}"], **run)
    subprocess.run([go, "build", "-o", str(binary), package], **run)


def install() -> tuple[KernelSpecManager, dict[str, str]]:
    """GoNB built and its kernelspec installed (once): where to find the spec, and
    the environment its kernel runs in (goimports on PATH)."""
    go = find_toolchain().go
    bin_dir = HOME / "bin"
    build(go, *GONB, bin_dir / "gonb")
    build(go, *GOIMPORTS, bin_dir / "goimports")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    data = HOME / "jupyter"
    if not (data / "kernels" / "gonb" / "kernel.json").exists():
        subprocess.run(
            [str(bin_dir / "gonb"), "--install", "--force_deps", "--logtostderr"],
            env={**env, "JUPYTER_DATA_DIR": str(data)}, check=True, capture_output=True,
        )  # fmt: skip
    return KernelSpecManager(kernel_dirs=[str(data / "kernels")]), env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--out", help="also write the Markdown table to this file")
    args = parser.parse_args()
    specs, gonb_env = install()
    here = str(Path(__file__).resolve().parent.parent)
    gorun_env = {**os.environ, "PYTHONPATH": here}
    work = tempfile.mkdtemp(prefix="gorun-bench-gonb-")
    gorun = Kernel(work, gorun_env)
    gonb = Kernel(work, gonb_env, kernel_name="gonb", specs=specs)
    plain = GoRun()
    rows: list[tuple[str, list[float], list[float], list[float] | None]] = []
    cases = [
        ("unchanged hello cell run again", HELLO_SNIPPET, GONB_HELLO, None, False),
        ("edited hello cell", HELLO_SNIPPET, GONB_HELLO, HELLO_PROGRAM, True),
        ("edited net/http + encoding/json cell", SNIPPET_WEB, GONB_WEB, WEB_PROGRAM, True),
    ]
    for name, ours, theirs, program, edited in cases:
        first = SALT - 1 - len(rows)
        gorun.run(ours.format(i=first))  # the import set's first cell: caches warm
        gonb.run(theirs.format(i=first))
        a: list[float] = []
        b: list[float] = []
        g: list[float] = []
        for i in range(args.reps):
            n = SALT + i + 1000 * len(rows) if edited else first
            a.append(gorun.run(ours.format(i=n)))
            b.append(gonb.run(theirs.format(i=n)))
            if program is not None:
                g.append(plain.run(program.format(i=n)))
        rows.append((name, a, b, g or None))
        print(name, fmt_ms(a), fmt_ms(b), file=sys.stderr)
    gorun.close()
    gonb.close()
    plain.close()
    starts: dict[str, list[float]] = {"gorun": [], "gonb": []}
    kernels = {"gorun": (gorun_env, None), "gonb": (gonb_env, specs)}
    for i in range(args.reps):
        for name in ("gorun", "gonb") if i % 2 == 0 else ("gonb", "gorun"):
            env, where = kernels[name]
            starts[name].append(timed_start(name, work, ready, env, where)[0])
    rows.append(("kernel start to ready (wait_for_ready)", starts["gorun"], starts["gonb"], None))

    def ratio(x: list[float], y: list[float] | None) -> str:
        return f"{statistics.median(x) / statistics.median(y):.2f}x" if y else "-"

    load = os.getloadavg()
    tc = find_toolchain()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}; "
        f"{tc.version}; Python {platform.python_version()}; GoNB {GONB[1]}; {args.reps} "
        f"repetitions, interleaved, median (min-max); load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.",
        "",
        "| work | gorun kernel | GoNB kernel | `go run` | gorun / GoNB | gorun / `go run` |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, a, b, g in rows:
        plain_ms = fmt_ms(g) if g else "-"
        lines.append(
            f"| {name} | {fmt_ms(a)} | {fmt_ms(b)} | {plain_ms} | {ratio(a, b)} | {ratio(a, g)} |"
        )
    report(lines, args.out)


if __name__ == "__main__":
    main()
