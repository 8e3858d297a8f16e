"""Benchmark rows: 400 MB through a program's standard input, next to `cat file | program`.

Three ways in: --stdin-file of a regular file (the program reads the file
itself), --stdin-file of a FIFO (the kernel copies it as it comes), and the
magic's --stdin VAR (400 MB of bytes in the IPython process, fed from a view
of the variable). Each is timed from the request to the end of the run, the
program's binary already built (an unchanged cell); `cat file | program` runs
the same binary.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SIZE = 400 << 20
COUNT = """package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	n, err := io.Copy(io.Discard, os.Stdin)
	fmt.Println(n, err)
}
"""

Row = tuple[str, list[float], list[float]]


class StdinBench:
    def __init__(self, go: str, run_cell: Callable[[str], float]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gorun-bench-stdin-"))
        self.run_cell = run_cell
        (self.dir / "main.go").write_text(COUNT)
        (self.dir / "go.mod").write_text("module count\n\ngo 1.21\n")
        subprocess.run([go, "build", "-o", "count", "."], cwd=self.dir, check=True)
        self.data = self.dir / "data.bin"
        with open(self.data, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(SIZE // len(block)):
                f.write(block)

    def cat_pipe(self) -> float:
        """`cat file | program`, with the pipe made by us (no shell)."""
        start = time.perf_counter()
        cat = subprocess.Popen(["cat", str(self.data)], stdout=subprocess.PIPE)
        out = subprocess.run(
            [str(self.dir / "count")], stdin=cat.stdout, capture_output=True, check=True
        )
        assert cat.stdout is not None
        cat.stdout.close()
        cat.wait()
        assert out.stdout.startswith(str(SIZE).encode()), out.stdout
        return time.perf_counter() - start

    def from_file(self) -> float:
        return self.run_cell(f"%%gorun --stdin-file {self.data} --quiet\n{COUNT}")

    def from_fifo(self) -> float:
        fifo = self.dir / "in.fifo"
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
        # dd opens the FIFO itself, once the run has opened it for reading.
        writer = subprocess.Popen(["dd", f"if={self.data}", f"of={fifo}", "bs=1M", "status=none"])
        took = self.run_cell(f"%%gorun --stdin-file {fifo} --quiet\n{COUNT}")
        writer.wait()
        return took

    def rows(self, reps: int, magic: Callable[[bytes, str], float] | None) -> list[Row]:
        plain: list[float] = []
        runs: dict[str, list[float]] = {"file": [], "fifo": [], "var": []}
        self.from_file()  # warm: built once, the file in the page cache
        data = self.data.read_bytes() if magic is not None else b""
        for _ in range(reps):
            plain.append(self.cat_pipe())
            runs["file"].append(self.from_file())
            runs["fifo"].append(self.from_fifo())
            if magic is not None:
                runs["var"].append(magic(data, COUNT))
        out = [
            ("400 MB stdin: --stdin-file (vs `cat file \\| program`)", runs["file"], plain),
            ("400 MB stdin: --stdin-file of a FIFO, copied (vs `cat file \\| program`)",
             runs["fifo"], plain),
        ]  # fmt: skip
        if magic is not None:
            out.append(
                ("400 MB stdin: magic --stdin VAR (vs `cat file \\| program`)", runs["var"], plain)
            )
        return out


def magic_runner() -> Callable[[bytes, str], float]:
    """The %%gorun magic in this process (real IPython), fed from a variable."""
    import contextlib
    import io

    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "gorun_kernel")

    def run(data: bytes, program: str) -> float:
        ip.user_ns["data"] = data
        out = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):
            ip.run_cell_magic("gorun", "--stdin data --quiet", program)
        took = time.perf_counter() - start
        assert out.getvalue().startswith(str(SIZE)), out.getvalue()
        return took

    return run
