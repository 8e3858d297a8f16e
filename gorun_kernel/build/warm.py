"""Warming go's build cache: `python -m gorun_kernel warm`, and in the background.

On a fresh machine (a new container, a new student) go's build cache is
empty: the first `fmt.Println` compiles the runtime and fmt's dependencies
(seconds; a warm cell builds in a fraction of one). This builds, at low
priority, small programs that import the standard packages cells use most,
in a module like the session's and with the engine's flags, so that the
compiled packages land in go's cache under the keys a cell will look up.

The kernel (at start) and the magic (at `%load_ext`) run the same warm-up in
a background process group of its own, niced, and kill that group the moment
a cell runs: the cell never waits for it (what was compiled so far stays in
go's cache). `GORUN_WARM=0` turns the background warm-up off.

`python -m gorun_kernel warm --machine` fills the machine-wide warmed cache
once (machinecache.py); the background process then first seeds the user's
GOCACHE from it (the first cell waits for that, a fraction of a second) and,
the machine cache being for this toolchain, warms nothing more.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from gorun_kernel import config
from gorun_kernel.build import machinecache
from gorun_kernel.build.scratch import go_mod_text
from gorun_kernel.build.toolchain import Toolchain, find_toolchain
from gorun_kernel.errors import GorunError
from gorun_kernel.paths import DISPLAY_MODULE
from gorun_kernel.proc import linux
from gorun_kernel.proc.control import signal_group

# In the order cells are likely to need them, a program each: a cell that comes
# early finds the first ones built. The first is what a first `fmt.Println(x)`
# or final value needs (the value helpers: os and the display module's value and
# printed; every snippet's main: the display module's started).
TIERS: list[list[str]] = [
    ["fmt", "os", f"{DISPLAY_MODULE}/value", f"{DISPLAY_MODULE}/printed",
     f"{DISPLAY_MODULE}/started"],
    ["bufio", "bytes", "context", "encoding/json", "errors", "io", "maps", "math",
     "math/big", "math/rand", "math/rand/v2", "path/filepath", "regexp", "slices", "sort",
     "strconv", "strings", "sync", "time", "unicode", "unicode/utf8", DISPLAY_MODULE],
    ["crypto/sha256", "encoding/csv", "html/template", "image/png", "net/http", "net/url",
     "os/exec", "testing"],
]  # fmt: skip
PARENT_ENV = config.WARM_PARENT.name  # the background warm-up's parent, to die with it
SEED_WAIT = 60.0  # seconds a cell waits at most for the seed from the machine cache
TEST_PROGRAM = (
    'package warm\n\nimport (\n\t"fmt"\n\t"testing"\n)\n\n'
    "func TestWarm(t *testing.T) { fmt.Sprint(t.Name()) }\n"
)


def program(packages: list[str]) -> str:
    imports = "".join(f'\t_ "{p}"\n' for p in packages)
    return f"package main\n\nimport (\n{imports})\n\nfunc main() {{}}\n"


def unknown_packages(tc: Toolchain, packages: list[str]) -> list[str]:
    """The packages named on the command line that the standard library does not have.

    A standard package is a directory of GOROOT/src with Go files in it (a look,
    not a go command); the display module's packages are ours, always there."""
    src = Path(tc.goroot, "src")
    missing = []
    for p in packages:
        if p == DISPLAY_MODULE or p.startswith(DISPLAY_MODULE + "/"):
            continue
        parts = p.split("/")
        clean = p and ".." not in parts and "" not in parts and not p.startswith("cmd/")
        if not (clean and (src / p).is_dir() and any((src / p).glob("*.go"))):
            missing.append(p)
    return missing


def warm(tc: Toolchain, work: Path, tiers: list[list[str]], report: bool = False) -> bool:
    """Build one program per tier in work/ (a directory this owns). True if all built."""
    env = tc.command_env(os.environ)
    env["GOWORK"] = "off"  # as the engine builds: the session is nobody's workspace
    env["GOTMPDIR"] = str(work / "tmp")  # go's own work files go when work/ goes
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    # Imported here, in the warm-up's own process: the kernel that starts it, at its
    # start, does not wait for the build pipeline's modules.
    from gorun_kernel.build import gobuild as build

    flags = build.with_run_defaults(["-mod=mod"])  # the engine's, for a cell without flags
    ok = True
    for i, packages in enumerate(tiers, 1):
        mod = work / f"tier{i}"
        mod.mkdir(exist_ok=True)
        (mod / "go.mod").write_text(go_mod_text(tc))
        (mod / "main.go").write_text(program(packages))
        start = time.monotonic()
        proc = subprocess.run(
            [tc.go, "build", *flags, "-o", str(mod / "bin") + os.sep, "."],
            cwd=mod, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        )  # fmt: skip
        took = time.monotonic() - start
        ok = ok and proc.returncode == 0
        if report:
            names = ", ".join(p.removeprefix(DISPLAY_MODULE + "/") for p in packages)
            if proc.returncode == 0:
                print(f"warm: {names}: {took:.1f} s", flush=True)
            else:
                print(f"warm: {names}: go build failed:\n{proc.stderr.rstrip()}", flush=True)
    return ok


def warm_tests(tc: Toolchain, work: Path, base: Mapping[str, str] | None = None) -> bool:
    """What a test cell builds besides the standard packages: the test runner's
    packages (a one-test package's `go test`) and go's cmd/test2json, as gotest/run.py
    builds it (for this machine, -trimpath, no cgo). True if both built."""
    env = {**tc.command_env(os.environ if base is None else base), "GOWORK": "off"}
    env["GOTMPDIR"] = str(work / "tmp")
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    mod = work / "tests"
    mod.mkdir(exist_ok=True)
    (mod / "go.mod").write_text(go_mod_text(tc))
    (mod / "warm_test.go").write_text(TEST_PROGRAM)
    ok = True
    for argv, extra in (
        (["test", "-count=1", "-json", "."], {"GOFLAGS": "-mod=mod"}),
        (["build", "-trimpath", "-ldflags=-s -w", "-o", os.devnull, "cmd/test2json"],
         {"CGO_ENABLED": "0", "GOFLAGS": ""}),
    ):  # fmt: skip
        proc = subprocess.run(
            [tc.go, *argv], cwd=mod, env={**env, **extra}, stdin=subprocess.DEVNULL,
            capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            print(f"warm: go {' '.join(argv)} failed:\n{proc.stderr.rstrip()}", flush=True)
            ok = False
    return ok


def warm_machine(root: Path) -> bool:
    """Fill the machine-wide cache at root (see machinecache.py); True if all built."""
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (root / machinecache.STAMP).unlink()  # incomplete until stamped again
    os.umask(0o022)
    os.environ["GOCACHE"] = str(root / machinecache.GOCACHE)
    os.environ[config.CACHE.name] = str(root / machinecache.GORUN)
    try:
        tc = find_toolchain()
    except GorunError as e:
        sys.exit(f"warm: {e}")
    print(f"warm: {tc.version} ({tc.go}), machine-wide cache {root}", flush=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gorun_kernel-warm-") as td:
        ok = warm(tc, Path(td), TIERS, report=True)
        ok = warm_tests(tc, Path(td)) and ok
    from gorun_kernel.compose.stdlib import StdIndex

    StdIndex.for_goroot(tc.goroot, tc.version)  # automatic imports' index, for everyone
    print(f"warm: test cells and the standard-library index: {time.monotonic() - start:.1f} s")
    if ok:
        when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        machinecache.publish(root, tc.version, when)
        print(f"warm: {root} is ready: every user's kernel on this machine seeds from it")
    return ok


def seed_now() -> int:
    """`warm --seed`: seed this user's caches from the machine cache; an exit status."""
    try:
        tc = find_toolchain()
    except GorunError as e:
        print(f"warm: {e}", file=sys.stderr)
        return 1
    root, gocache = machinecache.location(), tc.goenv.get("GOCACHE", "")
    made = machinecache.stamp(root)
    if made is None or made.split(" ", 1)[0] != tc.version:
        found = f"made by {made.split(' ', 1)[0]}" if made else "none this user can read"
        print(f"warm: no machine-wide cache for {tc.version} at {root} ({found})", file=sys.stderr)
        return 1
    from gorun_kernel.paths import cache_root

    machinecache.seed(gocache, tc.version, root)
    machinecache.seed_gorun_cache(cache_root(), root)
    try:
        seeded = (Path(gocache) / machinecache.MARKER).read_text() == made
    except OSError:
        seeded = False
    if not seeded:  # GOCACHE off, or not writable
        print(f"warm: could not seed GOCACHE={gocache} from {root}", file=sys.stderr)
        return 1
    print(f"warm: GOCACHE={gocache} seeded from {root}")
    return 0


class Warmer:
    """The background warm-up of one process (a kernel, or IPython with the magic)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.work: Path | None = None
        self.started = False

    def start(self) -> None:
        """Start warming in the background, once per process, unless GORUN_WARM=0."""
        if self.started:
            return
        if not config.switched_on(config.WARM) and machinecache.stamp() is None:
            return  # (with a machine cache, the process seeds from it even so)
        self.started = True
        try:
            self.work = Path(tempfile.mkdtemp(prefix="gorun_kernel-warm-"))
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gorun_kernel", "warm", "--background", str(self.work)],
                env={**os.environ, PARENT_ENV: str(os.getpid())},
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True,  # a group of its own: cancel() ends go and compile too
            )  # fmt: skip
        except OSError:
            self.cancel()  # a warm-up is a nicety: no temp space, no fork, no warm-up
            return
        atexit.register(self.cancel)

    def cancel(self) -> None:
        """Kill the warm-up's process group now (a cell needs the CPU); cheap when done."""
        if self.proc is not None:
            self._wait_for_seed()
            if self.proc.poll() is None:
                signal_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            self.proc = None
        if self.work is not None:
            shutil.rmtree(self.work, ignore_errors=True)
            self.work = None

    def _wait_for_seed(self) -> None:
        """The seed from the machine cache is not cut short: the background process
        closes its stdout once seeded (or finding nothing to seed from)."""
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        with contextlib.suppress(OSError, ValueError):
            deadline = time.monotonic() + SEED_WAIT
            while (left := deadline - time.monotonic()) > 0:
                if not select.select([out], [], [], left)[0] or not os.read(out.fileno(), 64):
                    return


# One warm-up per process: the kernel's, or IPython's with the magic loaded.
WARMER = Warmer()


def _background(work: Path) -> None:
    """The warm-up process: niced, in its own group, ending with its parent."""
    os.nice(19)
    parent = int(config.WARM_PARENT.text() or "0")

    def end(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal_group(0, signal.SIGTERM)  # go cleans up its own work and exits
        with contextlib.suppress(ChildProcessError):
            while True:
                os.wait()
        shutil.rmtree(work, ignore_errors=True)
        os._exit(1)

    signal.signal(signal.SIGTERM, end)
    _die_with(parent)
    with contextlib.suppress(GorunError, OSError):  # no Go, no space: cells will say why
        tc = find_toolchain()
        machine = machinecache.stamp()
        seeded = machine is not None and machine.split(" ", 1)[0] == tc.version
        if seeded:
            from gorun_kernel.paths import cache_root

            machinecache.seed(tc.goenv.get("GOCACHE", ""), tc.version)
            machinecache.seed_gorun_cache(cache_root())
        _seeded()
        if not seeded and config.switched_on(config.WARM):
            warm(tc, work, TIERS)
    _seeded()
    shutil.rmtree(work, ignore_errors=True)


def _seeded() -> None:
    """Tell the parent the seed is over (its cells may cancel us now): stdout closes."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def _die_with(parent: int) -> None:
    """Linux: SIGTERM when the parent dies (a kernel killed outright); elsewhere, nothing."""
    linux.set_parent_death_signal(signal.SIGTERM)
    if parent and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)  # it died before the line above


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gorun_kernel warm",
        description="Warm go's build cache with the standard packages cells use most "
        "(at low priority; Ctrl-C stops it, keeping what was built).",
    )
    parser.add_argument(
        "packages", nargs="*", metavar="PACKAGE",
        help="standard packages to build instead of the usual list (fmt, strings, ... net/http)",
    )  # fmt: skip
    parser.add_argument(
        "--machine", action="store_true",
        help="fill the machine-wide warmed cache every user's kernel seeds from "
        f"({machinecache.DEFAULT}, or $GORUN_MACHINE_CACHE); run once, by whoever installs",
    )  # fmt: skip
    parser.add_argument(
        "--seed", action="store_true",
        help="seed this user's GOCACHE and gorun cache from the machine-wide cache now, as "
        "their kernel does at its start (an image's user, ahead of time)",
    )  # fmt: skip
    parser.add_argument("--background", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.background:
        _background(Path(args.background))
        return
    if args.seed:
        if args.packages or args.machine:
            parser.error("--seed copies the machine-wide cache; name no packages, no --machine")
        sys.exit(seed_now())
    if args.machine:
        if args.packages:
            parser.error("--machine warms the standard list; name no packages")
        try:
            ok = warm_machine(machinecache.location())
        except OSError as e:
            sys.exit(f"warm: cannot fill {machinecache.location()}: {e.strerror} ({e.filename})")
        sys.exit(0 if ok else 1)
    os.nice(19)
    try:
        tc = find_toolchain()
    except GorunError as e:
        sys.exit(f"warm: {e}")
    print(f"warm: {tc.version} ({tc.go}), GOCACHE={tc.goenv.get('GOCACHE', '')}", flush=True)
    missing = unknown_packages(tc, args.packages)
    if missing:
        # Said before any build, in our words: go's would name the program we generate.
        names = ", ".join(missing)
        sys.exit(
            f"warm: package not found: {names} (not in the standard library of {tc.version}); "
            "warm builds standard packages, such as fmt, strings, net/http"
        )
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gorun_kernel-warm-") as td:
        try:
            ok = warm(tc, Path(td), [args.packages] if args.packages else TIERS, report=True)
        except KeyboardInterrupt:
            sys.exit("warm: stopped; what was built so far stays in go's cache")
    print(f"warm: {'done' if ok else 'done, with failures'} in {time.monotonic() - start:.1f} s")
    sys.exit(0 if ok else 1)
