"""Benchmarks of rich output: a real kernel process next to plain `go run`, in the same run.

    python benchmarks/display.py [--reps N] [--out benchmarks/DISPLAY.md]

- a cell showing a 1 MB PNG (time from execute_request to the display_data
  message) next to the same cell printing 1 MB of text (to its last stream
  message); plain `go run` of each program for scale;
- a progress bar updated 100,000 times: messages the kernel sent, the kernel's
  CPU time, the cell's time;
- a cell using a 50 MB value from cache.Value next to one computing it again
  (parsing the CSV file it came from: 6,553,600 numbers, 38 MB of text).
Cells are built once before they are timed: these figures are about output, not builds.
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

sys.path.insert(0, str(Path(__file__).parent))
from run import GoRun, Kernel, fmt_ms

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.paths import DISPLAY_MODULE, GOLIB_DIR

# The same programs run as kernel cells and under plain `go run` (where a
# display prints its text line).
PNG_PROGRAM = """package main

import (
	"bytes"
	"image"
	"image/png"

	"gorun.dev/display"
)

func main() {
	img := image.NewNRGBA(image.Rect(0, 0, 512, 512))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7 % 251)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.NoCompression}
	enc.Encode(&buf, img)
	display.PNG(buf.Bytes())
}
"""
TEXT_PROGRAM = """package main

import (
	"os"
	"strings"
)

func main() {
	line := strings.Repeat("x", 1023) + "\\n"
	for i := 0; i < 1024; i++ {
		os.Stdout.WriteString(line)
	}
}
"""
PROGRESS_PROGRAM = """package main

import (
	"fmt"

	"gorun.dev/display"
)

func main() {
	bar := display.New()
	for i := 1; i <= 100000; i++ {
		bar.HTML(fmt.Sprintf("<progress value=%d max=100000></progress>", i))
	}
}
"""
# 50 MB of float64s: from the cache, or parsed again from a CSV file.
LOAD = """func loadCSV() []float64 {
	f, _ := os.Open("big.csv")
	defer f.Close()
	out := make([]float64, 0, 50<<20/8)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, field := range strings.Split(sc.Text(), ",") {
			v, _ := strconv.ParseFloat(field, 64)
			out = append(out, v)
		}
	}
	return out
}
"""
CACHED_CELL = 'data := cache.Value("big", loadCSV)\nfmt.Println(len(data))'
RECOMPUTE_CELL = "data := loadCSV()\nfmt.Println(len(data))"


def timed(kernel: Kernel, code: str, first: str) -> tuple[float, float, int]:
    """Seconds to the first message of type `first` (to the last, for streams),
    seconds to idle, and how many messages of that type came."""
    start = time.perf_counter()
    msg_id = kernel.kc.execute(code)
    at, count = 0.0, 0
    while True:
        msg = kernel.kc.get_iopub_msg(timeout=300)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "error":
            raise RuntimeError(f"cell failed: {msg['content']['evalue']}")
        if kind == first:
            count += 1
            if not at or kind == "stream":
                at = time.perf_counter() - start
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            return at, time.perf_counter() - start, count


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_csv(path: Path) -> None:
    """6,553,600 numbers: 50 MB as a []float64."""
    row = ",".join(f"{i}.{i % 97}" for i in range(100)) + "\n"
    path.write_text(row * 65536)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--out", help="also write the Markdown table to this file")
    reps = parser.parse_args().reps
    out_path = parser.parse_args().out
    work = Path(tempfile.mkdtemp(prefix="gorun-bench-display-"))
    write_csv(work / "big.csv")
    kernel = Kernel(str(work))
    gorun = GoRun()
    gorun.dir.joinpath("go.mod").write_text(
        gorun.dir.joinpath("go.mod").read_text()
        + f'\nrequire {DISPLAY_MODULE} v0.0.0\n\nreplace {DISPLAY_MODULE} => "{GOLIB_DIR}"\n'
    )
    rows: list[tuple[str, str, str, str]] = []

    def go_run(program: str) -> list[float]:
        gorun.run(program)  # built once, as the kernel's cells are
        return [gorun.run(program) for _ in range(reps)]

    for program in (PNG_PROGRAM, TEXT_PROGRAM, PROGRESS_PROGRAM):
        kernel.run(program)  # built and cached
    png = [timed(kernel, PNG_PROGRAM, "display_data") for _ in range(reps)]
    text = [timed(kernel, TEXT_PROGRAM, "stream") for _ in range(reps)]
    rows.append(("a 1 MB PNG: execute to its display_data message",
                 fmt_ms([t for t, _, _ in png]), fmt_ms(go_run(PNG_PROGRAM)),
                 "go run: the whole program"))  # fmt: skip
    rows.append(("1 MB of text: execute to its last stream message",
                 fmt_ms([t for t, _, _ in text]), fmt_ms(go_run(TEXT_PROGRAM)),
                 "go run: the whole program"))  # fmt: skip

    pid = kernel.km.provisioner.process.pid
    progress, cpu, messages = [], [], []
    for _ in range(max(3, reps // 3)):
        before = cpu_seconds(pid)
        _, idle, sent = timed(kernel, PROGRESS_PROGRAM, "update_display_data")
        cpu.append(cpu_seconds(pid) - before)
        progress.append(idle)
        messages.append(sent)
    rows.append(("progress bar, 100,000 updates: the cell", fmt_ms(progress),
                 fmt_ms(go_run(PROGRESS_PROGRAM)), "go run prints 100,000 lines"))  # fmt: skip
    rows.append(("... messages sent by the kernel", f"{statistics.median(messages):.0f} "
                 f"({min(messages)}-{max(messages)})", "-", "of 100,000 updates"))  # fmt: skip
    rows.append(("... kernel CPU", fmt_ms(cpu), "-", "the kernel process alone"))

    kernel.run(LOAD)
    kernel.run(CACHED_CELL)  # computes and stores: the first use
    cached = [timed(kernel, CACHED_CELL, "stream")[1] for _ in range(reps)]
    recomputed = [timed(kernel, RECOMPUTE_CELL, "stream")[1] for _ in range(reps)]
    rows.append(("a 50 MB value: cell using cache.Value", fmt_ms(cached), "-",
                 f"{statistics.median(cached) / statistics.median(recomputed):.2f}x "
                 "of recomputing"))  # fmt: skip
    rows.append(("a 50 MB value: cell parsing the CSV again", fmt_ms(recomputed), "-", ""))
    kernel.close()
    gorun.close()

    tc = find_toolchain()
    table = "\n".join([
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; {tc.version}; Python {platform.python_version()}; "
        f"{reps} repetitions, median (min-max).",
        "",
        "| rich output | gorun kernel | plain `go run` | note |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ])  # fmt: skip
    print(table)
    if out_path:
        Path(out_path).write_text(table + "\n")


if __name__ == "__main__":
    main()
