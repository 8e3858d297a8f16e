"""Background programs: `%%gorun --bg` starts a program and the cell returns at once.

A job runs in a thread of its own, through the same run stage as any cell
(its own Control, so an interrupt of a foreground cell never reaches it), and
its output keeps going to the sink of the cell that started it (the sink keeps
that cell's parent message; the thread runs in a copy of the starting
context, so IPython's streams route it there too). Output is bounded like a
cell's; when the program ends on its own, its cell says how, in Go's words.
`--wait-port`/`--wait-url` return only once the program accepts connections.
Closing the session ends every job and everything it started.
"""

from __future__ import annotations

import contextvars
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gorun_kernel.errors import GorunError, Interrupted, UsageError
from gorun_kernel.events import Event, OutputSink
from gorun_kernel.outcome import Outcome, format_duration
from gorun_kernel.proc.control import Control
from gorun_kernel.run.request import RunRequest
from gorun_kernel.run.runner import Program, Runner

WAIT_LIMIT = 60.0  # seconds --wait-port/--wait-url wait for the program to answer
POLL_EVERY = 0.05  # seconds between two tries to connect


class JobControl(Control):
    """A Control that also tells when the job's process has started."""

    def __init__(self, record: Path) -> None:
        super().__init__(record=record)
        self.spawned = threading.Event()

    def started(self, pgid: int, durable: bool = True) -> None:
        super().started(pgid, durable)
        self.pid = pgid
        self.spawned.set()


@dataclass
class JobOutput:
    """What a job has printed so far (the magic's `--out VAR` for a job)."""

    stdout: str = ""
    stderr: str = ""

    def __repr__(self) -> str:
        return f"JobOutput(stdout={self.stdout!r}, stderr={self.stderr!r})"


@dataclass
class Job:
    id: int
    what: str
    control: JobControl
    started: float = field(default_factory=time.monotonic)
    outcome: Outcome | None = None  # once it ended
    ended: float | None = None
    killed: bool = False  # by %kill, a restart or shutdown
    output: JobOutput = field(default_factory=JobOutput)
    thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return getattr(self.control, "pid", None)

    def status(self) -> str:
        if self.killed:
            return "killed"
        return "running" if self.outcome is None else self.outcome.status

    def running_time(self) -> str:
        seconds = round((self.ended or time.monotonic()) - self.started)
        return format_duration(seconds) if seconds else "0s"


class _JobSink:
    """The starting cell's sink, keeping a copy of the text for JobOutput."""

    def __init__(self, sink: OutputSink, job: Job) -> None:
        self.sink = sink
        self.job = job

    def stdout(self, text: str) -> None:
        self.job.output.stdout += text
        self.sink.stdout(text)

    def stderr(self, text: str) -> None:
        self.job.output.stderr += text
        self.sink.stderr(text)

    def input_wanted(self, prompt: str) -> str | None:
        return None  # a background program reads end of input

    def event(self, event: Event) -> None:
        self.sink.event(event)


Launch = Callable[[OutputSink, Control], Outcome]  # runs the program to its end


class Jobs:
    """The session's background programs."""

    def __init__(self, scratch: Path, foreground: Control) -> None:
        self.scratch = scratch
        # The session's own Control: an interrupt of the cell that starts a job
        # (a SIGINT, a frontend's interrupt) ends the wait for --wait-port/--wait-url.
        self.foreground = foreground
        self.jobs: dict[int, Job] = {}
        self._next = 1

    def run(
        self,
        runner: Runner,
        program: Program,
        request: RunRequest,
        sink: OutputSink,
        what: str,
    ) -> Outcome:
        """The run stage: to the program's end, or (--bg) as a background job."""
        background = request.background
        if background is None or program.built.exe is None:  # (-n: nothing to start)
            return runner.run(program, request, sink)
        quiet = request.without_input()  # no input for a background program

        def launch(job_sink: OutputSink, control: Control) -> Outcome:
            return runner.run(program, quiet, job_sink, control)

        return self.start(what, launch, sink, background.wait_port, background.wait_url)

    def start(
        self,
        what: str,
        launch: Launch,
        sink: OutputSink,
        wait_port: int | None = None,
        wait_url: str | None = None,
    ) -> Outcome:
        """Start a job; the Outcome says `[bg 1] started ./cmd/server (pid 1234)`."""
        job = Job(self._next, what, JobControl(self.scratch / f".gorun-running-bg{self._next}"))
        self._next += 1
        job_sink = _JobSink(sink, job)

        def body() -> None:
            try:
                job.outcome = launch(job_sink, job.control)
            except GorunError as e:
                job.outcome = Outcome.failed(e)
            except Exception as e:  # our own failure: said as one, and the cell goes on
                job.outcome = Outcome.failed(GorunError(
                    f"gorun_kernel failed ({type(e).__name__}: {e}); please report this"
                ))  # fmt: skip
            job.ended = time.monotonic()
            job.control.spawned.set()  # it may have failed before starting
            if not job.control.interrupted:  # ended on its own, not by %kill
                sink.stderr(f"[bg {job.id}] {job.what}: {job.outcome.status}\n")

        context = contextvars.copy_context()
        job.thread = threading.Thread(target=context.run, args=(body,), daemon=True,
                                      name=f"gorun-bg-{job.id}")  # fmt: skip
        self.jobs[job.id] = job
        job.thread.start()
        job.control.spawned.wait()
        if job.outcome is not None and job.pid is None:
            return job.outcome  # it never started (a bad -exec, say)
        if wait_port is not None or wait_url is not None:
            error = _wait_until_ready(job, wait_port, wait_url, self.foreground)
            if error is not None:
                if job.outcome is None:  # still running: stopped here (%jobs: killed)
                    job.killed = True
                    job.control.kill()
                return Outcome.failed(error)
        outcome = Outcome(status=f"[bg {job.id}] started {what} (pid {job.pid})", error=None)
        outcome.job_output = job.output
        return outcome

    def listing(self) -> str:
        if not self.jobs:
            return "no background programs"
        rows = [
            f"[bg {j.id}]  pid {j.pid}  {j.running_time()}  {j.status()}  {j.what}"
            for j in self.jobs.values()
        ]
        return "\n".join(rows)

    def kill(self, which: str) -> list[int]:
        """Kill job N, or all; returns the ids killed. UsageError for an unknown id."""
        if which == "all":
            ids = [j.id for j in self.jobs.values() if j.outcome is None]
        else:
            try:
                ids = [int(which.removeprefix("%"))]
            except ValueError:
                raise UsageError(f"%kill wants a job number or all, got {which!r}") from None
            if ids[0] not in self.jobs:
                raise UsageError(f"no background program {ids[0]}; %jobs lists them")
        for i in ids:
            job = self.jobs[i]
            job.killed = job.killed or job.outcome is None
            job.control.kill()
            if job.thread is not None:
                job.thread.join(timeout=10)
        return ids

    def kill_report(self, which: str) -> str:
        """%kill N | all, and what it prints: a line per job, or that none was running."""
        ended = {j.id: j.status() for j in self.jobs.values() if j.outcome is not None}
        lines = [
            f"[bg {i}] had already ended: {ended[i]}\n" if i in ended else f"[bg {i}] killed\n"
            for i in self.kill(which)
        ]
        return "".join(lines) or "no background program is running\n"

    def close(self) -> None:
        """End every job (restart, shutdown)."""
        self.kill("all")
        for job in self.jobs.values():
            job.control.close()


def _wait_until_ready(
    job: Job, port: int | None, url: str | None, foreground: Control
) -> GorunError | None:
    """Wait until the job accepts connections; an error if it ends first, never does,
    or the cell is interrupted (the caller then stops the job)."""
    deadline = time.monotonic() + WAIT_LIMIT
    where = url or f"127.0.0.1:{port}"
    while time.monotonic() < deadline:
        if foreground.interrupted:
            return Interrupted(f"[bg {job.id}] {job.what}: stopped by an interrupt "
                               f"before {where} answered")  # fmt: skip
        if job.outcome is not None:
            return GorunError(f"[bg {job.id}] {job.what} ended before {where} answered: "
                              f"{job.outcome.status}")  # fmt: skip
        if _answers(port, url):
            return None
        job.thread.join(POLL_EVERY)  # type: ignore[union-attr]  # wakes early if it ends
    return GorunError(
        f"[bg {job.id}] {job.what}: nothing answered at {where} within "
        f"{format_duration(WAIT_LIMIT)}; the program was stopped"
    )


def _answers(port: int | None, url: str | None) -> bool:
    if url is not None:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - the user's own URL
                return True
        except urllib.error.HTTPError:
            return True  # an HTTP answer, even an error, means it is up
        except (OSError, ValueError):
            return False
    try:
        with socket.create_connection(("127.0.0.1", port or 0), timeout=1):
            return True
    except OSError:
        return False
