"""The engine: one session, and the short path from a cell to a finished run.

    cell text -> compose (compose.py) -> build (cellbuild.py, build.py) -> run (run.py)
    test cell -> compose (compose.py) -> build (go test -c, the same)    -> run (testrun.py)
    package   -> resolve (packages.py) -> build (build.py)                -> run (run.py)

It knows nothing about IPython or ipykernel. Output and input requests go to
an `OutputSink` (events.py) as they happen; what happened comes back as an
`Outcome`, whose `error` is the failure as an exception for the front-end to
raise or render. A front-end is a sink plus the few lines that turn an
Outcome into notebook output.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from gorun_kernel import config, spans
from gorun_kernel.build import gobuild as build
from gorun_kernel.build import packages, wasm
from gorun_kernel.build.cellbuild import CellBuilder
from gorun_kernel.build.execache import ExeCache
from gorun_kernel.build.gobuild import Builder, Built
from gorun_kernel.build.scratch import RUNNING_NAME, ScratchModule, go_mod_text
from gorun_kernel.build.toolchain import Toolchain, find_toolchain
from gorun_kernel.cmdline import Command
from gorun_kernel.compose import compose
from gorun_kernel.compose.compose import Composed
from gorun_kernel.compose.session import Session
from gorun_kernel.compose.stdlib import StdIndex
from gorun_kernel.display.frames import display_limit
from gorun_kernel.errors import BuildError, GorunError, Interrupted, UsageError
from gorun_kernel.events import OutputSink
from gorun_kernel.gotest.flags import TestCommand
from gorun_kernel.gotest.run import TestRunner
from gorun_kernel.headstart import HeadStart
from gorun_kernel.outcome import Outcome, RunOptions, Where
from gorun_kernel.proc import memlimit
from gorun_kernel.proc.control import Control, abortable, sigint_interrupts
from gorun_kernel.proc.process import ProcessSpec, run_process
from gorun_kernel.run import wasm as in_page
from gorun_kernel.run.jobs import Jobs
from gorun_kernel.run.request import Background, RunRequest
from gorun_kernel.run.runner import Program, Runner, may_display

DEFAULT_OUTPUT_LIMIT = 4 << 20  # bytes of output shown per cell; the rest is counted
VALUE_CACHE = ".gorun-values"  # in the scratch module: values cells keep (golib/cache)
# Flags naming files: relative to the notebook's directory, as they would be for go run.
_LEAVE_RUNNING = re.compile(r"(?<![\w.-])(nohup|setsid)(?![\w.-])")  # a `!` line that asks for it
_FILE_FLAGS = ("-overlay=", "-modfile=", "-pgo=")


def _output_limit() -> int:
    return config.whole_number(config.OUTPUT_LIMIT, DEFAULT_OUTPUT_LIMIT, "bytes")


class Engine:
    """One session: a toolchain, a scratch module, its declarations, and the runs made in it."""

    def __init__(self, toolchain: Toolchain | None = None, cache: ExeCache | None = None) -> None:
        output_limit = _output_limit()
        self.toolchain = toolchain or find_toolchain()
        cache = cache or ExeCache()
        self.scratch = ScratchModule(self.toolchain)
        self.control = Control(record=self.scratch.path / RUNNING_NAME)
        cache.fallback = self.scratch.path / ".gorun-build"  # when the cache cannot keep builds
        self.builder = Builder(
            self.toolchain, cache, self.control, tmpdir=self.scratch.path / ".gorun-gotmp"
        )
        self.session = Session()
        self.cells = CellBuilder(self.scratch, self.builder, self.stdlib)
        values = self.scratch.path / VALUE_CACHE
        self.runner = Runner(
            self.toolchain, self.control, cache, output_limit, display_limit(), values
        )
        # Test events must all arrive: the table caps each test's output instead.
        test_runner = Runner(self.toolchain, self.control, cache, None, display_limit(), values)
        self.tests = TestRunner(self.builder, test_runner, self.scratch.path)
        self.jobs = Jobs(self.scratch.path, self.control)  # background programs (--bg)
        # Held while a cell builds or runs, and from a head start to its request's end
        # (headstart.py): re-entered by that request's run on the same thread.
        self.busy = threading.RLock()
        self._stdlib: StdIndex | None = None
        self._noted: set[str] = set()  # notes already shown in this session
        self.closers: list[Callable[[], None]] = []  # called at close: helpers that serve it
        # An unchanged cell's next run, started as its request arrives (headstart.py).
        self.head_start = HeadStart(self)

    # -- session -----------------------------------------------------------

    def close(self) -> None:
        """End the session: stop what runs (from another thread, say), remove the scratch module."""
        for fn in self.closers:
            fn()
        self.control.kill()
        self.jobs.close()
        # A run in another thread ends as soon as its process is gone; wait for
        # it, so the scratch module is not removed under a build.
        got = self.busy.acquire(timeout=5)
        try:
            self.scratch.close()
        finally:
            if got:
                self.control.close()
                self.builder.cache.close()  # its locks on binaries (other sessions prune them)
                self.busy.release()

    def stdlib(self) -> StdIndex:
        if self._stdlib is None:
            self._stdlib = StdIndex.for_goroot(self.toolchain.goroot, self.toolchain.version)
        return self._stdlib

    def declarations(self) -> list[tuple[str, str, str]]:
        """(name, kind, cell) of everything snippets declared or imported."""
        return self.session.listing()

    def remove(self, *names: str, dependents: bool = False) -> list[str]:
        """Forget declarations or imports by name (with dependents, also the declarations
        that use them: Session.dependents); returns the names that were not there."""
        return self.session.remove_names(list(names), dependents)

    def reset(self, go_mod: bool = False) -> Forgotten:
        """Forget all declarations and kept values; with go_mod, also the modules fetched."""
        forgotten = Forgotten.of(self.session.listing(), self.scratch.path / VALUE_CACHE, go_mod)
        self.session.reset()
        self.cells.retries.clear()
        shutil.rmtree(self.scratch.path / VALUE_CACHE, ignore_errors=True)
        if go_mod:
            self.scratch.go_mod.write_text(go_mod_text(self.toolchain))
            self.scratch.go_sum.write_text("")
            self.cells.forget_modules()
        return forgotten

    def request(self, cmd: Command, opts: RunOptions) -> RunRequest:
        """How the program runs, from its command line and the front-end's options, once.

        The environment is for go and for the program: the user's, ours, then
        --env. A memory limit over GORUN_MEMORY_LIMIT is refused here, before any build."""
        env = self.toolchain.command_env(os.environ)
        env.update(cmd.env)
        return RunRequest(
            cwd=opts.cwd,
            env=env,
            stdin=opts.stdin,
            interactive=opts.interactive,
            capture=opts.capture,
            timeout=cmd.timeout,
            # (-asan and -msan under a limit are refused here without a cgroup)
            memory=memlimit.for_build(
                memlimit.choose(cmd.memory, self.runner.memory_ceiling), cmd.build_flags
            ),
            exec_cmd=tuple(cmd.exec_cmd or ()),
            background=Background(cmd.wait_port, cmd.wait_url) if cmd.background else None,
            channels=dict(opts.channels),
        )

    # -- entry points --------------------------------------------------------

    def run_cell(
        self,
        code: str,
        cmd: Command,
        sink: OutputSink,
        opts: RunOptions,
        *,
        first_line: int = 1,
        label: str | None = None,
        cell_id: str | None = None,
    ) -> Outcome:
        """Build and run a cell, with cmd.positional as the program's arguments.

        first_line: the notebook's line number of the code's first line (2 under
        a %%gorun line). label: how errors name this cell later ("[3]").
        cell_id: the front-end's id of the cell, when it sends one (the same
        cell run again replaces its inits).
        UsageError for a bad command line; any other failure is in the Outcome.
        """
        where = Where(first_line, label, cell_id)
        return self._guarded(lambda: self._run_cell(code, cmd, sink, opts, where))

    def run_tests(
        self,
        code: str,
        tcmd: TestCommand,
        sink: OutputSink,
        opts: RunOptions,
        *,
        first_line: int = 1,
        label: str | None = None,
    ) -> Outcome:
        """A test cell: its Test/Benchmark/Fuzz/Example functions, run by go test against
        the session's declarations; code "" runs all of the session's tests."""
        return self._guarded(lambda: self._run_tests(code, tcmd, sink, opts, first_line, label))

    def run_package(self, cmd: Command, sink: OutputSink, opts: RunOptions) -> Outcome:
        """`go run`'s package forms: .go files, a directory, an import path, pkg@version."""
        return self._guarded(lambda: self._run_package(cmd, sink, opts))

    def run_shell(
        self,
        command: str,
        sink: OutputSink,
        cwd: str,
        env: Mapping[str, str],
        interactive: bool = False,
    ) -> Outcome:
        """`!command` in the kernel: the user's own text, run by /bin/sh in cwd
        (the one place a shell is used; see _shell)."""
        env = self.toolchain.command_env({**os.environ, **env})
        ceiling = self.runner.memory_ceiling  # GORUN_MEMORY_LIMIT holds for `!` lines too
        return self._guarded(
            lambda: _shell(command, cwd, env, self.control, sink, interactive, ceiling)
        )

    def rerun(
        self, exe: str, args: list[str], extra_env: Mapping[str, str], sink: OutputSink
    ) -> Outcome:
        """A cell's program run again from its executable, with extra_env (an Interact's
        values): may run while a cell does, from another thread."""
        env = {**self.toolchain.command_env(os.environ), **extra_env}
        return self.runner.rerun(exe, args, env, os.getcwd(), sink)

    def go_doc(self, args: list[str], cwd: str | None = None) -> str | None:
        """`go doc ARGS`'s text, or None: in the session's module, or in `cwd` (its go.work too)."""
        with self.busy:
            self.control.reset()
            env = {**self.toolchain.command_env(os.environ), **({} if cwd else {"GOWORK": "off"})}
            try:
                code, output = self.builder.go(["doc", *args], cwd or str(self.scratch.path), env)
            except GorunError:
                return None
        return output if code == 0 and output.strip() else None

    def _guarded(self, work: Callable[[], Outcome]) -> Outcome:
        with self.busy:
            self.control.reset()
            try:
                with sigint_interrupts(self.control):
                    return work()
            except UsageError:
                raise
            except GorunError as e:
                return Outcome.failed(e)
            except KeyboardInterrupt:
                # Raised outside a running process (off the main thread, or while
                # asking for input): nothing of the cell's is left running.
                return Outcome.failed(Interrupted("stopped by an interrupt"))

    # -- the two paths through the stages ---------------------------------------

    def _run_cell(
        self, code: str, cmd: Command, sink: OutputSink, opts: RunOptions, where: Where
    ) -> Outcome:
        if cmd.chdir is not None:
            raise UsageError("-C dir is for %gorun package runs; a cell is built in the session")
        if cmd.wasm:
            wasm.check_command(cmd)
        label = where.label or f"[{self.session.cells + 1}]"
        composed = self.compose_cell(code, cmd, opts, where, label)
        if composed.form == "empty":
            return Outcome(status="nothing to run", error=None, ran=False)
        for note in sorted(set(composed.notes) - self._noted):  # once a session
            self._noted.add(note)
            sink.stderr(note + "\n")
        if cmd.wasm:
            return self._run_in_page(code, composed, cmd, sink, opts, where)
        spans.mark("composed")
        request = self.request(cmd, opts)
        try:
            built, composed = self._build(composed, cmd, request.env, opts.cwd, sink)
        except GorunError as e:
            return Outcome.failed(e)  # go's own errors (a flag it does not know) included
        spans.mark("built")
        background = request.background is not None
        program = self.program_for(built, composed, cmd, label, background)
        outcome = self.jobs.run(self.runner, program, request, sink, f"cell {label}")
        return _joined(self.session, outcome, composed, background)

    def compose_cell(
        self, code: str, cmd: Command, opts: RunOptions, where: Where, label: str
    ) -> Composed:
        with abortable(self.control):  # pure: an interrupt may abandon it at any point
            return compose.compose_cell(
                code,
                where.first_line,
                label,
                self.session,
                self.stdlib,
                owner=where.cell_id,
                exports=cmd.export_vars,
                shown_only=not opts.channels and not cmd.wasm,
            )

    def notes_unshown(self, composed: Composed) -> bool:
        """Whether composing the cell brought notes not yet shown in this session."""
        return bool(set(composed.notes) - self._noted)

    def program_for(
        self, built: Built, composed: Composed, cmd: Command, label: str, background: bool
    ) -> Program:
        show = composed.show and not background  # a background program has no value
        snippet = composed.plan is not None  # its main says when it began: _joined
        program = Program(built, cmd.positional, composed.table, show, snippet, label)
        std = self.stdlib()
        program.display = may_display(composed.files, lambda p: std.name_of(p) is not None)
        return program

    def _run_in_page(
        self,
        code: str,
        composed: Composed,
        cmd: Command,
        sink: OutputSink,
        opts: RunOptions,
        where: Where,
    ) -> Outcome:
        """A --wasm cell: built for js/wasm and shown as a display that runs it (run/wasm.py)."""
        wasm.check_cell(code, where.first_line)
        cmd = wasm.for_page(cmd)
        env = wasm.target_env(self.request(cmd, opts).env)
        try:
            built, composed = self._build(composed, cmd, env, opts.cwd, sink)
        except BuildError as e:
            return Outcome.failed(wasm.with_hint(e))
        page_env = {k: v for k, v in cmd.env.items() if k not in wasm.TARGET}
        outcome = in_page.ship(built, self.toolchain.goroot, cmd.positional, page_env, sink)
        return _joined(self.session, outcome, composed, cmd.background)

    def _run_tests(
        self,
        code: str,
        tcmd: TestCommand,
        sink: OutputSink,
        opts: RunOptions,
        first_line: int,
        label: str | None,
    ) -> Outcome:
        label = label or f"[{self.session.cells + 1}]"
        with abortable(self.control):  # pure: an interrupt may abandon it at any point
            composed = compose.compose_tests(code, first_line, label, self.session, self.stdlib)
        request = self.request(tcmd.cmd, opts)
        try:
            built, composed = self._build(
                composed, tcmd.cmd, request.env, opts.cwd, sink, test=True
            )
        except GorunError as e:
            return Outcome.failed(e)
        return self.tests.run(built, composed, tcmd, request, sink)

    def _build(
        self,
        composed: Composed,
        cmd: Command,
        env: dict[str, str],
        cwd: str,
        sink: OutputSink,
        test: bool = False,
    ) -> tuple[Built, Composed]:
        """The cell's program (or test binary); a test cell's declarations join the session."""
        flags, build_env, _, gowork = self.build_inputs(cmd, env, cwd, test)
        started = time.monotonic()
        built, composed = self.cells.build(
            composed, flags, build_env, cwd, gowork, sink, run_vet=cmd.vet,
            building=self.runner.end_ahead,  # a head start is not this build's program
        )  # fmt: skip
        built.seconds = time.monotonic() - started
        if composed.plan is not None:
            self.session.cells += 1
            if test:  # (a snippet's join after its run: _joined)
                self.session.commit(composed.plan)
        return built, composed

    @staticmethod
    def build_inputs(
        cmd: Command, env: dict[str, str], cwd: str, test: bool = False
    ) -> tuple[list[str], dict[str, str], str, str | None]:
        """(flags, environment, directory, GOWORK) of a cell's build.

        The scratch module is never part of the user's workspace. -mod=mod
        lets go add a missing module to the session's go.mod when a cell
        first imports it, and only then; the user's own -mod wins."""
        flags = ["-c"] if test else []
        flags = build.with_run_defaults([*flags, "-mod=mod", *_absolute(cmd.build_flags, cwd)])
        return flags, {**env, "GOWORK": "off"}, cwd, env.get("GOWORK")

    def _run_package(self, cmd: Command, sink: OutputSink, opts: RunOptions) -> Outcome:
        request = self.request(cmd, opts)
        cross = self.runner.cross_target(request.env) is not None
        ref = packages.resolve(cmd, opts.cwd, request.env, self.scratch.path, self.toolchain, cross)
        request = replace(request, cwd=ref.run_dir)
        started = time.monotonic()
        try:
            built = self.builder.build(ref.job, sink)
            built.seconds = time.monotonic() - started
        finally:
            if ref.job.install_dir is not None:
                shutil.rmtree(ref.job.install_dir.parent, ignore_errors=True)
        what = " ".join(ref.job.packages)
        return self.jobs.run(self.runner, Program(built, ref.args), request, sink, what)


def _joined(session: Session, outcome: Outcome, composed: Composed, background: bool) -> Outcome:
    """A snippet's declarations join the session after its run, once its program
    got past initialization (main began, as it said: golib/started), however its
    statements then ended; never when an initializer or an init panicked, exited
    or was stopped: a failed cell leaves the session as it was, as a failed build
    does. A run that succeeded (or built nothing to run, -n) counts too, and a
    background one (it may still be initializing).

    A cell of declarations only that ran: its status says what it declared
    (`declared: sq, Point`), not `exit status 0`: no statement of the cell ran."""
    plan = composed.plan
    if plan is None:
        return outcome
    if outcome.started or outcome.ok or background:
        session.commit(plan)
    declared = plan.declared()
    if declared is not None and outcome.ok and not background:
        outcome.status = declared
    return outcome


def _shell(
    command: str,
    cwd: str,
    env: Mapping[str, str],
    control: Control,
    sink: OutputSink,
    interactive: bool,
    memory: memlimit.MemoryLimit | None,
) -> Outcome:
    """One `!command`, run by /bin/sh; its Outcome shows no status line.

    Like a program, nothing it starts outlives it, unless the text itself asks
    for that with `nohup` or `setsid`: then what it starts is left running.
    With interactive, a command reading its stdin (`read x`) is asked for input
    as programs are.
    """
    leave = _LEAVE_RUNNING.search(command) is not None
    spec = ProcessSpec(
        ["/bin/sh", "-c", command],
        cwd,
        env,
        supervise=not leave,
        leave_behind=leave,
        interactive=interactive,
        memory=memory,
    )
    res = run_process(spec, control, sink)
    outcome = Outcome.of(res, memory=memory)
    outcome.ran = False
    return outcome


@dataclass(frozen=True)
class Forgotten:
    """What a %reset forgot: names as %list shows them, values kept by golib/cache."""

    declarations: int
    imports: int
    values: int
    go_mod: bool  # the session's go.mod and go.sum went back to their start

    @classmethod
    def of(cls, rows: list[tuple[str, str, str]], values: Path, go_mod: bool) -> Forgotten:
        """From the session's listing (%list's rows) and golib/cache's directory."""
        imports = sum(1 for _, kind, _ in rows if kind == "import")
        return cls(len(rows) - imports, imports, len(list(values.glob("*.gob"))), go_mod)


def _absolute(flags: list[str], cwd: str) -> list[str]:
    """File-naming flags made absolute: a cell builds elsewhere, but its files are the user's."""
    out = []
    for f in flags:
        prefix = next((p for p in _FILE_FLAGS if f.startswith(p)), None)
        value = f[len(prefix) :] if prefix else ""
        if prefix and value not in ("", "auto", "off") and not os.path.isabs(value):
            f = prefix + os.path.join(cwd, value)
        out.append(f)
    return out
