"""A long-lived spawner of per-run supervisors: a run without a fork of the kernel.

Each program runs under a supervisor of its own (supervisor.py). Forked from
the kernel, that costs a copy of the kernel's page tables each run (2-30 ms for
a 60 MB Python with its threads, more on a busy machine): most of an unchanged
cell's re-run. So the kernel starts, at its first run, one small process of its
own (`python -m gorun_kernel.proc.spawner`, a few MB: this module and the
supervisor's), and from then on each run's supervisor is forked from that one
instead, and does exactly what it did when forked from the kernel: a session of
its own, child subreaper, the run's cgroup and memory limit, the report pipe,
nothing left behind. Without a memory limit it is forked straight into the run's
cgroup (v2, clone3), so that the program is born there without a move between
cgroups (see _fork_into_run). The first run, and any run when the spawner is not (or no
longer) there, forks from the kernel as before.

The spawner ends when its socket does: the kernel's process is gone, however
it ended (not PR_SET_PDEATHSIG: that follows the thread that started it, and
runs happen in threads that end). Each supervisor's parent death signal then
ends its run as the kernel's death did before: nothing outlives the kernel.

Protocol, on a SOCK_SEQPACKET pair: the kernel sends a pickled `Launch` and,
as SCM_RIGHTS, the program's stdin, stdout, stderr, the report pipe's write
end and the descriptors it keeps (channels), in that order; the spawner answers
the supervisor's pid (or `error ERRNO`). The kept descriptors are put back at
the kernel's numbers: the program's environment names them.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import replace

from gorun_kernel import spans
from gorun_kernel.proc import linux, supervisor

GIVE_UP = 3  # spawners lost before every run forks from the kernel again, as before
MAX_FDS = 64  # stdio, the report pipe, and the channels a run keeps


class Spawner:
    """The kernel's side: one spawner process, started at the first run, shared by threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready = False
        self.owner = 0  # the pid that started it (a forked child of ours must not use it)
        self.failures = 0  # spawners that died or never said ready: after GIVE_UP, none

    def start(self, launch: supervisor.Launch) -> tuple[int, int]:
        """A supervisor for launch: (its pid, the read end of its report pipe)."""
        with self.lock:
            if self._usable():
                try:
                    return self._through_spawner(launch)
                except (OSError, ValueError, TypeError, AttributeError, pickle.PicklingError):
                    # gone (or a launch it cannot take): this run forks from us as
                    # before, the next starts a new spawner
                    self._drop()
            elif self.proc is None and self.failures < GIVE_UP:
                self._begin()
        return supervisor.start(launch)

    def _usable(self) -> bool:
        if self.sock is None or self.owner != os.getpid():
            return False
        if not self.ready:  # its first word, "ready", once it has imported what it needs
            self.sock.setblocking(False)
            try:
                self.ready = self.sock.recv(16) == b"ready"
            except BlockingIOError:
                return False
            finally:
                self.sock.setblocking(True)
            if not self.ready:
                self._drop()
        return self.ready

    def _begin(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-S", "-m", "gorun_kernel.proc.spawner", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], env={**os.environ, "PYTHONPATH": _path()},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,  # no Ctrl-C or kernel interrupt meant for us
            )  # fmt: skip
        except OSError:
            ours.close()
            self.proc = None
            return
        finally:
            theirs.close()
        self.sock, self.owner, self.ready = ours, os.getpid(), False

    def _through_spawner(self, launch: supervisor.Launch) -> tuple[int, int]:
        assert self.sock is not None
        r, w = os.pipe()
        try:
            fds = [*launch.stdio, w, *launch.keep]
            socket.send_fds(self.sock, [pickle.dumps(launch)], fds)
            answer = self.sock.recv(64).decode()
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        word, _, value = answer.partition(" ")
        if word != "pid":
            os.close(r)
            raise OSError(int(value or 0), "the spawner could not fork")
        return int(value), r

    def _drop(self) -> None:
        self.failures += 1
        if self.sock is not None:
            self.sock.close()
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait()
        self.sock, self.proc, self.ready = None, None, False

    def close(self) -> None:
        with self.lock:
            self._drop()
            self.failures = 0


def _path() -> str:
    """Where this package is found (the kernel's sys.path), for the spawner started with -S."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rest = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (here, rest) if p)


SPAWNER = Spawner()


def start(launch: supervisor.Launch) -> tuple[int, int]:
    """supervisor.start, by way of the kernel's spawner when there is one."""
    return SPAWNER.start(launch)


# -- the spawner process -----------------------------------------------------------


def _serve(sock: socket.socket, parent: int) -> None:
    gc.disable()  # nothing here makes cycles; a collection would only cost time per run
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, _on_child)  # supervisors are reaped as they end
    if os.getppid() != parent:
        return  # the kernel is gone already
    sock.send(b"ready")
    while True:
        _reap()
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 1 << 20, MAX_FDS)
        except OSError:
            return
        if not msg:
            return  # the kernel closed its end: it is gone
        spans.forget()
        spans.mark("spawner-got")
        try:
            pid = _fork_supervisor(pickle.loads(msg), fds)  # noqa: S301 (our kernel, a private pair)
            answer = f"pid {pid}"
        except OSError as e:
            answer = f"error {e.errno or 0}"
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(answer.encode())


def _fork_supervisor(launch: supervisor.Launch, fds: list[int]) -> int:
    me = os.getpid()
    pid, inside = _fork_into_run(launch)
    if pid == 0:
        spans.mark("sup-forked")
        code = 70
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the supervisor reaps its own way
            stdin, out, err, report, *_kept = _renumber(fds, launch.keep)
            launch = replace(launch, stdio=(stdin, out, err), inside=inside)
            code = supervisor._supervise(launch, report, me)
        finally:
            os._exit(code)
    return pid


def _fork_into_run(launch: supervisor.Launch) -> tuple[int, bool]:
    """os.fork's (pid, whether the child was born in the run's cgroup).

    A run without a memory limit has its supervisor born in its cgroup, so that
    the program is born there from the supervisor's posix_spawn: no move between
    cgroups (each waits for an RCU grace period: 10-20 ms, most of an unchanged
    cell's run). The supervisor then stays in it: a run's cgroup.kill ends it with
    the program, as its report's end says. (Under a memory limit the supervisor
    stays out, so that its pages never count: the program alone is born there.)
    """
    directory = launch.cgroup.born_in() if launch.cgroup and launch.memory is None else None
    if directory is not None:
        with contextlib.suppress(OSError):
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                pid = linux.fork_into_cgroup(fd)
            finally:
                os.close(fd)
            if pid is not None:
                return pid, True
    return os.fork(), False


def _renumber(fds: list[int], targets: list[int]) -> list[int]:
    """In the supervisor: move the received descriptors out of the way, then the kept
    ones to the kernel's numbers (the others stay where they land)."""
    base = max([*targets, 10]) + 1
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, base) for fd in fds]
    for fd in fds:
        os.close(fd)
    kept = moved[4:]
    for fd, target in zip(kept, targets, strict=True):
        os.dup2(fd, target, inheritable=False)
        os.close(fd)
    return [*moved[:4], *targets]


def _on_child(signum: int, frame: object) -> None:
    _reap()


def _reap() -> None:
    """The supervisors that have exited (each reported to the kernel before)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    _serve(sock, os.getppid())


if __name__ == "__main__":
    main()
