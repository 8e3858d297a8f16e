"""Benchmark row: 10^7 float64 (80 MB) into Go and back, %%gorun --in/--export beside files.

Both ways run in one IPython session, through the magic, with the Go program
already built (each cell is run once untimed, then ROUNDS times, alternating):

- bridge: `%%gorun --in xs --export ys` with `ys := xs` (the data channel,
  golib/pydata);
- files: `numpy.save` of xs, a %%gorun cell that reads the .npy file in Go (the
  floats used in place) and writes it back as another .npy file, `numpy.load`.

Goal (issue 25): the bridge in at most 1.5x the files' time. Prints a Markdown
table; `python benchmarks/pydata_bench.py` (GORUN_CACHE as for any session).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from IPython.core.interactiveshell import InteractiveShell

N = 10_000_000
ROUNDS = 5

BRIDGE = "%%gorun --quiet --in xs --export ys\nys := xs\n"
FILES = """%%gorun --quiet
data, err := os.ReadFile(npyIn)
if err != nil { panic(err) }
off := 10 + int(binary.LittleEndian.Uint16(data[8:10]))  // .npy version 1: header length
xs := unsafe.Slice((*float64)(unsafe.Pointer(&data[off])), (len(data)-off)/8)
f, err := os.Create(npyOut)
if err != nil { panic(err) }
f.Write(data[:off])
f.Write(unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), len(xs)*8))
if err := f.Close(); err != nil { panic(err) }
"""


def main() -> None:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "gorun_kernel")
    xs = np.random.default_rng(1).random(N)
    ip.user_ns["xs"] = xs
    with tempfile.TemporaryDirectory() as tmp:
        npy_in, npy_out = Path(tmp, "xs.npy"), Path(tmp, "ys.npy")
        files_cell = FILES.replace("npyIn", f'"{npy_in}"').replace("npyOut", f'"{npy_out}"')

        def bridge() -> float:
            start = time.perf_counter()
            result = ip.run_cell(BRIDGE)
            took = time.perf_counter() - start
            assert result.success and np.array_equal(ip.user_ns["ys"], xs)
            return took

        def files() -> float:
            start = time.perf_counter()
            np.save(npy_in, xs)
            result = ip.run_cell(files_cell)
            ys = np.load(npy_out)
            took = time.perf_counter() - start
            assert result.success and np.array_equal(ys, xs)
            return took

        bridge(), files()  # builds, untimed
        times: dict[str, list[float]] = {"bridge": [], "files": []}
        for _ in range(ROUNDS):
            times["bridge"].append(bridge())
            times["files"].append(files())
    b, f = (statistics.median(times[k]) for k in ("bridge", "files"))
    print("| 10^7 float64 into Go and back | median of 5 | min | ratio to files |")
    print("| --- | --- | --- | --- |")
    print(f"| `--in xs --export ys` | {b:.3f} s | {min(times['bridge']):.3f} s | {b / f:.2f}x |")
    print(
        f"| numpy.save + Go reads, writes + numpy.load | {f:.3f} s | "
        f"{min(times['files']):.3f} s | 1.00x |"
    )


if __name__ == "__main__":
    main()
