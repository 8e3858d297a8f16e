"""The in-process engine tier: gorun_kernel.engine.Engine and a sink that records.

No kernel, no ZMQ, no IPython: a test drives the engine as a front-end does and
looks at the Outcome and at what the sink was sent. The programs are real (go
builds and runs them), so these tests are e2e, but they cost a build and a run,
not a kernel start and a protocol round trip. Kernel and magic tests keep what
only they show: replies and IOPub order, interrupts, shutdown, rendering.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from gorun_kernel import cmdline
from gorun_kernel.engine import Engine
from gorun_kernel.events import BaseSink, Event
from gorun_kernel.outcome import Outcome, RunOptions


class Recorder(BaseSink):
    """Everything the engine sends a front-end, in order; answers input from a list."""

    def __init__(self, answers: list[str] | None = None) -> None:
        self.chunks: list[tuple[str, str]] = []  # ("stdout" | "stderr", text)
        self.events: list[Event] = []
        self.prompts: list[str] = []
        self.answers = list(answers or [])

    def stdout(self, text: str) -> None:
        self.chunks.append(("stdout", text))

    def stderr(self, text: str) -> None:
        self.chunks.append(("stderr", text))

    def input_wanted(self, prompt: str) -> str | None:
        self.prompts.append(prompt)
        return self.answers.pop(0) if self.answers else None

    def event(self, event: Event) -> None:
        self.events.append(event)

    def text(self, name: str = "stdout") -> str:
        return "".join(t for n, t in self.chunks if n == name)


def run(
    engine: Engine,
    code: str,
    flags: str = "",
    *,
    cwd: str = ".",
    answers: list[str] | None = None,
    cell_id: str | None = None,
) -> tuple[Outcome, Recorder]:
    """A cell as the kernel runs it (`%%gorun FLAGS` above code: code starts at line 2).

    answers: the program may ask for input (the sink answers, then end of input).
    """
    sink = Recorder(answers)
    opts = RunOptions(cwd, interactive=answers is not None)
    outcome = engine.run_cell(
        code,
        cmdline.parse(shlex.split(flags)),
        sink,
        opts,
        first_line=2 if flags else 1,
        cell_id=cell_id,
    )
    return outcome, sink


def failure(outcome: Outcome) -> tuple[str, str]:
    """(ename, evalue) as the kernel replies them; ("", "") for a success."""
    if outcome.error is None:
        return "", ""
    return outcome.error.ename, outcome.error.message


def words_library(tmp_path: Path, salt: int) -> tuple[Path, str, str]:
    """A local module beside the notebook: (its words.go, a cell using it that prints
    Word() and salt, the notebook's directory). Word() says "aaa"."""
    lib = tmp_path / "lib"
    (lib / "words").mkdir(parents=True)
    (lib / "docs").mkdir()
    (lib / "go.mod").write_text("module example.org/lib\n\ngo 1.21\n")
    source = lib / "words" / "words.go"
    source.write_text('package words\n\nfunc Word() string { return "aaa" }\n')
    code = f'import (\n\t"fmt"\n\t"example.org/lib/words"\n)\n\nfmt.Println(words.Word(), {salt})'
    return source, code, str(lib / "docs")


def edit_in_place(source: Path) -> None:
    """Word() says "bbb": the same size, the same second, only the nanoseconds tell."""
    st = source.stat()
    with open(source, "r+") as f:
        f.write('package words\n\nfunc Word() string { return "bbb" }\n')
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
