"""--wasm cells: what a reader's browser downloads, and how soon the program's first line shows.

    python benchmarks/wasm.py [--reps N] [--out benchmarks/WASM.md]

- Page weight: the display's HTML (module and Go's wasm_exec.js gzip'd and base64'd,
  the glue), and the module itself (go builds with -ldflags=-s -w, as go run does, and
  -trimpath) raw and gzip'd, for a hello-world snippet, the same as a package main
  program, and a program using fmt and strconv; for scale, the same program built
  without -s -w.
- Time from cell run to first output, in JupyterLab in headless Chromium (tests/
  browser.py's Lab, Debian's chromium): the run command to the program's first line in
  the page, for an edited cell (go builds it) and an unchanged one (the executable
  cache answers); and the in-page part alone (the script starts, inflates the module,
  starts the worker, instantiates and runs it: the output's data-first-output-ms).
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import ARTIFACTS, Lab, start_chromium  # noqa: E402
from labserver import LabServer  # noqa: E402
from tables import report  # noqa: E402

from gorun_kernel import cmdline  # noqa: E402
from gorun_kernel.build.toolchain import find_toolchain  # noqa: E402
from gorun_kernel.engine import Engine  # noqa: E402
from gorun_kernel.events import BaseSink, Display  # noqa: E402
from gorun_kernel.outcome import RunOptions  # noqa: E402
from gorun_kernel.run.wasm import METADATA_KEY  # noqa: E402

HELLO_SNIPPET = 'fmt.Println("hello")'
HELLO_PROGRAM = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }'
FMT_STRCONV = """package main

import (
	"fmt"
	"strconv"
)

func main() {
	n, _ := strconv.Atoi("42")
	fmt.Println(strconv.Quote("hello"), n*2, strconv.FormatFloat(3.25, 'f', 2, 64))
}"""


class _Facts(BaseSink):
    def __init__(self) -> None:
        self.facts: dict[str, int] = {}

    def event(self, event: object) -> None:
        if isinstance(event, Display) and METADATA_KEY in event.metadata:
            self.facts = event.metadata[METADATA_KEY]


def weights() -> list[tuple[str, dict[str, int]]]:
    engine = Engine()
    rows = []
    try:
        for name, code in (("hello world, snippet", HELLO_SNIPPET),
                           ("hello world, package main", HELLO_PROGRAM),
                           ("fmt + strconv, package main", FMT_STRCONV)):  # fmt: skip
            sink = _Facts()
            outcome = engine.run_cell(code, cmdline.parse(["--wasm"]), sink,
                                      RunOptions(cwd=str(ROOT)))  # fmt: skip
            assert outcome.ok, outcome.status
            rows.append((name, sink.facts))
    finally:
        engine.close()
    return rows


def unstripped_size() -> tuple[int, int]:
    """The fmt+strconv program built without -s -w (plain `go build`), raw and gzip'd."""
    go = find_toolchain().go
    with tempfile.TemporaryDirectory() as d:
        Path(d, "go.mod").write_text("module m\n\ngo 1.21\n")
        Path(d, "main.go").write_text(FMT_STRCONV)
        env = {**os.environ, "GOOS": "js", "GOARCH": "wasm", "GOFLAGS": "-trimpath"}
        subprocess.run([go, "build", "-o", "m.wasm", "."], cwd=d, env=env, check=True)
        data = Path(d, "m.wasm").read_bytes()
    return len(data), len(gzip.compress(data, 9))


# Run cell 0 and time (in the page's clock) until its program's first line is in the page.
_TIME_RUN = """
const done = arguments[arguments.length - 1];
const app = window.jupyterapp;
const panel = app.shell.currentWidget;
const cell = panel.content.widgets[0];
const t0 = performance.now();
const seen = () => {
  const out = cell.outputArea.node.querySelector('.gorun-wasm-out');
  return out && out.textContent.length > 0;
};
const observer = new MutationObserver(() => {
  if (seen()) {
    observer.disconnect();
    const box = cell.outputArea.node.querySelector('.gorun-wasm');
    done({total: performance.now() - t0, page: Number(box.dataset.firstOutputMs)});
  }
});
observer.observe(cell.outputArea.node, {childList: true, subtree: true, characterData: true});
panel.content.activeCellIndex = 0;
app.commands.execute('notebook:run-cell');
"""


def first_output(reps: int) -> dict[str, list[dict[str, float]]]:
    state = Path(tempfile.mkdtemp(prefix="gorun-wasm-bench-"))
    root = state / "notebooks"
    root.mkdir()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = LabServer(root, state, ARTIFACTS / "wasm-bench-jupyterlab.log")
    driver = start_chromium(state / "profile", ARTIFACTS / "wasm-bench-chromedriver.log")
    results: dict[str, list[dict[str, float]]] = {"edited": [], "unchanged": []}
    try:
        lab = Lab(server, driver, ARTIFACTS)
        stamp = time.time_ns()
        for i in range(reps):
            for kind in ("edited", "unchanged"):
                n = stamp + i  # a number no build cache has seen: an edited cell
                path = lab.notebook(f"bench{i}{kind}.ipynb",
                                    [f'%%gorun --wasm\nfmt.Println("hello", {n})'])  # fmt: skip
                lab.open(path)
                if kind == "unchanged":
                    driver.execute_async_script(_TIME_RUN)  # builds it; the timed run is cached
                results[kind].append(driver.execute_async_script(_TIME_RUN))
    finally:
        driver.quit()
        server.stop()
    return results


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; {find_toolchain().version}; Chromium "
        f"{subprocess.run(['chromium', '--version'], capture_output=True, text=True).stdout.strip()}"  # noqa: E501
        f"; {args.reps} repetitions, median (min-max).",
        "",
        "| program | page weight (the display's HTML) | module | module gzip'd |",
        "| --- | --- | --- | --- |",
    ]
    for name, facts in weights():
        lines.append(f"| {name} | {_size(facts['page_bytes'])} | {_size(facts['module_bytes'])} "
                     f"| {_size(facts['gzip_bytes'])} |")  # fmt: skip
    raw, packed = unstripped_size()
    lines += [f"| fmt + strconv, without -s -w (plain go build, for scale) | - | {_size(raw)} "
              f"| {_size(packed)} |", ""]  # fmt: skip
    timed = first_output(args.reps)
    lines += [
        "| cell run to the program's first line in the page (JupyterLab, Chromium) | total | "
        "in the page (script start to first line) |",
        "| --- | --- | --- |",
    ]
    for kind, label in (("edited", "edited cell (go builds it)"),
                        ("unchanged", "unchanged cell (executable cache)")):  # fmt: skip
        runs = timed[kind]
        lines.append(f"| {label} | {_ms([r['total'] for r in runs])} "
                     f"| {_ms([r['page'] for r in runs])} |")  # fmt: skip
    report(lines, args.out)


if __name__ == "__main__":
    main()
