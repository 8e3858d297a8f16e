"""What the front-ends give the engine (RunOptions) and get back (Outcome)."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gorun_kernel.errors import (
    ExitError,
    GorunError,
    Interrupted,
    OverMemoryLimit,
    RunTimeout,
    SignalError,
)
from gorun_kernel.proc.channels import Channel
from gorun_kernel.proc.memlimit import MemoryLimit
from gorun_kernel.proc.stdinfeed import StdinSource

if TYPE_CHECKING:  # the kernel imports this module at start; the run loop can wait
    from gorun_kernel.proc.process import ProcessResult


@dataclass
class RunOptions:
    """How the program runs, as the front-end decides it."""

    cwd: str  # the notebook's directory
    stdin: StdinSource = None  # fixed input: bytes or a file (then end of input)
    interactive: bool = False  # ask the sink for input when the program waits for it
    capture: bool = False  # keep stdout/stderr text in the Outcome
    # More channels the program inherits, by name (the magic's data: proc/datachannel.py).
    channels: dict[str, Channel] = field(default_factory=dict)


@dataclass(frozen=True)
class Where:
    """Where a cell is in the notebook."""

    first_line: int  # the notebook's line number of the code's first line
    label: str | None  # how messages name the cell ("[3]")
    cell_id: str | None  # the front-end's id for the cell, if it sends one


@dataclass
class Outcome:
    """What happened to one cell."""

    status: str  # in Go's words: "exit status 0", "signal: killed", "timed out after 1s"
    error: GorunError | None  # the failure, or None when the program succeeded
    returncode: int | None = None  # None when the program did not run
    stdout: str | None = None  # captured text, when asked for
    stderr: str | None = None
    value: str | None = None  # the final expression's value, formatted by Go
    value_data: dict[str, Any] | None = None  # its MIME bundle (text/plain and richer forms)
    cached: bool = False  # the binary came from the executable cache (no go command)
    dropped: int = 0  # bytes of output over the limit, not shown
    ran: bool = True  # False when there was nothing to build or run
    job_output: object = None  # a background job's jobs.JobOutput, growing as it prints
    build_seconds: float | None = None  # getting the program (cache lookup or go build)
    run_seconds: float | None = None  # the program's run
    built_by: str | None = None  # "cache", "direct" (compile + link: build/direct.py) or "go"
    fallback: str | None = None  # why go built it rather than the fast path
    # A snippet's program got past its initialization (main began), as it said
    # (run.py); None when it was not asked to say.
    started: bool | None = None

    def timing(self) -> dict[str, object]:
        """The figures, for a reply's metadata."""
        figures: dict[str, object] = {
            "build": self.build_seconds,
            "run": self.run_seconds,
            "cached": self.cached,
        }
        if self.built_by is not None:
            figures["built_by"] = self.built_by
        if self.fallback is not None:
            figures["fallback"] = self.fallback
        return figures

    def timing_words(self) -> str:
        """` · build 0.14 s · run 0.02 s`, or ` · cached · run 0.02 s`; "" when nothing ran."""
        if self.run_seconds is None:
            return ""
        build = "cached" if self.cached else f"build {self.build_seconds or 0:.2f} s"
        return f" · {build} · run {self.run_seconds:.2f} s"

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, error: GorunError) -> Outcome:
        return cls(status=error.message, error=error, ran=False)

    @classmethod
    def of(
        cls, res: ProcessResult, timeout: float | None = None, memory: MemoryLimit | None = None
    ) -> Outcome:
        """How a process ended, in Go's words."""
        error: GorunError | None = None
        if res.timed_out:
            error = RunTimeout(f"timed out after {format_duration(timeout or 0)}")
        elif res.interrupted:
            error = Interrupted("the program was stopped by an interrupt")
        elif memory is not None and res.out_of_memory:
            how = (
                "killed" if res.returncode < 0 else f"out of memory (exit status {res.returncode})"
            )
            error = OverMemoryLimit(f"{how}: over the {memory} memory limit")
        elif res.returncode < 0:
            error = SignalError(signal_words(-res.returncode), -res.returncode)
        elif res.returncode > 0:
            error = ExitError(res.returncode)
        return cls(
            status=error.message if error else "exit status 0",
            error=error,
            returncode=res.returncode,
            dropped=res.dropped,
        )


def signal_words(signum: int) -> str:
    """A signal in Go's words (os.ProcessState.String): "killed", "segmentation fault"."""
    desc = signal.strsignal(signum) or f"signal {signum}"
    desc = desc.split(":")[0]  # macOS appends ": 9"
    if len(desc) > 1 and desc[1].islower():
        desc = desc[0].lower() + desc[1:]  # "Killed" -> "killed", but "I/O possible" stays
    return desc


def format_duration(seconds: float) -> str:
    """Seconds as a Go duration string: 1 -> "1s", 90 -> "1m30s", 0.5 -> "500ms"."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    text = f"{s:g}s"
    if m or h:
        text = f"{int(m)}m" + text
    if h:
        text = f"{int(h)}h" + text
    return text
