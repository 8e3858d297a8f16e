"""Building an executable with the go command, through the executable cache."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gorun_kernel import diagnostics
from gorun_kernel.build import execache
from gorun_kernel.build.progress import BuildProgress
from gorun_kernel.build.toolchain import Toolchain
from gorun_kernel.diagnostics import LineTable
from gorun_kernel.errors import BuildError, Interrupted, UsageError
from gorun_kernel.events import OutputSink
from gorun_kernel.proc.control import Control
from gorun_kernel.proc.process import ProcessSpec, run_process

# Environment variables that change the binary go builds (beyond the flags and
# sources): part of the executable cache key.
BUILD_ENV_VARS = (
    "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOARM",
    "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM",
    "GOFIPS140", "GOROOT", "GOWORK", "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOINSECURE",
    "GOTOOLCHAIN", "CC", "CXX", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS",
    "CGO_LDFLAGS", "PKG_CONFIG", "GOENV",
)  # fmt: skip

# Flags whose effect the cache key cannot see (files named by them may change)
# or that ask to watch go work: such builds always run go.
UNCACHEABLE_FLAGS = {"a", "n", "x", "v", "work", "overlay", "modfile", "pgo", "toolexec", "json"}
# Flags that make go describe its own work (commands, packages): shown as go
# prints it, all of it. Without them, what go prints for a build that worked
# (-gcflags=-m, -ldflags=-v, a vet-like note) is shown too, at cell lines,
# without the lines about code we generated or modules being fetched.
CHATTY_FLAGS = {"n", "x", "v", "work", "json"}


def flag_names(flags: list[str]) -> set[str]:
    """Names of the flags that are on (`-v=false` is off)."""
    names = set()
    for f in flags:
        name, _, value = f.lstrip("-").partition("=")
        if value.lower() not in ("false", "0", "f"):
            names.add(name)
    return names


def _last_unpatterned(flags: list[str], name: str) -> int | None:
    """Index of the last -name=value whose value applies to the named packages."""
    found = None
    for i, f in enumerate(flags):
        if f.startswith(f"-{name}="):
            value = f.split("=", 1)[1].lstrip()
            first = value.split(" ", 1)[0]
            if not ("=" in first and not first.startswith("-")):  # not "pattern=flags"
                found = i
    return found


def with_run_defaults(flags: list[str]) -> list[str]:
    """Add what `go run` adds: no debugger information (-s -w, -dwarf=false)."""
    out = list(flags)
    for name, default in (("ldflags", "-s -w"), ("gcflags", "-dwarf=false")):
        i = _last_unpatterned(out, name)
        if i is None:
            out.insert(0, f"-{name}={default}")
        else:
            # The user's flags for the main package win over ours for that
            # package (go keeps the last match), so add ours to theirs.
            out[i] = f"-{name}={default} " + out[i].split("=", 1)[1]
    return out


def is_cacheable(flags: list[str]) -> bool:
    names = flag_names(flags)
    return not (names & UNCACHEABLE_FLAGS or any(n.startswith("debug-") for n in names))


@dataclass
class BuildJob:
    """One `go build` (or `go install`) that should produce one program."""

    command: str  # "build", "install", or "test" (with -c in flags: a test binary)
    flags: list[str]
    packages: list[str]
    cwd: str
    env: Mapping[str, str]
    # What determines the binary, for the cache key; None: do not cache. A
    # function, because a build with -mod=mod may add a module to go.mod: the
    # binary is stored under the key of the go.mod it was built with.
    key_parts: Callable[[], dict[str, object]] | None = None
    prepare: Callable[[], None] | None = None  # writes the sources; only when go runs
    table: LineTable = field(default_factory=dict)  # for mapping errors to cells
    roots: list[str] = field(default_factory=list)  # paths to strip from messages
    install_dir: Path | None = None  # go install: where the program lands (GOBIN/GOPATH)
    what: str = "the cell"  # for messages: "./cmd/tool", "example.com/x@v1"


@dataclass
class Built:
    exe: Path | None  # None: nothing to run (-n)
    cached: bool  # True when the go command did not run
    log: str = ""  # go's output, when the flags asked for it (-x, -v, -n...)
    temporary: bool = False  # not kept in the cache: remove after the run
    note: str | None = None  # something the user should know about this build, once
    seconds: float = 0.0  # how long getting it took (set by the engine)
    by: str = "go"  # "go" (go build), "direct" (compile + link, build/direct.py), "cache"
    why: str | None = None  # built by go although the fast path was asked: why


class Builder:
    def __init__(
        self,
        toolchain: Toolchain,
        cache: execache.ExeCache,
        control: Control,
        tmpdir: Path | None = None,
    ) -> None:
        self.toolchain = toolchain
        self.cache = cache
        self.control = control
        # go's own temporary work directories (GOTMPDIR): inside the session,
        # so that a build killed by an interrupt leaves nothing in $TMPDIR.
        self.tmpdir = tmpdir
        self._noted = False

    def key(self, parts: dict[str, object], env: Mapping[str, str]) -> str:
        return execache.key(
            {
                **parts,
                "toolchain": [self.toolchain.go, self.toolchain.version, self.toolchain.goroot],
                # The environment, or `go env -w` settings (read at session start).
                "env": {k: env.get(k) or self.toolchain.goenv.get(k) for k in BUILD_ENV_VARS},
            }
        )

    def go(
        self,
        args: list[str],
        cwd: str,
        env: Mapping[str, str],
        progress: BuildProgress | None = None,
        control: Control | None = None,
    ) -> tuple[int, str]:
        """Run one go command, capturing its output; Interrupted if the user stops it.

        progress, when given, watches go's output and says what takes long.
        control: another Control than the session's, for a go command that runs
        alongside the build (go vet)."""
        if self.tmpdir is not None and "GOTMPDIR" not in env:
            self.tmpdir.mkdir(mode=0o700, exist_ok=True)
            env = {**env, "GOTMPDIR": str(self.tmpdir)}
        spec = ProcessSpec(
            [self.toolchain.go, *args],
            cwd,
            env,
            capture=True,
            supervise=False,
            tick=progress.tick if progress is not None else None,
        )
        res = run_process(spec, control or self.control, progress)
        if progress is not None:
            progress.finish(ok=res.returncode == 0 and not res.interrupted)
        if res.interrupted:
            if self.tmpdir is not None:
                shutil.rmtree(self.tmpdir, ignore_errors=True)  # go had no time to clean up
            raise Interrupted("the build was stopped by an interrupt")
        return res.returncode, (res.stdout + res.stderr).decode("utf-8", errors="replace")

    def build(self, job: BuildJob, sink: OutputSink | None = None) -> Built:
        """The executable for job: from the cache, or built by go (after job.prepare()).

        sink, when given, hears what a long build is doing (events.Progress)."""
        if job.key_parts is not None:
            hit = self.cache.lookup(self.key(job.key_parts(), job.env))
            if hit is not None:
                return Built(hit, cached=True, by="cache")
        if job.prepare is not None:
            job.prepare()
        target = self.cache.new_dir()
        args = [job.command, *job.flags]
        if job.install_dir is None:
            args += ["-o", f"{target}{os.sep}"]  # a directory: go names the program
        try:
            progress = BuildProgress(sink) if sink is not None else None
            code, output = self.go([*args, "--", *job.packages], job.cwd, job.env, progress)
            if code != 0:
                raise self._failure(job, code, output)
            names = flag_names(job.flags)
            if names & CHATTY_FLAGS:
                log = output.rstrip()
            else:
                log = diagnostics.success_output(output, job.table, job.roots)
            if "n" in names:
                self.cache.discard(target)
                return Built(None, cached=False, log=log)
            exe = self._program(job.install_dir or target, job)
            if job.install_dir is not None:
                exe = Path(shutil.move(exe, target / exe.name))  # out of GOBIN, into the cache
            # A build go had something to say about is not kept: the next run
            # asks go again, which says it again (from its own build cache), as
            # `go run -gcflags=-m` does every time.
            if job.key_parts is not None and self.cache.keeps and not log:
                k = self.key(job.key_parts(), job.env)
                stored = self.cache.store(k, exe)
                self.cache.discard(target)
                return Built(stored, cached=False, log=log)
            return Built(exe, cached=False, log=log, temporary=True, note=self.note())
        except BaseException:
            self.cache.discard(target)
            raise

    def note(self) -> str | None:
        """The cache's note (read-only, say), the first time a build is not kept."""
        if self._noted or self.cache.note is None:
            return None
        self._noted = True
        return self.cache.note

    def _failure(self, job: BuildJob, code: int, output: str) -> Exception:
        if code == 2 and output.startswith("flag provided but not defined"):
            # go's own words for a flag it does not know.
            return UsageError(output.splitlines()[0] + " (see `go help build` for go's flags)")
        if "no main packages to build" in output:
            return BuildError(
                f"{job.what} is not a main package: a program needs package main and func "
                "main (a snippet cell has no package clause at all)"
            )
        diags = [
            d
            for d in diagnostics.map_output(output, job.table, job.roots)
            if not d.headline.startswith(diagnostics.PROGRESS)
        ] or [diagnostics.Diagnostic(f"go exited with status {code}", [])]
        first, rest = diags[0], diags[1:]
        return BuildError(first.headline, [*first.quote, *diagnostics.render(rest)], output)

    @staticmethod
    def _program(directory: Path, job: BuildJob) -> Path:
        """The one program go wrote into directory (GOBIN/GOPATH for go install)."""
        found = sorted(p for p in directory.rglob("*") if p.is_file())
        if not found:
            raise BuildError(f"{job.what} is not a main package: go built no program")
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise BuildError(f"{job.what} matches several main packages ({names}); name one")
        if not os.access(found[0], os.X_OK):
            raise BuildError(f"the build of {job.what} produced {found[0].name}, not a program")
        return found[0]
