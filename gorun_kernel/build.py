"""Building an executable with the go command, through the executable cache."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import diagnostics, execache
from .diagnostics import LineTable
from .errors import BuildError, Interrupted, UsageError
from .process import Control, run_process
from .toolchain import Toolchain

# Environment variables that change the binary go builds (beyond the flags and
# sources): part of the executable cache key.
BUILD_ENV_VARS = (
    "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOARM",
    "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM",
    "GOFIPS140", "GOROOT", "GOWORK", "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOINSECURE",
    "GOTOOLCHAIN", "CC", "CXX", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS",
    "CGO_LDFLAGS", "PKG_CONFIG",
)  # fmt: skip

# Flags whose effect the cache key cannot see (files named by them may change,
# or the user asked to watch go work): such builds always run go.
UNCACHEABLE_FLAGS = ("-a", "-n", "-x", "-v", "-work", "-overlay", "-modfile", "-pgo",
                     "-toolexec", "-json", "-debug-")  # fmt: skip

# Flags under which go prints something on success that the user asked to see.
CHATTY_FLAGS = ("-n", "-x", "-v", "-work", "-json", "-debug-")


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
    return not any(f.split("=", 1)[0].startswith(bad) for f in flags for bad in UNCACHEABLE_FLAGS)


def is_chatty(flags: list[str]) -> bool:
    return any(f.split("=", 1)[0].startswith(c) for f in flags for c in CHATTY_FLAGS)


@dataclass
class BuildJob:
    """One `go build` (or `go install`) to produce an executable."""

    args: list[str]  # go subcommand and arguments, without -o
    cwd: str
    env: Mapping[str, str]
    # What determines the binary, for the cache key; None: do not cache. A
    # function, because a build with -mod=mod may add a module to go.mod: the
    # binary is stored under the key of the go.mod it was built with.
    key_parts: Callable[[], dict[str, object]] | None
    table: LineTable = field(default_factory=dict)  # for mapping errors to cells
    roots: list[str] = field(default_factory=list)  # paths to strip from messages
    output_flag: bool = True  # False for go install (binary lands in GOBIN/GOPATH)


@dataclass
class Built:
    exe: Path
    cached: bool  # True when the go command did not run
    log: str = ""  # go's output on success, shown when the user asked for it
    temporary: bool = False  # not kept in the cache: remove after the run


class Builder:
    def __init__(self, toolchain: Toolchain, cache: execache.ExeCache, control: Control) -> None:
        self.toolchain = toolchain
        self.cache = cache
        self.control = control
        self.go_runs = 0  # go command processes started, for tests and benchmarks

    def key(self, parts: dict[str, object], env: Mapping[str, str]) -> str:
        return execache.key(
            {
                **parts,
                "toolchain": [self.toolchain.go, self.toolchain.version, self.toolchain.goroot],
                "env": {k: env.get(k) for k in BUILD_ENV_VARS},
            }
        )

    def go(self, args: list[str], cwd: str, env: Mapping[str, str]) -> tuple[int, str, bool]:
        """Run one go command, capturing its output: (returncode, output, interrupted)."""
        self.go_runs += 1
        res = run_process(
            [self.toolchain.go, *args], cwd=cwd, env=env, control=self.control, capture=True
        )
        text = (res.stdout + res.stderr).decode("utf-8", errors="replace")
        return res.returncode, text, res.interrupted

    def build(
        self,
        job: BuildJob,
        install_dir: Path | None = None,
        prepare: Callable[[], None] | None = None,
    ) -> Built:
        """The executable for job: from the cache, or built by go (after prepare())."""
        if job.key_parts is not None:
            hit = self.cache.lookup(self.key(job.key_parts(), job.env))
            if hit is not None:
                return Built(hit, cached=True)
        if prepare is not None:
            prepare()
        target = self.cache.new_path()
        args = [*job.args[:1], "-o", str(target), *job.args[1:]] if job.output_flag else job.args
        try:
            code, output, interrupted = self.go(args, job.cwd, job.env)
            if interrupted:
                raise Interrupted("interrupted during the build")
            if code == 2 and output.startswith("flag provided but not defined"):
                # go's own words for a flag it does not know, with our usage.
                raise UsageError(output.splitlines()[0] + "\n(see %gorun? for the options)")
            if code != 0:
                diags = diagnostics.map_output(output, job.table, job.roots)
                if not diags:
                    diags = [diagnostics.Diagnostic(f"go exited with status {code}", [])]
                first, rest = diags[0], diags[1:]
                raise BuildError(
                    first.headline, [*first.quote, *diagnostics.render(rest)], go_output=output
                )
            if install_dir is not None:
                target = _installed_binary(install_dir, target)
            log = "\n".join(
                d.headline for d in diagnostics.map_output(output, job.table, job.roots)
            )
            if job.key_parts is not None:
                k = self.key(job.key_parts(), job.env)
                return Built(self.cache.store(k, target), cached=False, log=log)
            return Built(target, cached=False, log=log, temporary=True)
        except BaseException:
            self.cache.discard(target)
            raise


def _installed_binary(install_dir: Path, placeholder: Path) -> Path:
    """Move the one binary `go install` produced next to the cache's placeholder."""
    found = [p for p in install_dir.rglob("*") if p.is_file()]
    if len(found) != 1:
        raise BuildError("go install did not produce exactly one program")
    os.replace(found[0], placeholder)
    with contextlib.suppress(OSError):
        os.chmod(placeholder, 0o700)
    return placeholder
