"""Package references for the line form: `%gorun [flags] PACKAGE [args]`.

The same meanings as `go run`: .go files, a directory (./cmd/tool), an import
path, resolved from the notebook's directory (or -C dir); or `pkg@version`,
installed outside any module. Each becomes a BuildJob for the build stage.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel.build import gobuild as build
from gorun_kernel.build.gobuild import BuildJob
from gorun_kernel.build.toolchain import Toolchain
from gorun_kernel.cmdline import Command
from gorun_kernel.errors import UsageError

_SEMVER = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


@dataclass
class PackageRun:
    """What a package reference builds, where it runs, with which arguments."""

    job: BuildJob
    run_dir: str
    args: list[str]


def resolve(
    cmd: Command,
    cwd: str,
    env: dict[str, str],
    scratch: Path,
    toolchain: Toolchain,
    cross: bool,
) -> PackageRun:
    """The build job for cmd's package. cross: GOOS/GOARCH differ from the host's."""
    packages, args = cmd.package_and_args()
    if not packages:
        raise UsageError(
            "%gorun needs a package: a directory (./cmd/tool), .go files, an import "
            "path, or pkg@version"
        )
    run_dir = os.path.normpath(os.path.join(cwd, cmd.chdir)) if cmd.chdir else cwd
    if not os.path.isdir(run_dir):
        raise UsageError(f"-C {cmd.chdir}: no such directory")
    flags = build.with_run_defaults(cmd.build_flags)
    pkg = packages[0]
    if "@" in pkg and not pkg.endswith(".go"):
        return PackageRun(_versioned_job(pkg, flags, env, scratch, toolchain, cross), run_dir, args)
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
    return PackageRun(job, run_dir, args)


def _versioned_job(
    pkg: str,
    flags: list[str],
    env: dict[str, str],
    scratch: Path,
    toolchain: Toolchain,
    cross: bool,
) -> BuildJob:
    """`pkg@version`: `go install` into a private directory, outside any module.

    The caller removes job.install_dir's parent when the build is done."""
    top = Path(tempfile.mkdtemp(prefix=".gorun-install-", dir=scratch))
    env = dict(env, GOWORK="off")
    env.pop("GOBIN", None)
    if not cross:
        env["GOBIN"] = str(top / "bin")
    else:
        # go install refuses GOBIN when cross-compiling; it installs into
        # GOPATH/bin/GOOS_GOARCH instead, so GOPATH is ours for this command.
        env["GOMODCACHE"] = toolchain.goenv.get("GOMODCACHE", "")
        env["GOPATH"] = str(top)
    version = pkg.rsplit("@", 1)[1]
    cacheable = bool(_SEMVER.match(version)) and build.is_cacheable(flags)
    return BuildJob(
        command="install",
        flags=flags,
        packages=[pkg],
        cwd=str(scratch),
        env=env,
        key_parts=(lambda: {"kind": "install", "pkg": pkg, "flags": flags}) if cacheable else None,
        install_dir=top / "bin",
        what=pkg,
    )
