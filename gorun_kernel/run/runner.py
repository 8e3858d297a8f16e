"""The run stage: a built program -> a finished run (an Outcome).

It decides how the program is started (directly, under `-exec xprog`, or under
go_$GOOS_$GOARCH_exec when cross-compiling, as go run does), runs it with the
cell's input, timeout and output limit, rewrites panic and race traces to
cell lines, reads a snippet's final value, and says how the run ended in
Go's words. Every program gets a display channel (display_channel.py) for rich
output, and the directory where golib/cache keeps values between cells.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel import config, spans
from gorun_kernel.build.execache import ExeCache
from gorun_kernel.build.gobuild import Built
from gorun_kernel.build.toolchain import Toolchain
from gorun_kernel.diagnostics import LineTable, TraceMapper
from gorun_kernel.display.channel import DisplayChannel
from gorun_kernel.errors import ExitError, GoPanic, GorunError, OverMemoryLimit
from gorun_kernel.events import OutputSink
from gorun_kernel.outcome import Outcome
from gorun_kernel.proc import memlimit
from gorun_kernel.proc.channels import Channel
from gorun_kernel.proc.control import Control
from gorun_kernel.proc.enclosing import EnclosingLimit, enclosing_limit
from gorun_kernel.proc.process import ProcessRun, ProcessSpec, run_process
from gorun_kernel.run.request import RunRequest
from gorun_kernel.run.values import Value, read_value, truncated_text

VALUE_CACHE_ENV = config.VALUE_CACHE.name  # where golib/cache keeps values between cells

VALUE_FD_ENV = config.VALUE_FD.name  # the descriptor a snippet writes its final value to
# The descriptor a snippet's main writes a byte to, first thing (golib/started):
# the program got past its initialization.
STARTED_FD_ENV = config.STARTED_FD.name


@dataclass
class Program:
    """A built program and what the run needs to know about where it came from."""

    built: Built
    args: list[str]
    table: LineTable | None = None  # cell lines, for traces; None for a package
    show_value: bool = False  # a snippet's final value comes back (GORUN_VALUE_FD)
    report_start: bool = False  # a snippet's main says it began (GORUN_STARTED_FD)
    label: str | None = None  # the cell's ("[3]"), for a panic's headline
    # It may use the display channel (may_display); a package or test run: assumed.
    display: bool = True


DISPLAY_PACKAGE = "gorun.dev/display"
# The display module's packages that never write to the display channel: a
# snippet's value (or a final print's), its start, the values kept between
# cells, pandas data.
NO_DISPLAY = frozenset(
    f"{DISPLAY_PACKAGE}/{p}" for p in ("value", "printed", "started", "cache", "pydata")
)
_IMPORTS = re.compile(r"^import\s*(?:\(([^)]*)\)|([^\n]*))", re.MULTILINE)
_PATH = re.compile(r'"([^"]*)"')


def may_display(files: Mapping[str, str], is_std: Callable[[str], bool]) -> bool:
    """Whether a program built from these Go files may show displays: it imports the
    display package, or a package that could import it (any but the standard
    library's), or names the channel's variable itself (frames written by hand).
    Only then does its run get a display channel (a socket pair and its buffer:
    most of the descriptors and allocations of a run of a cell that prints).
    Anything unclear counts as yes.
    """
    for name, text in files.items():
        if not name.endswith(".go"):
            continue
        if config.DISPLAY_FD.name in text:
            return True
        for block, line in _IMPORTS.findall(text):
            decl = block or line
            if "`" in decl:
                return True  # a raw-string import path: not read here
            for path in _PATH.findall(decl):
                if path in NO_DISPLAY:
                    continue
                if path.startswith(DISPLAY_PACKAGE) or path == "C" or not is_std(path):
                    return True
    return False


class ValueChannel:
    """A snippet's final value (the helper's JSON, values.py), from a pipe the program
    inherits (channels.py): read as it comes, and never more than its text's limit
    (the output limit) and its rich form's (the display limit) together."""

    def __init__(self, text_limit: int | None, display_limit: int) -> None:
        self.text_limit = text_limit
        self.display_limit = display_limit
        self.parts: list[bytes] = []
        bound = (text_limit or 0) + display_limit
        self.channel = Channel(VALUE_FD_ENV, self.parts.append, limit=bound)

    def value(self) -> Value | None:
        if not self.channel.received:
            return None
        raw = b"".join(self.parts).decode("utf-8", errors="replace")
        if self.channel.dropped:  # cut: its JSON is not whole, but its text's start is there
            text = truncated_text(raw)
            value = Value(text, {"text/plain": text})
        else:
            value = read_value(raw, self.display_limit)
        limit = self.text_limit
        if limit is not None and len(value.text) > limit:
            text = value.text[:limit]
            note = (
                f"the value's text is cut at {limit:,} characters: over the limit of "
                f"{limit:,} bytes per cell (GORUN_OUTPUT_LIMIT)"
            )
            value = Value(text, {"text/plain": text}, [*value.notes, note])
        elif self.channel.dropped:
            note = f"the value is over {self.channel.limit:,} bytes: only its text is shown"
            value = Value(value.text, {"text/plain": value.text}, [*value.notes, note])
        return value


@dataclass
class Launch:
    """A program's process, started: what its run's end reads (channels, the display
    channel) and how it was asked for (`key`: a head start is adopted only by a run
    asked for the same)."""

    key: tuple[object, ...]
    process: ProcessRun
    display: DisplayChannel | None
    value: ValueChannel | None
    channels: dict[str, Channel]
    enclosing: EnclosingLimit | None  # the container's memory limit, when ours is not set
    ooms_before: int
    started: float

    def close(self) -> None:
        if self.display is not None:
            self.display.close()


def launch_key(program: Program, request: RunRequest) -> tuple[object, ...]:
    """Everything a program's start depends on: two runs with equal keys start the
    same process (the request compares field by field, its channels by identity)."""
    built = program.built
    return (built.exe, tuple(program.args), program.show_value, program.report_start,
            program.display, request)  # fmt: skip


class Runner:
    """Runs the session's programs, one at a time."""

    def __init__(
        self,
        toolchain: Toolchain,
        control: Control,
        cache: ExeCache,
        output_limit: int | None,  # None: every byte reaches the sink (test events)
        display_limit: int,
        value_cache: Path,
    ) -> None:
        self.toolchain = toolchain
        self.control = control
        self.cache = cache
        self.output_limit = output_limit
        self.display_limit = display_limit
        self.value_cache = value_cache
        self.memory_ceiling = memlimit.from_environment()  # GORUN_MEMORY_LIMIT
        self.ahead: Launch | None = None  # a head start no run has adopted yet
        self.ahead_thread = 0  # the thread that started it
        self.adopted = 0  # head starts adopted, and ended unseen (tests, benchmarks)
        self.abandoned = 0

    def cross_target(self, env: Mapping[str, str]) -> tuple[str, str] | None:
        """(GOOS, GOARCH) when they differ from the host's, else None."""
        ge = self.toolchain.goenv
        goos = env.get("GOOS") or ge.get("GOOS", "")
        goarch = env.get("GOARCH") or ge.get("GOARCH", "")
        if (goos, goarch) == (ge.get("GOHOSTOS"), ge.get("GOHOSTARCH")):
            return None
        return goos, goarch

    def exec_prefix(self, request: RunRequest) -> list[str]:
        """-exec xprog, or go_$GOOS_$GOARCH_exec when cross-compiling, as go run does.

        Without either, the binary runs directly (amd64 runs 386, as with go run).
        """
        env = request.env
        if request.exec_cmd:
            return list(request.exec_cmd)
        target = self.cross_target(env)
        if target is None:
            return []
        name = f"go_{target[0]}_{target[1]}_exec"
        found = shutil.which(name, path=env.get("PATH"))
        for sub in ("lib/wasm", "misc/wasm"):
            candidate = Path(self.toolchain.goroot, sub, name)
            if not found and candidate.is_file() and os.access(candidate, os.X_OK):
                found = str(candidate)
        return [found] if found else []

    def run(
        self,
        program: Program,
        request: RunRequest,
        sink: OutputSink,
        control: Control | None = None,
    ) -> Outcome:
        """Run a built program to its end; its output streams to sink.

        control: how it is stopped (a background job has its own); else the session's."""
        spans.mark("runner")
        traces = TraceMapper(sink, program.table) if program.table is not None else None
        try:
            quiet = traces.idle if traces is not None else None
            control = control or self.control
            outcome, launch = self._run(program, request, traces or sink, control, quiet)
        finally:
            if traces is not None:
                traces.finish()
        if traces is not None:
            exit_status = outcome.returncode if isinstance(outcome.error, ExitError) else None
            panic = traces.panic(exit_status)
            if panic is not None:  # the error says what the runtime said, where
                outcome.error = GoPanic(panic.headline(program.label), panic.trace())
                outcome.status = outcome.error.message
        if program.report_start and launch is not None:
            outcome.started = launch.channels["started"].received > 0
        spans.mark("ran")
        shown = launch.value.value() if launch is not None and launch.value is not None else None
        if shown is not None:
            outcome.value, outcome.value_data = shown.text, shown.data
            for note in shown.notes:
                sink.stderr(f"[gorun: {note}]\n")
        return outcome

    # -- a head start: the program of a run about to be asked for, started first ---

    def start_ahead(self, program: Program, request: RunRequest) -> bool:
        """Start the program of the session's next run now, before it is asked for: the
        run that asks for exactly this (launch_key) adopts it, and reads its output from
        the start (it waits in the pipes); any other ends it unseen (end_ahead). For an
        unchanged cell run again, whose program is known before its request is handled
        (frontends/kernel.py): its start then overlaps the handling."""
        self.end_ahead()
        try:
            self.ahead = self._launch(program, request, self.control)
        except GorunError:
            return False  # (the run itself will say why, in its turn)
        self.ahead_thread = threading.get_ident()  # the thread whose run may adopt it
        spans.mark("ahead")
        return True

    def end_ahead(self) -> None:
        """A head start no run adopted (its request was not run after all): ended now,
        and reaped; nothing it wrote is shown."""
        ahead, self.ahead = self.ahead, None
        if ahead is None:
            return
        self.abandoned += 1
        try:
            assert ahead.process.child is not None
            try:
                ahead.process.child.stop()
            finally:
                ahead.process.finish()  # (its loop takes over from a supervisor gone wrong)
        except GorunError:
            pass
        finally:
            ahead.close()

    def _adopt(self, program: Program, request: RunRequest, control: Control) -> Launch | None:
        """The head start of this very run, if there is one; any other is ended."""
        ahead = self.ahead
        if (
            ahead is None
            or control is not self.control
            or self.ahead_thread != threading.get_ident()
        ):
            return None  # (a background program's run, or another thread's: not the cell's)
        if ahead.key == launch_key(program, request):
            self.ahead = None
            self.adopted += 1
            spans.mark("adopted")
            return ahead
        self.end_ahead()
        return None

    # -- a run ---------------------------------------------------------------------

    def _launch(self, program: Program, request: RunRequest, control: Control) -> Launch:
        """The program's process started, with its channels; its output not read yet."""
        value = ValueChannel(self.output_limit, self.display_limit) if program.show_value else None
        channels = {"value": value.channel} if value is not None else {}
        channels.update(request.channels)
        if program.report_start:
            channels["started"] = Channel(STARTED_FD_ENV, lambda _: None, limit=1, at_end=True)
        assert program.built.exe is not None
        prefix = self.exec_prefix(request)
        display = DisplayChannel(self.display_limit) if program.display else None
        extra = {**(display.env() if display else {}), VALUE_CACHE_ENV: str(self.value_cache)}
        started = time.monotonic()
        try:
            spec = ProcessSpec(
                [*prefix, str(program.built.exe), *program.args],
                request.cwd,
                {**request.env, **extra},
                stdin=request.stdin,
                interactive=request.interactive and request.stdin is None,
                timeout=request.timeout,
                capture=request.capture,
                output_limit=self.output_limit,
                display=display,
                memory=request.memory,
                channels=channels,
            )
            # With no limit of ours, the container's (if any) is what a program meets.
            enclosing = enclosing_limit() if request.memory is None else None
            ooms_before = enclosing.oom_kills() if enclosing else 0
            spans.mark("process")
            process = ProcessRun(spec, control, None)
            process.start()
        except BaseException:
            if display is not None:
                display.close()
            raise
        key = launch_key(program, request)
        return Launch(key, process, display, value, channels, enclosing, ooms_before, started)

    def _run(
        self,
        program: Program,
        request: RunRequest,
        sink: OutputSink,
        control: Control,
        on_quiet: Callable[[], None] | None,
    ) -> tuple[Outcome, Launch | None]:
        built, memory = program.built, request.memory
        if built.note:
            sink.stderr(built.note + "\n")
        if built.log:
            sink.stderr(built.log + "\n")
        if built.exe is None:
            return Outcome(status="built nothing to run (-n)", error=None, ran=False), None
        if memory is not None and not memlimit.ENFORCED:
            sink.stderr(f"[gorun: the {memory} memory limit is not enforced on this system]\n")
        launch = None
        try:
            launch = self._adopt(program, request, control) or self._launch(
                program, request, control
            )
            launch.process.attach(sink, on_quiet)
            res = launch.process.finish()
        except GorunError as e:
            target = self.cross_target(request.env)
            if target is not None and not self.exec_prefix(request):
                e = GorunError(
                    f"{e.message}: a GOOS={target[0]} GOARCH={target[1]} program does not run "
                    f"on this machine; put go_{target[0]}_{target[1]}_exec on PATH or give -exec"
                )
            return Outcome.failed(e), launch
        finally:
            if launch is not None:
                launch.close()
            if built.temporary:
                self.cache.discard(built.exe.parent)
        if res.dropped:
            sink.stderr(
                f"\n[gorun: {res.dropped:,} bytes of output not shown: over the limit of "
                f"{self.output_limit:,} bytes per cell]\n"
            )
        outcome = Outcome.of(res, request.timeout, memory)
        enclosing = launch.enclosing
        killed = res.returncode == -signal.SIGKILL
        if enclosing and killed and enclosing.oom_kills() > launch.ooms_before:
            outcome.error = OverMemoryLimit(
                f"killed: over the {enclosing} memory limit of this server's container"
            )
            outcome.status = outcome.error.message
        outcome.cached = built.cached
        outcome.build_seconds = built.seconds
        outcome.built_by, outcome.fallback = built.by, built.why
        outcome.run_seconds = time.monotonic() - launch.started
        if request.capture:
            outcome.stdout = res.stdout.decode("utf-8", errors="replace")
            outcome.stderr = res.stderr.decode("utf-8", errors="replace")
        return outcome, launch

    def rerun(
        self, exe: str, args: list[str], env: Mapping[str, str], cwd: str, sink: OutputSink
    ) -> Outcome:
        """Run a cell's executable again, outside any cell (an Interact's change): no
        build, no value, its own Control (a cell may be running), the cell's limits."""
        display = DisplayChannel(self.display_limit)
        try:
            spec = ProcessSpec(
                [exe, *args],
                cwd,
                {**env, **display.env(), VALUE_CACHE_ENV: str(self.value_cache)},
                stdin=None,
                interactive=False,
                timeout=None,
                capture=False,
                output_limit=self.output_limit,
                display=display,
                memory=None,
                # No supervisor: it is a fork of the kernel, ~20 ms, four times a small
                # f's whole run. The program's process group still ends with the run;
                # only a child that leaves it (setsid) could outlive an Interact's f.
                supervise=False,
            )
            res = run_process(spec, Control(), sink)
        except GorunError as e:
            return Outcome.failed(e)
        finally:
            display.close()
        return Outcome.of(res, None, None)
