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
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from . import build, localmods, txtar
from .build import Builder, BuildJob, Built
from .cmdline import Command
from .diagnostics import LineTable, Origin, TraceMapper
from .errors import BuildError, CellError, GorunError, Interrupted, UsageError
from .execache import ExeCache
from .outcome import Outcome, RunOptions
from .parse import Cell, parse_cell
from .process import Control, OutputSink, run_process, sigint_interrupts
from .scratch import RUNNING_NAME, ScratchModule, go_mod_text
from .snippets import Plan, Program, Session
from .stdlib import StdIndex
from .toolchain import Toolchain, find_toolchain

DEFAULT_OUTPUT_LIMIT = 4 << 20  # bytes of output shown per cell; the rest is counted
_SEMVER = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
_UNUSED_IMPORT = re.compile(r'"([^"]+)" imported (?:as \S+ )?and not used')
TXTAR_DIR = "txtar"  # where a multi-file cell is written, inside the scratch module
# Flags naming files: relative to the notebook's directory, as they would be for go run.
_FILE_FLAGS = ("-overlay=", "-modfile=", "-pgo=")


def _output_limit() -> int:
    text = os.environ.get("GORUN_OUTPUT_LIMIT", "")
    if text and not text.isdigit():
        raise GorunError(f"GORUN_OUTPUT_LIMIT={text} is not a number of bytes")
    return int(text) if text else DEFAULT_OUTPUT_LIMIT


class Engine:
    """One session: a toolchain, a scratch module, its declarations, and the runs made in it."""

    def __init__(self, toolchain: Toolchain | None = None, cache: ExeCache | None = None) -> None:
        self.output_limit = _output_limit()
        self.toolchain = toolchain or find_toolchain()
        cache = cache or ExeCache()
        self.scratch = ScratchModule(self.toolchain)
        self.control = Control(record=self.scratch.path / RUNNING_NAME)
        self.builder = Builder(self.toolchain, cache, self.control)
        self.session = Session()
        self._busy = threading.Lock()  # held while a cell builds or runs
        self._stdlib: StdIndex | None = None
        # Composed program digest -> (show value, imports to drop) that built,
        # so a re-run skips the retries and finds its binary in the cache.
        self._retries: dict[str, tuple[bool, frozenset[str]]] = {}
        # Modules around the notebook that the scratch module requires and replaces.
        self._local: dict[str, localmods.LocalModule] = {}

    # -- session -----------------------------------------------------------

    def close(self) -> None:
        """End the session: stop what runs (from another thread, say), remove the scratch module."""
        self.control.kill()
        # A run in another thread ends as soon as its process is gone; wait for
        # it, so the scratch module is not removed under a build.
        got = self._busy.acquire(timeout=5)
        try:
            self.scratch.close()
        finally:
            if got:
                self.control.close()
                self._busy.release()

    def stdlib(self) -> StdIndex:
        if self._stdlib is None:
            self._stdlib = StdIndex.for_goroot(self.toolchain.goroot, self.toolchain.version)
        return self._stdlib

    def declarations(self) -> list[tuple[str, str, str]]:
        """(name, kind, cell) of everything snippets declared or imported."""
        return self.session.listing()

    def remove(self, *names: str) -> list[str]:
        """Forget declarations or imports by name; returns the names that were not there."""
        return [n for n in names if not self.session.remove(n)]

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
        UsageError for a bad command line; any other failure is in the Outcome.
        """
        return self._guarded(lambda: self._run_cell(code, cmd, sink, opts, first_line, label))

    def run_package(self, cmd: Command, sink: OutputSink, opts: RunOptions) -> Outcome:
        """`go run`'s package forms: .go files, a directory, an import path, pkg@version."""
        return self._guarded(lambda: self._run_package(cmd, sink, opts))

    def run_shell(
        self, command: str, sink: OutputSink, cwd: str, env: Mapping[str, str]
    ) -> Outcome:
        """`!command` in the kernel: the user's own text, run by /bin/sh in cwd.

        The one place a shell is used. No status line when it works."""

        def work() -> Outcome:
            res = run_process(
                ["/bin/sh", "-c", command],
                cwd=cwd,
                env=self.toolchain.command_env({**os.environ, **env}),
                control=self.control,
                sink=sink,
            )
            outcome = Outcome.of(res)
            outcome.ran = False
            return outcome

        return self._guarded(work)

    def go_doc(self, args: list[str]) -> str | None:
        """What `go doc ARGS` prints (for inspection, when the user asks), or None."""
        with self._busy:
            self.control.reset()
            env = {**self.toolchain.command_env(os.environ), "GOWORK": "off"}
            try:
                code, output = self.builder.go(["doc", *args], str(self.scratch.path), env)
            except GorunError:
                return None
        return output if code == 0 and output.strip() else None

    def _guarded(self, work: Callable[[], Outcome]) -> Outcome:
        with self._busy:
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
                return Outcome.failed(Interrupted("interrupted"))

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
        try:
            code.encode()
        except UnicodeEncodeError as e:
            line = first_line + code.count("\n", 0, e.start)
            raise CellError(f"line {line}: the text is not valid Unicode") from None
        env = self.environment(cmd)
        gowork = env.get("GOWORK")  # the user's, before ours replaces it
        env["GOWORK"] = "off"  # the scratch module is never part of the user's workspace
        # -mod=mod lets go add a missing module to the session's go.mod when a
        # cell first imports it, and only then; the user's own -mod wins.
        flags = build.with_run_defaults(["-mod=mod", *_absolute(cmd.build_flags, opts.cwd)])
        if txtar.is_txtar(code):
            files, table = txtar.split(code, first_line)
            return self._run_files(files, table, TXTAR_DIR, cmd, flags, env, sink, opts)
        cell = parse_cell(code)
        if cell.package is None and not cell.items:
            return Outcome(status="nothing to run", error=None, ran=False)  # only comments
        # A cell that fails to build leaves the session as it was, go.mod included.
        saved = (
            self.scratch.go_mod.read_text(),
            self.scratch.go_sum.read_text(),
            dict(self._local),
        )
        imports = [p for item in cell.items if item.kind == "import" for _, p, _ in item.imports]
        self._use_local_modules(imports, opts.cwd, gowork, env)
        if cell.package is not None:
            table: LineTable = {
                "main.go": [Origin(first_line + i, t) for i, t in enumerate(code.split("\n"))]
            }
            outcome = self._run_files({"main.go": code}, table, "", cmd, flags, env, sink, opts)
        else:
            outcome = self._run_snippet(cell, code, cmd, flags, env, sink, opts, first_line, label)
        if isinstance(outcome.error, BuildError):
            self.scratch.go_mod.write_text(saved[0])
            self.scratch.go_sum.write_text(saved[1])
            self._local = saved[2]
        return outcome

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
            built = self.builder.build(self._files_job(files, table, subdir, flags, env))
        except GorunError as e:
            return Outcome.failed(e)
        if subdir and not own_mod and not built.cached:
            # Modules a txtar cell fetched belong to the session, as for any cell.
            root = self.scratch.path / subdir
            self.scratch.go_mod.write_text((root / "go.mod").read_text())
            self.scratch.go_sum.write_text((root / "go.sum").read_text())
        traces = TraceMapper(sink, table)
        try:
            return self._run(built, cmd, traces, opts, cmd.positional, env)
        finally:
            traces.finish()

    def _files_job(
        self,
        files: dict[str, str],
        table: LineTable,
        subdir: str,
        flags: list[str],
        env: dict[str, str],
    ) -> BuildJob:
        root = self.scratch.path / subdir
        own_mod = "go.mod" in files

        # The library next to the notebook, as it is now: walked once per build,
        # though the key is computed before and after it.
        local = None
        if self._local and not own_mod:
            local = localmods.fingerprint([m.dir for m in self._local.values()])

        def key_parts() -> dict[str, object]:
            parts: dict[str, object] = {"kind": "cell", "files": files, "flags": flags}
            if not own_mod:
                parts["go.mod"] = self.scratch.go_mod.read_text()
                parts["go.sum"] = self.scratch.go_sum.read_text()
                parts["local"] = local
            return parts

        def prepare() -> None:
            self.scratch.clear_sources()
            try:
                if subdir and not own_mod:
                    for name in ("go.mod", "go.sum"):
                        text = (self.scratch.path / name).read_text()
                        self.scratch.write(f"{subdir}/{name}", text)
                for path, text in files.items():
                    self.scratch.write(f"{subdir}/{path}" if subdir else path, text)
            except OSError as e:
                raise CellError(
                    f"cannot write the cell's file {e.filename}: {e.strerror}"
                ) from None

        return BuildJob(
            command="build",
            flags=flags,
            packages=["."],
            cwd=str(root),
            env=env,
            key_parts=key_parts if build.is_cacheable(flags) else None,
            prepare=prepare,
            table=table,
            roots=[str(root), os.path.realpath(root)],
        )

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
        built, show, table = self._build_snippet(plan, flags, env)
        if isinstance(built, Outcome):
            return built
        self.session.commit(plan)  # the cell built: its declarations join the session
        self.session.cells += 1
        value_file = self.scratch.path / ".gorun-value"
        value_file.unlink(missing_ok=True)
        traces = TraceMapper(sink, table)
        try:
            outcome = self._run(
                built, cmd, traces, opts, cmd.positional, env,
                extra_env={"GORUN_VALUE_FILE": str(value_file)} if show else None,
            )  # fmt: skip
        finally:
            traces.finish()
        if show and value_file.exists():
            outcome.value = value_file.read_text(errors="replace")
            value_file.unlink()
        return outcome

    def _build_snippet(
        self, plan: Plan, flags: list[str], env: dict[str, str]
    ) -> tuple[Built | Outcome, bool, LineTable]:
        """Build a snippet's program, learning what only the compiler knows on the way:
        a final call with no result cannot be shown (run it as a statement), and
        an import whose package name we guessed wrong is "not used" (drop it)."""
        std = self.stdlib()
        show = plan.final is not None
        drop: frozenset[str] = frozenset()
        program: Program = self.session.compose(plan, std, show, drop)
        digest = hashlib.sha256(json.dumps(program.files, sort_keys=True).encode()).hexdigest()
        if digest in self._retries:
            show, drop = self._retries[digest]
            program = self.session.compose(plan, std, show, drop)
        while True:
            try:
                built = self.builder.build(
                    self._files_job(program.files, program.table, "", flags, env)
                )
                break
            except BuildError as e:
                if show and "(no value) used as value" in e.go_output:
                    show = False
                else:
                    unused = set(_UNUSED_IMPORT.findall(e.go_output)) - drop
                    if not unused or not unused <= {i.path for i in plan.imports.values()}:
                        return Outcome.failed(e), show, program.table
                    drop = drop | unused
                program = self.session.compose(plan, std, show, drop)
        if (show, drop) != (plan.final is not None, frozenset()):
            self._retries[digest] = (show, drop)
        return built, show, program.table

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
            code, output = self.builder.go(["mod", "edit", *edits], str(self.scratch.path), env)
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
            job = self._versioned_job(pkg, flags, env)
            try:
                built = self.builder.build(job)
            finally:
                assert job.install_dir is not None
                shutil.rmtree(job.install_dir.parent, ignore_errors=True)
            return self._run(built, cmd, sink, opts, args, env)
        # A local package: built in the context of the module around run_dir,
        # as go run would. Its sources are the user's, which the cache key
        # cannot see cheaply, so go (with its own build cache) decides.
        job = BuildJob(
            command="build",
            flags=flags,
            packages=packages,
            cwd=run_dir,
            env=env,
            roots=[run_dir, os.path.realpath(run_dir)],
            what=" ".join(packages),
        )
        return self._run(self.builder.build(job), cmd, sink, opts, args, env)

    def _versioned_job(self, pkg: str, flags: list[str], env: dict[str, str]) -> BuildJob:
        """`pkg@version`: `go install` into a private directory, outside any module."""
        top = Path(tempfile.mkdtemp(prefix=".gorun-install-", dir=self.scratch.path))
        env = dict(env, GOWORK="off")
        env.pop("GOBIN", None)
        if self._cross_target(env) is None:
            env["GOBIN"] = str(top / "bin")
        else:
            # go install refuses GOBIN when cross-compiling; it installs into
            # GOPATH/bin/GOOS_GOARCH instead, so GOPATH is ours for this command.
            env["GOMODCACHE"] = self.toolchain.goenv.get("GOMODCACHE", "")
            env["GOPATH"] = str(top)
        version = pkg.rsplit("@", 1)[1]
        cacheable = bool(_SEMVER.match(version)) and build.is_cacheable(flags)
        return BuildJob(
            command="install",
            flags=flags,
            packages=[pkg],
            cwd=str(self.scratch.path),
            env=env,
            key_parts=(lambda: {"kind": "install", "pkg": pkg, "flags": flags})
            if cacheable
            else None,
            install_dir=top / "bin",
            what=pkg,
        )

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
        """-exec xprog, or go_$GOOS_$GOARCH_exec when cross-compiling, as go run does.

        Without either, the binary runs directly (amd64 runs 386, as with go run).
        """
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
        return [found] if found else []

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
        if built.log:
            sink.stderr(built.log + "\n")
        if built.exe is None:
            return Outcome(status="built nothing to run (-n)", error=None, ran=False)
        prefix = self._exec_prefix(cmd, env)
        try:
            res = run_process(
                [*prefix, str(built.exe), *args],
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
            target = self._cross_target(env)
            if target is not None and not prefix:
                e = GorunError(
                    f"{e.message}: a GOOS={target[0]} GOARCH={target[1]} program does not run "
                    f"on this machine; put go_{target[0]}_{target[1]}_exec on PATH or give -exec"
                )
            return Outcome.failed(e)
        finally:
            if built.temporary:
                self.builder.cache.discard(built.exe.parent)
        if res.dropped:
            sink.stderr(
                f"\n[gorun: {res.dropped:,} bytes of output not shown: over the limit of "
                f"{self.output_limit:,} bytes per cell]\n"
            )
        outcome = Outcome.of(res, cmd.timeout)
        outcome.cached = built.cached
        if opts.capture:
            outcome.stdout = res.stdout.decode("utf-8", errors="replace")
            outcome.stderr = res.stderr.decode("utf-8", errors="replace")
        return outcome


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
