"""Delve, the Go debugger: a pinned version, found or built once, lazily.

Like the typeinfo helper (help/typeinfo.py), nothing of this runs for a cell
unless the debugger is on: the first debug request looks for dlv in
$GORUN_DLV, then in gorun's cache (built there before), then on PATH, and
else builds the pinned version from the module proxy into the cache (`go
install`, a minute or two, once per toolchain; the kernel answers initialize
from a task of its own meanwhile, so its control channel is served). When
none of that works (no network and nothing cached), DelveUnavailable says so
in one sentence.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from gorun_kernel import config
from gorun_kernel.build.toolchain import Toolchain
from gorun_kernel.errors import GorunError
from gorun_kernel.paths import cache_root

MODULE = "github.com/go-delve/delve"
VERSION = "v1.27.2"
BUILD_TIMEOUT = 900.0  # Delve and its dependencies, from the proxy, on a loaded machine

_lock = threading.Lock()
_building: subprocess.Popen[str] | None = None  # the go install under way, for cancel()


class DelveUnavailable(GorunError):
    """Delve can be neither found nor built."""


def cached_path(tc: Toolchain) -> Path:
    host = f"{tc.goenv.get('GOHOSTOS', '')}-{tc.goenv.get('GOHOSTARCH', '')}"
    return cache_root() / "helpers" / f"dlv-{VERSION}-{tc.version}-{host}" / "dlv"


def find(tc: Toolchain | None) -> str:
    """dlv's path; builds it the first time. Raises DelveUnavailable."""
    with _lock:
        given = config.DLV.text()
        if given:
            if os.access(given, os.X_OK):
                return given
            raise DelveUnavailable(
                f"The debugger cannot start: GORUN_DLV={given} is not a program."
            )
        if tc is None:
            raise DelveUnavailable("The debugger cannot start: Go is not available to this kernel.")
        cached = cached_path(tc)
        if cached.is_file():
            return str(cached)
        on_path = shutil.which("dlv")
        if on_path:
            return on_path
        return str(_build(tc, cached))


def _build(tc: Toolchain, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    env = tc.command_env(os.environ)
    for name in ("GOOS", "GOARCH", "GOFLAGS", "GOEXPERIMENT", "GOWORK"):
        env.pop(name, None)
    env.update(GOBIN=str(target.parent), GOFLAGS="-buildvcs=false", GOWORK="off")
    global _building
    try:
        _building = subprocess.Popen(
            [tc.go, "install", f"{MODULE}/cmd/dlv@{VERSION}"],
            env=env,
            cwd=target.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own group: cancel() ends go and its compilers
        )
        try:
            _, err = _building.communicate(timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            cancel()
            raise DelveUnavailable(_unavailable(f"no build after {BUILD_TIMEOUT:.0f} s")) from None
        code = _building.returncode
    except OSError as e:
        raise DelveUnavailable(_unavailable(e.strerror or str(e))) from None
    finally:
        _building = None
    if code != 0 or not target.is_file():
        last = (err.strip().splitlines() or ["go install failed"])[-1]
        raise DelveUnavailable(_unavailable(last))
    return target


def cancel() -> None:
    """End a build of Delve under way (the kernel shuts down)."""
    building = _building
    if building is not None:
        with contextlib.suppress(OSError):
            os.killpg(building.pid, signal.SIGKILL)


def _unavailable(why: str) -> str:
    return (
        f"The debugger needs Delve (dlv {VERSION}), which is not on PATH and could not be "
        f"built from the Go module proxy ({why}); cells run as usual without it."
    )
