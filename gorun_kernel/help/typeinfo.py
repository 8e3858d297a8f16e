"""The typeinfo helper: our Go program that type-checks cells for completion and inspection.

Its source ships inside this package (gohelpers/typeinfo, standard library
only) and is built once per toolchain and source version into the user's cache
directory (`$GORUN_CACHE/helpers/typeinfo-<go version>-<hash>/`), so it works
offline from then on. A session starts it on its first completion or
inspection request, never for a cell's build or run; it speaks JSON lines on
stdin/stdout, answers one request at a time, and dies with the session (closed
pipes, a kill at close, and PR_SET_PDEATHSIG if the kernel is killed outright).

PR_SET_PDEATHSIG fires when the *thread* that started the child ends, so the
helper is built and started from one long-lived thread of ours (`_launcher`),
whichever thread asked for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import IO, Any

from gorun_kernel.build.toolchain import Toolchain
from gorun_kernel.errors import GorunError
from gorun_kernel.paths import TYPEINFO_SOURCE, cache_root
from gorun_kernel.proc.control import die_with_parent

SOURCE_DIR = TYPEINFO_SOURCE
BUILD_TIMEOUT = 300.0  # a first build compiles go/types: seconds, more on a loaded machine
STALE_DAYS = 30  # helpers of other versions unused this long are removed
BUILD_FLAGS = ("-trimpath", "-ldflags=-s -w")  # part of the cache key, with the source


class HelperUnavailable(GorunError):
    """The helper cannot be had here (no toolchain to build it, a failed build)."""


# One thread for every build and start: see the module's docstring.
_launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gorun-typeinfo")


def source_digest() -> str:
    """A digest of the helper's source files (names and contents) and build flags."""
    h = hashlib.sha256("\0".join(BUILD_FLAGS).encode())
    for path in sorted(SOURCE_DIR.iterdir()):
        if path.suffix in (".go", ".mod") and not path.name.endswith("_test.go"):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def helper_path(tc: Toolchain) -> Path:
    """Where the helper for this toolchain and this source lives in the cache."""
    host = f"{tc.goenv.get('GOHOSTOS', '')}-{tc.goenv.get('GOHOSTARCH', '')}"
    return cache_root() / "helpers" / f"typeinfo-{tc.version}-{host}-{source_digest()}" / "typeinfo"


def build_env(tc: Toolchain) -> dict[str, str]:
    """A plain host build of a module without dependencies, whatever the session's settings."""
    env = tc.command_env(os.environ)
    for name in ("GOOS", "GOARCH", "GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOARM", "GO386"):
        env.pop(name, None)
    env.update(GOWORK="off", GOTOOLCHAIN="local", GOPROXY="off", CGO_ENABLED="0")
    return env


def helper_binary(tc: Toolchain, fallback_dir: Path | None = None) -> Path:
    """The built helper: found in the cache, or built now (seconds, once).

    fallback_dir: where to build when the cache cannot be written (it is then
    the session's, and is not kept).
    """
    target = helper_path(tc)
    if os.access(target, os.X_OK):
        return target
    if not SOURCE_DIR.is_dir():
        raise HelperUnavailable(f"the helper's source is missing ({SOURCE_DIR})")
    try:
        target.parent.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent.parent))
    except OSError:
        if fallback_dir is None:
            raise HelperUnavailable(f"cannot write {target.parent.parent}") from None
        # A directory that does not exist yet: the build's directory is renamed to it.
        target = fallback_dir / "helper" / "typeinfo"
        if os.access(target, os.X_OK):
            return target
        fallback_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=fallback_dir))
    try:
        proc = subprocess.run(
            [tc.go, "build", *BUILD_FLAGS, "-o", str(work / "typeinfo"), "."],
            cwd=SOURCE_DIR,
            env=build_env(tc),
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
        if proc.returncode != 0:
            raise HelperUnavailable(f"cannot build the typeinfo helper:\n{proc.stderr.strip()}")
        with contextlib.suppress(OSError):  # another session built it first: use theirs
            os.rename(work, target.parent)
        _remove_stale(target.parent)
        return target
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HelperUnavailable(f"cannot build the typeinfo helper: {e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _remove_stale(current: Path) -> None:
    """Helpers built for other toolchains or sources, unused for STALE_DAYS."""
    for other in current.parent.glob("typeinfo-*"):
        with contextlib.suppress(OSError):
            if other != current and time.time() - other.stat().st_atime > STALE_DAYS * 86400:
                shutil.rmtree(other)


class Helper:
    """One running helper process; requests are sent one at a time."""

    def __init__(self, exe: Path, tc: Toolchain, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [str(exe), "-go", tc.go, "-goroot", tc.goroot],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # it writes nothing there but its own crash
            env=env if env is not None else _helper_env(tc),
            # Its own session: an interrupt meant for a cell does not reach it.
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.pid = self.proc.pid
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: tuple[int, Future[dict[str, Any] | None]] | None = None
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self._stdin: IO[bytes] = self.proc.stdin
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def busy(self) -> bool:
        return self._pending is not None

    def submit(self, request: dict[str, Any]) -> Future[dict[str, Any] | None] | None:
        """Send a request; a Future of its reply (None if the helper died).

        None when a request is still being answered: the caller does not
        queue behind it, it answers without the helper.
        """
        fut: Future[dict[str, Any] | None] = Future()
        with self._lock:
            if self._pending is not None or not self.alive():
                return None
            rid = next(self._ids)
            self._pending = (rid, fut)
        try:
            self._stdin.write(json.dumps({**request, "id": rid}).encode() + b"\n")
            self._stdin.flush()
        except OSError:
            self._finish(rid, None)
        return fut

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """submit() and wait; None when busy, dead or late."""
        fut = self.submit(request)
        if fut is None:
            return None
        with contextlib.suppress(FutureTimeout):
            return fut.result(timeout)
        return None

    def _read(self, out: IO[bytes]) -> None:
        for line in out:
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            self._finish(reply.get("id"), reply)
        pending = self._pending
        if pending is not None:
            self._finish(pending[0], None)  # it died while answering

    def _finish(self, rid: int | None, reply: dict[str, Any] | None) -> None:
        with self._lock:
            if self._pending is None or self._pending[0] != rid:
                return
            fut = self._pending[1]
            self._pending = None
        fut.set_result(reply)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()


def _helper_env(tc: Toolchain) -> dict[str, str]:
    """The helper's go commands run with the user's settings, but never fetch:
    modules come with a cell's build (go's -mod=mod), never while typing."""
    env = tc.command_env(os.environ)
    env.update(GOWORK="off", GOPROXY="off", GOTOOLCHAIN="local")
    return env


def launch(tc: Toolchain, fallback_dir: Path | None) -> Future[Helper]:
    """Build (if needed) and start a helper, on the launcher thread."""
    return _launcher.submit(lambda: Helper(helper_binary(tc, fallback_dir), tc))
