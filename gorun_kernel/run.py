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
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .build import Built
from .cmdline import Command
from .control import Control
from .diagnostics import LineTable, TraceMapper
from .display_channel import DisplayChannel
from .errors import GorunError
from .events import OutputSink
from .execache import ExeCache
from .outcome import Outcome, RunOptions
from .process import run_process
from .toolchain import Toolchain
from .values import read_value

VALUE_CACHE_ENV = "GORUN_VALUE_CACHE"  # where golib/cache keeps values between cells


@dataclass
class Program:
    """A built program and what the run needs to know about where it came from."""

    built: Built
    args: list[str]
    env: dict[str, str]  # the program's environment
    table: LineTable | None = None  # cell lines, for traces; None for a package
    value_file: Path | None = None  # where a snippet writes its final value


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

    def cross_target(self, env: Mapping[str, str]) -> tuple[str, str] | None:
        """(GOOS, GOARCH) when they differ from the host's, else None."""
        ge = self.toolchain.goenv
        goos = env.get("GOOS") or ge.get("GOOS", "")
        goarch = env.get("GOARCH") or ge.get("GOARCH", "")
        if (goos, goarch) == (ge.get("GOHOSTOS"), ge.get("GOHOSTARCH")):
            return None
        return goos, goarch

    def exec_prefix(self, cmd: Command, env: Mapping[str, str]) -> list[str]:
        """-exec xprog, or go_$GOOS_$GOARCH_exec when cross-compiling, as go run does.

        Without either, the binary runs directly (amd64 runs 386, as with go run).
        """
        if cmd.exec_cmd:
            return list(cmd.exec_cmd)
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
        cmd: Command,
        sink: OutputSink,
        opts: RunOptions,
        control: Control | None = None,
    ) -> Outcome:
        """Run a built program to its end; its output streams to sink.

        control: how it is stopped (a background job has its own); else the session's."""
        traces = TraceMapper(sink, program.table) if program.table is not None else None
        try:
            outcome = self._run(program, cmd, traces or sink, opts, control or self.control)
        finally:
            if traces is not None:
                traces.finish()
        vf = program.value_file
        if vf is not None and vf.exists():
            value = read_value(vf.read_text(errors="replace"), self.display_limit)
            vf.unlink()
            outcome.value, outcome.value_data = value.text, value.data
            for note in value.notes:
                sink.stderr(f"[gorun: {note}]\n")
        return outcome

    def _run(
        self, program: Program, cmd: Command, sink: OutputSink, opts: RunOptions, control: Control
    ) -> Outcome:
        built, env = program.built, program.env
        if built.note:
            sink.stderr(built.note + "\n")
        if built.log:
            sink.stderr(built.log + "\n")
        if built.exe is None:
            return Outcome(status="built nothing to run (-n)", error=None, ran=False)
        prefix = self.exec_prefix(cmd, env)
        display = DisplayChannel(self.display_limit)
        extra = {**display.env(), VALUE_CACHE_ENV: str(self.value_cache)}
        if program.value_file is not None:
            extra["GORUN_VALUE_FILE"] = str(program.value_file)
            program.value_file.unlink(missing_ok=True)
        started = time.monotonic()
        try:
            res = run_process(
                [*prefix, str(built.exe), *program.args],
                cwd=opts.cwd,
                env={**env, **extra},
                control=control,
                sink=sink,
                stdin=opts.stdin,
                interactive=opts.interactive and opts.stdin is None,
                timeout=cmd.timeout,
                capture=opts.capture,
                output_limit=self.output_limit,
                display=display,
            )
        except GorunError as e:
            target = self.cross_target(env)
            if target is not None and not prefix:
                e = GorunError(
                    f"{e.message}: a GOOS={target[0]} GOARCH={target[1]} program does not run "
                    f"on this machine; put go_{target[0]}_{target[1]}_exec on PATH or give -exec"
                )
            return Outcome.failed(e)
        finally:
            display.close()
            if built.temporary:
                self.cache.discard(built.exe.parent)
        if res.dropped:
            sink.stderr(
                f"\n[gorun: {res.dropped:,} bytes of output not shown: over the limit of "
                f"{self.output_limit:,} bytes per cell]\n"
            )
        outcome = Outcome.of(res, cmd.timeout)
        outcome.cached = built.cached
        outcome.build_seconds = built.seconds
        outcome.run_seconds = time.monotonic() - started
        if opts.capture:
            outcome.stdout = res.stdout.decode("utf-8", errors="replace")
            outcome.stderr = res.stderr.decode("utf-8", errors="replace")
        return outcome
