"""What a run needs to know: a `RunRequest`, built once by the engine.

The engine makes it from the parsed command line (cmdline.Command), the
session's settings folded into it by the front-end, and the front-end's
RunOptions; the run stage (runner.py, jobs.py, gotest/run.py) reads only this,
never the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gorun_kernel.proc.channels import Channel
from gorun_kernel.proc.memlimit import MemoryLimit
from gorun_kernel.proc.stdinfeed import StdinSource


@dataclass(frozen=True)
class Background:
    """--bg: the program runs as a background job; the cell returns once it is ready."""

    wait_port: int | None = None  # --wait-port: once it accepts connections there
    wait_url: str | None = None  # --wait-url: once this URL answers


@dataclass(frozen=True)
class RunRequest:
    """How a program runs."""

    cwd: str  # where it runs (the notebook's directory, or a package's)
    env: dict[str, str]  # its whole environment (and go's, for the build)
    stdin: StdinSource = None  # fixed input: bytes or a file (then end of input)
    interactive: bool = False  # ask the sink for input when the program waits for it
    capture: bool = False  # keep stdout/stderr text in the Outcome
    timeout: float | None = None  # seconds
    memory: MemoryLimit | None = None  # the limit chosen (within GORUN_MEMORY_LIMIT)
    exec_cmd: tuple[str, ...] = ()  # -exec xprog
    background: Background | None = None
    # More channels the program inherits, by name (the magic's data: proc/datachannel.py);
    # tests and background programs get them too (a session's --in values).
    channels: dict[str, Channel] = field(default_factory=dict)

    def without_input(self) -> RunRequest:
        """The same run with no input and nothing captured: a background program's, tests'."""
        return replace(self, stdin=None, interactive=False, capture=False)
