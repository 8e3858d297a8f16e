"""The engine: from a cell (or a package reference) to a finished run.

    command line -> compose sources -> build (executable cache) -> run -> Outcome

It knows nothing about IPython or ipykernel. Output and input requests go to
an `OutputSink` as they happen; what happened comes back as an `Outcome`,
whose `error` is the failure as an exception for the front-end to raise or
render. A front-end is a sink plus the few lines that turn an Outcome into
notebook output.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import build, compose
from .build import Builder, BuildJob
from .cmdline import Command
from .errors import (
    ExitError,
    GorunError,
    Interrupted,
    RunTimeout,
    SignalError,
    UsageError,
)
from .execache import ExeCache
from .process import Control, OutputSink, run_process, sigint_interrupts
from .scratch import ScratchModule
from .toolchain import Toolchain, find_toolchain

DEFAULT_OUTPUT_LIMIT = 4 << 20  # bytes of output shown per cell; the rest is counted
_SEMVER = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


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
class Outcome:
    """What happened to one cell."""

    status: str  # in Go's words: "exit status 0", "signal: killed", "timed out after 1s"
    error: GorunError | None  # the failure, or None when the program succeeded
    returncode: int | None = None  # None when the program did not run
    stdout: str | None = None  # captured text, when asked for
    stderr: str | None = None
    cached: bool = False  # the binary came from the executable cache (no go command)
    dropped: int = 0  # bytes of output over the limit, not shown

    @property
    def ok(self) -> bool:
        return self.error is None


class Engine:
    """One session: a toolchain, a scratch module, and the runs made in it."""

    def __init__(self, toolchain: Toolchain | None = None, cache: ExeCache | None = None) -> None:
        self.toolchain = toolchain or find_toolchain()
        self.scratch = ScratchModule(self.toolchain)
        self.control = Control()
        self.builder = Builder(self.toolchain, cache or ExeCache(), self.control)
        limit = os.environ.get("GORUN_OUTPUT_LIMIT")
        self.output_limit: int | None = int(limit) if limit else DEFAULT_OUTPUT_LIMIT

    # -- session -----------------------------------------------------------

    def close(self) -> None:
        self.control.interrupt()
        self.scratch.close()

    def interrupt(self) -> None:
        """Stop the build or run in progress; safe from any thread or signal handler."""
        self.control.interrupt()

    def environment(self, cmd: Command) -> dict[str, str]:
        """The environment for go and for the program: the user's, ours, then --env."""
        env = self.toolchain.command_env(os.environ)
        env.update(cmd.env)
        return env

    # -- cells ---------------------------------------------------------------

    def run_cell(self, *args: Any, **kwargs: Any) -> Outcome:
        """Build the cell in the scratch module and run it; see _run_cell."""
        return self._interruptible(self._run_cell, *args, **kwargs)

    def run_package(self, *args: Any, **kwargs: Any) -> Outcome:
        """`go run`'s package forms; see _run_package."""
        return self._interruptible(self._run_package, *args, **kwargs)

    def _interruptible(self, work: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Outcome:
        self.control.reset()
        try:
            with sigint_interrupts(self.control):
                return work(*args, **kwargs)
        except KeyboardInterrupt:
            # Raised outside a running process (off the main thread, or while
            # asking for input): nothing of the cell's is left running.
            return Outcome(status="interrupted", error=Interrupted("interrupted"))

    def _run_cell(
        self,
        code: str,
        cmd: Command,
        sink: OutputSink,
        *,
        cwd: str,
        first_line: int = 1,
        stdin: bytes | None = None,
        interactive: bool = False,
        capture: bool = False,
    ) -> Outcome:
        """Build the cell in the scratch module and run it with cmd.positional as arguments."""
        if cmd.chdir is not None:
            raise UsageError("-C dir is for %gorun package runs; a cell is built in the session")
        program = compose.program_cell(code, first_line)
        env = self.environment(cmd)
        env["GOWORK"] = "off"  # the scratch module is never part of the user's workspace
        # -mod=mod lets go add a missing module to the scratch go.mod when a
        # cell first imports it, and only then; the user's own -mod wins.
        flags = build.with_run_defaults(["-mod=mod", *cmd.build_flags])
        root = self.scratch.path

        def key_parts() -> dict[str, object]:
            return {
                "kind": "cell",
                "files": program.files,
                "go.mod": self.scratch.go_mod.read_text(),
                "go.sum": self.scratch.go_sum.read_text(),
                "flags": flags,
            }

        job = BuildJob(
            args=["build", *flags, "."],
            cwd=str(root),
            env=env,
            key_parts=key_parts if build.is_cacheable(flags) else None,
            table=program.table,
            roots=[str(root), os.path.realpath(root)],
        )

        def prepare() -> None:
            self.scratch.clear_sources()
            for path, text in program.files.items():
                self.scratch.write(path, text)

        return self._build_and_run(
            job, cmd, sink, cwd=cwd, prepare=prepare, args=cmd.positional,
            stdin=stdin, interactive=interactive, capture=capture,
        )  # fmt: skip

    def _run_package(
        self,
        cmd: Command,
        sink: OutputSink,
        *,
        cwd: str,
        stdin: bytes | None = None,
        interactive: bool = False,
        capture: bool = False,
    ) -> Outcome:
        """`go run`'s package forms: files, a directory, an import path, pkg@version."""
        packages, args = cmd.package_and_args()
        if not packages:
            raise UsageError(
                "%gorun needs a package: a directory (./cmd/tool), .go files, an import "
                "path, or pkg@version"
            )
        run_dir = os.path.normpath(os.path.join(cwd, cmd.chdir)) if cmd.chdir else cwd
        if not os.path.isdir(run_dir):
            raise UsageError(f"-C {cmd.chdir}: no such directory")
        env = self.environment(cmd)
        flags = build.with_run_defaults(cmd.build_flags)
        pkg = packages[0]
        if "@" in pkg and not pkg.endswith(".go"):
            job, install_dir = self._versioned_job(pkg, flags, env)
            try:
                return self._build_and_run(
                    job, cmd, sink, cwd=run_dir, args=args, install_dir=install_dir,
                    stdin=stdin, interactive=interactive, capture=capture,
                )  # fmt: skip
            finally:
                shutil.rmtree(install_dir.parent, ignore_errors=True)
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
        return self._build_and_run(
            job, cmd, sink, cwd=run_dir, args=args,
            stdin=stdin, interactive=interactive, capture=capture,
        )  # fmt: skip

    def _versioned_job(
        self, pkg: str, flags: list[str], env: dict[str, str]
    ) -> tuple[BuildJob, Path]:
        """`pkg@version`: `go install` into a private directory, outside any module."""
        top = Path(tempfile.mkdtemp(prefix=".install-", dir=self.scratch.path))
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

    def _build_and_run(
        self,
        job: BuildJob,
        cmd: Command,
        sink: OutputSink,
        *,
        cwd: str,
        args: list[str],
        stdin: bytes | None,
        interactive: bool,
        capture: bool,
        prepare: Callable[[], None] | None = None,
        install_dir: Path | None = None,
    ) -> Outcome:
        exec_prefix = self._exec_prefix(cmd, job.env)  # fail before building
        try:
            built = self.builder.build(job, install_dir=install_dir, prepare=prepare)
        except GorunError as e:
            return Outcome(status=e.message, error=e)
        try:
            if built.log:
                sink.stderr(built.log + "\n")
            res = run_process(
                [*exec_prefix, str(built.exe), *args],
                cwd=cwd,
                env=self.environment(cmd),
                control=self.control,
                sink=sink,
                stdin=stdin,
                interactive=interactive and stdin is None,
                timeout=cmd.timeout,
                capture=capture,
                output_limit=self.output_limit,
            )
        finally:
            if built.temporary:
                self.builder.cache.discard(built.exe)
        if res.dropped:
            sink.stderr(
                f"\n[gorun: {res.dropped:,} bytes of output not shown: over the limit of "
                f"{self.output_limit:,} bytes per cell]\n"
            )
        outcome = Outcome(
            status="",
            error=None,
            returncode=res.returncode,
            cached=built.cached,
            dropped=res.dropped,
        )
        if capture:
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
