"""The engine: from a cell (or a package reference) to a finished run.

    command line -> compose sources -> build (executable cache) -> run -> Outcome

It knows nothing about IPython or ipykernel. Output and input requests go to
an `OutputSink` as they happen; what happened comes back as an `Outcome`,
whose `error` is the failure as an exception for the front-end to raise or
render. A front-end is a sink plus the few lines that turn an Outcome into
notebook output.

Cell forms (see parse, snippets, txtar): a whole `package main` program is
built as it is; a multi-file txtar cell is written out file by file; anything
else is a snippet, composed with the session's declarations.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import build, localmods, txtar
from .build import Builder, BuildJob, Built
from .cmdline import Command
from .diagnostics import LineTable, Origin
from .errors import (
    BuildError,
    CellError,
    ExitError,
    GorunError,
    Interrupted,
    RunTimeout,
    SignalError,
    UsageError,
)
from .execache import ExeCache
from .parse import Cell, parse_cell
from .process import Control, OutputSink, run_process, sigint_interrupts
from .scratch import ScratchModule, go_mod_text
from .snippets import Session
from .stdlib import StdIndex
from .toolchain import Toolchain, find_toolchain

DEFAULT_OUTPUT_LIMIT = 4 << 20  # bytes of output shown per cell; the rest is counted
_SEMVER = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
_UNUSED_IMPORT = re.compile(r'"([^"]+)" imported (?:as \S+ )?and not used')
TXTAR_DIR = "txtar"  # where a multi-file cell is written, inside the scratch module


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


@dataclass
class RunOptions:
    """How the program runs, as the front-end decides it."""

    cwd: str  # the notebook's directory
    stdin: bytes | None = None  # fixed input (then end of input)
    interactive: bool = False  # ask the sink for input when the program waits for it
    capture: bool = False  # keep stdout/stderr text in the Outcome


@dataclass
class Outcome:
    """What happened to one cell."""

    status: str  # in Go's words: "exit status 0", "signal: killed", "timed out after 1s"
    error: GorunError | None  # the failure, or None when the program succeeded
    returncode: int | None = None  # None when the program did not run
    stdout: str | None = None  # captured text, when asked for
    stderr: str | None = None
    value: str | None = None  # the final expression's value, formatted by Go
    cached: bool = False  # the binary came from the executable cache (no go command)
    dropped: int = 0  # bytes of output over the limit, not shown
    ran: bool = True  # False when there was nothing to build or run

    @property
    def ok(self) -> bool:
        return self.error is None


class Engine:
    """One session: a toolchain, a scratch module, its declarations, and the runs made in it."""

    def __init__(self, toolchain: Toolchain | None = None, cache: ExeCache | None = None) -> None:
        self.toolchain = toolchain or find_toolchain()
        self.scratch = ScratchModule(self.toolchain)
        self.control = Control()
        self.builder = Builder(self.toolchain, cache or ExeCache(), self.control)
        self.session = Session()
        self._busy = threading.Lock()  # held while a cell builds or runs
        self._stdlib: StdIndex | None = None
        # Composed program digest -> (show value, imports to drop) that built,
        # so a re-run skips the retries and finds its binary in the cache.
        self._retries: dict[str, tuple[bool, frozenset[str]]] = {}
        # Modules around the notebook that the scratch module requires and replaces.
        self._local: dict[str, localmods.LocalModule] = {}
        limit = os.environ.get("GORUN_OUTPUT_LIMIT")
        self.output_limit: int | None = int(limit) if limit else DEFAULT_OUTPUT_LIMIT

    # -- session -----------------------------------------------------------

    def close(self) -> None:
        """End the session: stop what runs (from another thread, say), remove the scratch module."""
        self.control.kill()
        # A run in another thread ends within a second of the interrupt; wait
        # for it, so the scratch module is not removed under a build.
        got = self._busy.acquire(timeout=5)
        try:
            self.scratch.close()
        finally:
            if got:
                self._busy.release()

    def interrupt(self) -> None:
        """Stop the build or run in progress; safe from any thread or signal handler."""
        self.control.interrupt()

    def stdlib(self) -> StdIndex:
        if self._stdlib is None:
            self._stdlib = StdIndex.for_goroot(self.toolchain.goroot, self.toolchain.version)
        return self._stdlib

    def declarations(self) -> list[tuple[str, str, str]]:
        """(name, kind, cell) of everything snippets declared or imported."""
        return self.session.listing()

    def remove(self, name: str) -> bool:
        return self.session.remove(name)

    def reset(self, go_mod: bool = False) -> None:
        """Forget all declarations; with go_mod, also the modules the session fetched."""
        self.session.reset()
        self._retries.clear()
        if go_mod:
            self.scratch.go_mod.write_text(go_mod_text(self.toolchain))
            self.scratch.go_sum.write_text("")
            self._local.clear()

    def environment(self, cmd: Command) -> dict[str, str]:
        """The environment for go and for the program: the user's, ours, then --env."""
        env = self.toolchain.command_env(os.environ)
        env.update(cmd.env)
        return env

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
    ) -> Outcome:
        """Build and run a cell, with cmd.positional as the program's arguments.

        first_line: the notebook's line number of the code's first line (2 under
        a %%gorun line). label: how errors name this cell later ("[3]").
        """
        return self._interruptible(lambda: self._run_cell(code, cmd, sink, opts, first_line, label))

    def run_package(self, cmd: Command, sink: OutputSink, opts: RunOptions) -> Outcome:
        """`go run`'s package forms: .go files, a directory, an import path, pkg@version."""
        return self._interruptible(lambda: self._run_package(cmd, sink, opts))

    def _interruptible(self, work: Callable[[], Outcome]) -> Outcome:
        with self._busy:
            return self._interruptible_locked(work)

    def _interruptible_locked(self, work: Callable[[], Outcome]) -> Outcome:
        self.control.reset()
        try:
            with sigint_interrupts(self.control):
                return work()
        except KeyboardInterrupt:
            # Raised outside a running process (off the main thread, or while
            # asking for input): nothing of the cell's is left running.
            return Outcome(status="interrupted", error=Interrupted("interrupted"))

    # -- cells ---------------------------------------------------------------

    def _run_cell(
        self,
        code: str,
        cmd: Command,
        sink: OutputSink,
        opts: RunOptions,
        first_line: int,
        label: str | None,
    ) -> Outcome:
        if cmd.chdir is not None:
            raise UsageError("-C dir is for %gorun package runs; a cell is built in the session")
        if not code.strip():
            raise CellError("the cell is empty: write Go in it (a snippet or a package main)")
        env = self.environment(cmd)
        env["GOWORK"] = "off"  # the scratch module is never part of the user's workspace
        # -mod=mod lets go add a missing module to the session's go.mod when a
        # cell first imports it, and only then; the user's own -mod wins.
        flags = build.with_run_defaults(["-mod=mod", *cmd.build_flags])
        if txtar.is_txtar(code):
            files, table = txtar.split(code, first_line)
            return self._run_files(files, table, TXTAR_DIR, cmd, flags, env, sink, opts)
        cell = parse_cell(code)
        # The user's GOWORK, before ours (off) replaces it in env.
        gowork = os.environ.get("GOWORK", cmd.env.get("GOWORK"))
        imports = [p for item in cell.items if item.kind == "import" for _, p in item.imports]
        self._use_local_modules(imports, opts.cwd, gowork, env)
        if cell.package is not None:
            table: LineTable = {
                "main.go": [Origin(first_line + i, t) for i, t in enumerate(code.split("\n"))]
            }
            return self._run_files({"main.go": code}, table, "", cmd, flags, env, sink, opts)
        if not cell.items:
            return Outcome(status="nothing to run", error=None, ran=False)
        return self._run_snippet(cell, code, cmd, flags, env, sink, opts, first_line, label)

    def _run_files(
        self,
        files: dict[str, str],
        table: LineTable,
        subdir: str,
        cmd: Command,
        flags: list[str],
        env: dict[str, str],
        sink: OutputSink,
        opts: RunOptions,
    ) -> Outcome:
        """A program cell (subdir "") or a txtar cell (its own directory, maybe its own go.mod)."""
        own_mod = "go.mod" in files
        try:
            built = self.builder.build(*self._files_job(files, table, subdir, flags, env))
        except GorunError as e:
            return Outcome(status=e.message, error=e)
        if subdir and not own_mod and not built.cached:
            # Modules a txtar cell fetched belong to the session, as for any cell.
            root = self.scratch.path / subdir
            self.scratch.go_mod.write_text((root / "go.mod").read_text())
            self.scratch.go_sum.write_text((root / "go.sum").read_text())
        return self._run(built, cmd, sink, opts, cmd.positional, env)

    def _files_job(
        self,
        files: dict[str, str],
        table: LineTable,
        subdir: str,
        flags: list[str],
        env: dict[str, str],
    ) -> tuple[BuildJob, None, Callable[[], None]]:
        root = self.scratch.path / subdir
        own_mod = "go.mod" in files

        def key_parts() -> dict[str, object]:
            parts: dict[str, object] = {"kind": "cell", "files": files, "flags": flags}
            if not own_mod:
                parts["go.mod"] = self.scratch.go_mod.read_text()
                parts["go.sum"] = self.scratch.go_sum.read_text()
                if self._local:  # the library next to the notebook, as it is now
                    parts["local"] = localmods.fingerprint([m.dir for m in self._local.values()])
            return parts

        def prepare() -> None:
            self.scratch.clear_sources()
            if subdir and not own_mod:
                for name in ("go.mod", "go.sum"):
                    self.scratch.write(f"{subdir}/{name}", (self.scratch.path / name).read_text())
            for path, text in files.items():
                self.scratch.write(f"{subdir}/{path}" if subdir else path, text)

        job = BuildJob(
            args=["build", *flags, "."],
            cwd=str(root),
            env=env,
            key_parts=key_parts if build.is_cacheable(flags) else None,
            table=table,
            roots=[str(root), os.path.realpath(root)],
        )
        return job, None, prepare

    def _run_snippet(
        self,
        cell: Cell,
        code: str,
        cmd: Command,
        flags: list[str],
        env: dict[str, str],
        sink: OutputSink,
        opts: RunOptions,
        first_line: int,
        label: str | None,
    ) -> Outcome:
        std = self.stdlib()
        label = label or f"[{self.session.cells + 1}]"
        plan = self.session.plan(cell, code, first_line, label, std)
        show = plan.final is not None
        drop: frozenset[str] = frozenset()
        first = self.session.compose(plan, std, show, drop)
        digest = hashlib.sha256(json.dumps(first.files, sort_keys=True).encode()).hexdigest()
        if digest in self._retries:
            show, drop = self._retries[digest]
        while True:
            program = self.session.compose(plan, std, show, drop)
            try:
                built = self.builder.build(
                    *self._files_job(program.files, program.table, "", flags, env)
                )
                break
            except BuildError as e:
                # Two things only the compiler knows. A final call with no
                # result cannot be shown: run it as a statement. An import
                # whose package name we guessed wrong is "not used": drop it.
                if show and "(no value) used as value" in e.go_output:
                    show = False
                    continue
                unused = set(_UNUSED_IMPORT.findall(e.go_output)) - drop
                if unused and unused <= {i.path for i in plan.imports.values()}:
                    drop = drop | unused
                    continue
                return Outcome(status=e.message, error=e)
            except GorunError as e:
                return Outcome(status=e.message, error=e)
        if (show, drop) != (plan.final is not None, frozenset()):
            self._retries[digest] = (show, drop)
        self.session.commit(plan)  # the cell built: its declarations join the session
        self.session.cells += 1
        value_file = self.scratch.path / ".gorun-value"
        value_file.unlink(missing_ok=True)
        outcome = self._run(
            built, cmd, sink, opts, cmd.positional, env,
            extra_env={"GORUN_VALUE_FILE": str(value_file)} if show else None,
        )  # fmt: skip
        if show and value_file.exists():
            outcome.value = value_file.read_text(errors="replace")
            value_file.unlink()
        return outcome

    def _use_local_modules(
        self, imports: list[str], cwd: str, gowork: str | None, env: dict[str, str]
    ) -> None:
        """Let the scratch module import the module around the notebook, once it is used."""
        std = self.stdlib()
        outside = [p for p in imports if p not in std.by_path and not p.startswith("gorun/")]
        if not outside:
            return
        for module in localmods.around(cwd, gowork):
            if module.path in self._local or not any(module.provides(p) for p in outside):
                continue
            edits = [
                f"-require={module.path}@{module.require_version()}",
                f"-replace={module.path}={module.dir}",
                *(f"-replace={old}={new}" for old, new in module.replaces),
            ]
            code, output, _ = self.builder.go(["mod", "edit", *edits], str(self.scratch.path), env)
            if code != 0:
                raise BuildError(f"cannot use the module {module.path} in {module.dir}",
                                 output.strip().splitlines())  # fmt: skip
            self._local[module.path] = module

    # -- packages ------------------------------------------------------------

    def _run_package(self, cmd: Command, sink: OutputSink, opts: RunOptions) -> Outcome:
        packages, args = cmd.package_and_args()
        if not packages:
            raise UsageError(
                "%gorun needs a package: a directory (./cmd/tool), .go files, an import "
                "path, or pkg@version"
            )
        run_dir = os.path.normpath(os.path.join(opts.cwd, cmd.chdir)) if cmd.chdir else opts.cwd
        if not os.path.isdir(run_dir):
            raise UsageError(f"-C {cmd.chdir}: no such directory")
        opts = RunOptions(run_dir, opts.stdin, opts.interactive, opts.capture)
        env = self.environment(cmd)
        flags = build.with_run_defaults(cmd.build_flags)
        pkg = packages[0]
        if "@" in pkg and not pkg.endswith(".go"):
            job, install_dir = self._versioned_job(pkg, flags, env)
            try:
                built = self.builder.build(job, install_dir)
            except GorunError as e:
                return Outcome(status=e.message, error=e)
            finally:
                shutil.rmtree(install_dir.parent, ignore_errors=True)
            return self._run(built, cmd, sink, opts, args, env)
        # A local package: built in the context of the module around run_dir,
        # as go run would. Its sources are the user's, which the cache key
        # cannot see cheaply, so go (with its own build cache) decides.
        job = BuildJob(
            args=["build", *flags, *packages],
            cwd=run_dir,
            env=env,
            key_parts=None,
            roots=[run_dir, os.path.realpath(run_dir)],
        )
        try:
            built = self.builder.build(job)
        except GorunError as e:
            return Outcome(status=e.message, error=e)
        return self._run(built, cmd, sink, opts, args, env)

    def _versioned_job(
        self, pkg: str, flags: list[str], env: dict[str, str]
    ) -> tuple[BuildJob, Path]:
        """`pkg@version`: `go install` into a private directory, outside any module."""
        top = Path(tempfile.mkdtemp(prefix=".gorun-install-", dir=self.scratch.path))
        bindir = top / "bin"
        env = dict(env, GOWORK="off")
        env.pop("GOBIN", None)
        if self._cross_target(env) is None:
            env["GOBIN"] = str(bindir)
        else:
            # go install refuses GOBIN when cross-compiling; it installs into
            # GOPATH/bin/GOOS_GOARCH instead, so GOPATH is ours for this command.
            env["GOMODCACHE"] = self.toolchain.goenv.get("GOMODCACHE", "")
            env["GOPATH"] = str(top)
        version = pkg.rsplit("@", 1)[1]
        cacheable = bool(_SEMVER.match(version)) and build.is_cacheable(flags)
        job = BuildJob(
            args=["install", *flags, pkg],
            cwd=str(self.scratch.path),
            env=env,
            key_parts=(lambda: {"kind": "install", "pkg": pkg, "flags": flags})
            if cacheable
            else None,
            output_flag=False,
        )
        return job, bindir

    # -- running -------------------------------------------------------------

    def _cross_target(self, env: Mapping[str, str]) -> tuple[str, str] | None:
        """(GOOS, GOARCH) when they differ from the host's, else None."""
        ge = self.toolchain.goenv
        goos = env.get("GOOS") or ge.get("GOOS", "")
        goarch = env.get("GOARCH") or ge.get("GOARCH", "")
        if (goos, goarch) == (ge.get("GOHOSTOS"), ge.get("GOHOSTARCH")):
            return None
        return goos, goarch

    def _exec_prefix(self, cmd: Command, env: Mapping[str, str]) -> list[str]:
        """-exec xprog, or go_$GOOS_$GOARCH_exec when cross-compiling, as go run does."""
        if cmd.exec_cmd:
            return list(cmd.exec_cmd)
        target = self._cross_target(env)
        if target is None:
            return []
        name = f"go_{target[0]}_{target[1]}_exec"
        found = shutil.which(name, path=env.get("PATH"))
        for sub in ("lib/wasm", "misc/wasm"):
            candidate = Path(self.toolchain.goroot, sub, name)
            if not found and candidate.is_file() and os.access(candidate, os.X_OK):
                found = str(candidate)
        if not found:
            raise GorunError(
                f"cannot run a GOOS={target[0]} GOARCH={target[1]} program on this machine: "
                f"put {name} on PATH or give -exec xprog"
            )
        return [found]

    def _run(
        self,
        built: Built,
        cmd: Command,
        sink: OutputSink,
        opts: RunOptions,
        args: list[str],
        env: dict[str, str],
        extra_env: dict[str, str] | None = None,
    ) -> Outcome:
        try:
            exec_prefix = self._exec_prefix(cmd, env)
            if built.log:
                sink.stderr(built.log + "\n")
            res = run_process(
                [*exec_prefix, str(built.exe), *args],
                cwd=opts.cwd,
                env={**self.environment(cmd), **(extra_env or {})},
                control=self.control,
                sink=sink,
                stdin=opts.stdin,
                interactive=opts.interactive and opts.stdin is None,
                timeout=cmd.timeout,
                capture=opts.capture,
                output_limit=self.output_limit,
            )
        except GorunError as e:
            return Outcome(status=e.message, error=e, cached=built.cached)
        finally:
            if built.temporary:
                self.builder.cache.discard(built.exe)
        if res.dropped:
            sink.stderr(
                f"\n[gorun: {res.dropped:,} bytes of output not shown: over the limit of "
                f"{self.output_limit:,} bytes per cell]\n"
            )
        outcome = Outcome(
            status="", error=None, returncode=res.returncode, cached=built.cached,
            dropped=res.dropped,
        )  # fmt: skip
        if opts.capture:
            outcome.stdout = res.stdout.decode("utf-8", errors="replace")
            outcome.stderr = res.stderr.decode("utf-8", errors="replace")
        if res.timed_out:
            outcome.error = RunTimeout(f"timed out after {format_duration(cmd.timeout or 0)}")
        elif res.interrupted:
            outcome.error = Interrupted("interrupted")
        elif res.returncode < 0:
            outcome.error = SignalError(signal_words(-res.returncode), -res.returncode)
        elif res.returncode > 0:
            outcome.error = ExitError(res.returncode)
        outcome.status = outcome.error.message if outcome.error else "exit status 0"
        return outcome
