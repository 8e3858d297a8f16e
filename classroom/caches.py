"""Shared Go caches for a class: a module cache filled once, a build cache warmed once.

    python -m classroom.caches --gomodcache DIR [--module path@version ...]
                               [--gocache DIR [--package P ...]] [--gorun-cache DIR]

The module cache is shared read-only by every student (see settings.shared_go_env).
go's build cache must be writable, so each student starts from a copy of the
warmed one made of hard links (`seed_build_cache`): no extra disk, a fraction of
a second, and go never rewrites a cache entry it finds valid. The seeding is the
package's own (gorun_kernel.build.machinecache), as every kernel seeds from the
machine-wide cache that `python -m gorun_kernel warm --machine` fills: the
container image runs that command for its build cache, and this one (without
--gocache) for its module cache alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel.build.machinecache import copy_stdlib_index, link_missing
from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.build.warm import warm_tests

from .settings import WARM_PACKAGES


class CacheError(Exception):
    """A cache could not be filled or warmed; the message says why, in go's words."""


@dataclass(frozen=True)
class Warmed:
    seconds: float
    how: str  # which commands warmed it, for the figures and the README


def _go(args: list[str], env: dict[str, str], cwd: Path | str, timeout: float = 900) -> None:
    toolchain = find_toolchain(env)
    proc = subprocess.run(
        [toolchain.go, *args],
        cwd=cwd,
        env=toolchain.command_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise CacheError(f"go {' '.join(args)} failed:\n{proc.stderr.strip()}")


def warm_build_cache(gocache: Path, packages: list[str] | None = None) -> Warmed:
    """Compile the standard-library packages a class uses into gocache, once.

    `python -m gorun_kernel warm` runs first (it warms what the kernel's own first
    cell needs); `go build PACKAGES` then adds what the exercises import. On a warm
    cache both take about a second.
    """
    gocache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOCACHE": str(gocache), "GOFLAGS": "-buildvcs=false"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "gorun_kernel", "warm"],
        # not from a checkout (python -m would import its gorun_kernel): the installed
        # package's display module is the one kernels build, keyed by its directory
        cwd=tempfile.gettempdir(),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise CacheError(f"python -m gorun_kernel warm failed:\n{proc.stderr.strip()}")
    how = ["python -m gorun_kernel warm"]
    pkgs = list(packages or WARM_PACKAGES)
    _go(["build", *pkgs], env, cwd=tempfile.gettempdir())
    how.append(f"go build {' '.join(pkgs)}")
    _warm_go_test(env)
    how.append("go test of a one-test package and go build cmd/test2json (for test cells)")
    return Warmed(time.monotonic() - started, "; ".join(how))


def _warm_go_test(env: dict[str, str]) -> None:
    """A test cell's `go test` also compiles the test runner's packages and go's
    test2json: the package's own warm-up of them (`warm --machine` runs it too)."""
    with tempfile.TemporaryDirectory(prefix="gorun-class-test-") as work:
        if not warm_tests(find_toolchain(env), Path(work), env):
            raise CacheError("warming what test cells build failed (go test, cmd/test2json)")


def warm_gorun_index(gorun_cache: Path) -> None:
    """Build gorun_kernel's standard-library index (for automatic imports) once, for everyone.

    A kernel builds it on its first cell when its GORUN_CACHE lacks it: about
    0.8 s of a new student's first cell on this machine.
    """
    code = (
        "from gorun_kernel.compose.stdlib import StdIndex\n"
        "from gorun_kernel.build.toolchain import find_toolchain\n"
        "t = find_toolchain()\n"
        "StdIndex.for_goroot(t.goroot, t.version)\n"
    )
    env = {**os.environ, "GORUN_CACHE": str(gorun_cache)}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0:
        raise CacheError(f"building gorun_kernel's standard-library index failed:\n{proc.stderr}")


def fill_module_cache(modcache: Path, modules: list[str]) -> None:
    """Download modules (path@version) into modcache with the teacher's GOPROXY and GOSUMDB.

    go verifies each module against the checksum database here, once; students
    then read the cache with GOSUMDB=off. go leaves the extracted modules
    read-only; the download directory is made read-only too.
    """
    modcache.mkdir(parents=True, exist_ok=True)
    if not modules:
        return
    env = {**os.environ, "GOMODCACHE": str(modcache), "GOFLAGS": "-mod=mod"}
    with tempfile.TemporaryDirectory(prefix="gorun-class-mods-") as work:
        _go(["mod", "init", "gorun.class/fill"], env, cwd=work)
        _go(["mod", "download", *modules], env, cwd=work)
    for path in (modcache / "cache" / "download").rglob("*"):
        if path.is_file():
            path.chmod(path.stat().st_mode & 0o555)


def seed_build_cache(warmed: Path, student: Path) -> bool:
    """Give a student a build cache that starts as the class's warmed one.

    False when the student already has one (it is theirs now). The package's own
    seeding (gorun_kernel.build.machinecache, as every kernel seeds from the
    machine-wide cache): hard links where allowed, copies otherwise; trim.txt is
    copied, not linked: go rewrites that one file in place.
    """
    if student.exists() or not warmed.is_dir():
        return False
    student.parent.mkdir(parents=True, exist_ok=True)
    link_missing(warmed, student)
    return True


def seed_gorun_cache(warmed: Path, student: Path) -> bool:
    """Copy the class's standard-library index into a student's GORUN_CACHE (a few MB).

    The package's own copy (gorun_kernel.build.machinecache, as every kernel seeds
    its index from the machine-wide cache); the executable cache stays theirs."""
    return copy_stdlib_index(warmed, student)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m classroom.caches", description="Fill and warm a class's shared Go caches."
    )
    parser.add_argument(
        "--gocache", type=Path, help="a build cache to warm (an image warms the machine's instead)"
    )
    parser.add_argument("--gomodcache", type=Path, required=True, help="the module cache to fill")
    parser.add_argument(
        "--gorun-cache", type=Path, help="gorun_kernel's cache: build its stdlib index here"
    )
    parser.add_argument(
        "--module", action="append", default=[], help="a module the class uses (path@version)"
    )
    parser.add_argument("--package", action="append", help="a package to compile (repeatable)")
    args = parser.parse_args(argv)
    try:
        fill_module_cache(args.gomodcache.resolve(), args.module)
        warmed = warm_build_cache(args.gocache.resolve(), args.package) if args.gocache else None
        if args.gorun_cache:
            warm_gorun_index(args.gorun_cache.resolve())
    except CacheError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"module cache {args.gomodcache}: {len(args.module)} module(s) added")
    if warmed is not None:
        print(f"warmed {args.gocache} in {warmed.seconds:.1f} s ({warmed.how})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
