"""A long-lived spawner of per-run supervisors, each forked before its run: a run without a fork.

Each program runs under a supervisor of its own (supervisor.py). Forked from
the kernel, that costs a copy of the kernel's page tables each run (2-30 ms for
a 60 MB Python with its threads, more on a busy machine). So the kernel starts,
at its first run, one small process of its own (`python -m gorun_kernel.proc.spawner`,
a few MB: this module and the supervisor's), and from then on each run's supervisor
comes from that one, and does exactly what it did when forked from the kernel: a
session of its own, child subreaper, the run's cgroup and memory limit, the report
pipe, nothing left behind. The first run, and any run when the spawner is not (or no
longer) there, forks from the kernel as before.

Even a small fork costs a millisecond or two, and a run's cgroup a directory made:
most of an unchanged cell's re-run (issue 23). So the spawner keeps a supervisor
ready before it is asked for one, a *standby*: forked into a cgroup of its own
(clone3 with CLONE_INTO_CGROUP, or moved there once, ahead of time), already a
session leader, subreaper, watching its parent. The standby itself takes the next
launch from the kernel's socket, answers its pid and its cgroup's name, and
supervises; the program is born in that cgroup from its posix_spawn (a vfork: no
move between cgroups, each of which waits for an RCU grace period). Once the run is
over and everything it started is reaped (the cgroup holds the supervisor alone:
the kernel checks, and ends the cgroup otherwise), the same supervisor waits for
the next launch: no fork, no new cgroup, and no first touches of pages copied from
the spawner (0.3-0.5 ms) on a run's way. A second standby is forked only when a
launch waits and none is free (a background program still running); a standby
whose run ends while another waits exits.

The spawner and its standby end when the kernel's socket does: the kernel's
process is gone, however it ended (not PR_SET_PDEATHSIG: that follows the thread
that started it, and runs happen in threads that end). Each supervisor's parent
death signal then ends its run as the kernel's death did before: nothing outlives
the kernel.

Protocol, on a SOCK_SEQPACKET pair: the kernel sends a pickled `Launch` and,
as SCM_RIGHTS, the program's stdin, stdout, stderr, the report pipe's write
end and the descriptors it keeps (channels), in that order; the standby answers
`pid PID GROUP` (GROUP: the name of the run's cgroup in the session's, made by
the spawner, or `-` where the launch brought its own, under a memory limit, or
there are none), `error ERRNO`, or `retry` (it cannot take this launch: the
kernel forks the run's supervisor itself). The kept descriptors are put back at
the kernel's numbers: the program's environment names them. Between a standby and
the spawner, a pipe: `taken` once it answered, `ended` once its run's report is
done with all it started reaped (the spawner answers on a second pipe: `w`, wait
for the next launch, or `x`), `gone` if the kernel's socket ended.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import itertools
import os
import pickle
import selectors
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from gorun_kernel import spans
from gorun_kernel.proc import cgroup, linux, supervisor
from gorun_kernel.proc.cgroup import RunGroup

GIVE_UP = 3  # spawners lost before every run forks from the kernel again, as before
ANSWER_WITHIN = 10.0  # seconds a standby has to answer a launch (it answers in under 1 ms)
MAX_FDS = 64  # stdio, the report pipe, and the channels a run keeps
LOST_STANDBYS = 3  # standbys in a row that die untaken: the spawner gives up (and the
# kernel forks its runs' supervisors itself)

MakeGroup = Callable[[], RunGroup | None]


class Retry(OSError):
    """A standby that cannot take this launch: the kernel forks its supervisor itself."""


class Spawner:
    """The kernel's side: one spawner process, started at the first run, shared by threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready = False
        self.owner = 0  # the pid that started it (a forked child of ours must not use it)
        self.failures = 0  # spawners that died or never said ready: after GIVE_UP, none
        # The session's v2 cgroup, where the spawner makes each standby's (None: the
        # kernel makes a run's cgroup itself, as under a memory limit).
        self.groups: Path | None = None
        self.origin: Path | None = None  # cgroup.procs of the cgroup the session's is in
        self.taken: dict[int, int] = {}  # launches each standby (by pid) has answered

    def start(
        self, launch: supervisor.Launch, make_group: MakeGroup
    ) -> tuple[int, int, RunGroup | None, int]:
        """A supervisor for launch: (its pid, the read end of its report pipe, the run's
        cgroup, which of the supervisor's launches this is: a standby's count, or 0 for
        one forked for this run alone). make_group makes the run's cgroup where the
        standby brings none."""
        made = False
        with self.lock:
            if self._usable():
                try:
                    if self.groups is None or launch.memory is not None:
                        launch, made = replace(launch, cgroup=make_group()), True
                    pid, report, name = self._through_spawner(launch)
                    self.taken[pid] = self.taken.get(pid, 0) + 1
                    return pid, report, self._group(launch, name), self.taken[pid]
                except Retry:
                    pass  # this launch forks its supervisor from us; the spawner stays
                except (OSError, ValueError, TypeError, AttributeError, pickle.PicklingError):
                    # gone (or a launch it cannot take): this run forks from us as
                    # before, the next starts a new spawner
                    self._drop()
            elif self.proc is None and self.failures < GIVE_UP:
                self._begin()
        if not made:
            launch = replace(launch, cgroup=make_group())
        pid, report = supervisor.start(launch)
        return pid, report, launch.cgroup, 0

    def _group(self, launch: supervisor.Launch, name: str) -> RunGroup | None:
        if launch.cgroup is not None or name == "-" or self.groups is None:
            return launch.cgroup
        origin = [self.origin] if self.origin is not None else []
        return RunGroup([self.groups / name], 2, origin, kept=True)

    def keeps(self, group: RunGroup, standby: int, launch: int) -> bool:
        """After a run's clean report: whether its standby's cgroup stays, for its next
        run. It does if it holds the standby alone; or if the standby has taken another
        launch since (another thread's: a background program's run and a cell's), whose
        program is then rightly there. Under the lock: no launch is answered between
        the count and the look."""
        with self.lock:
            return self._moved_on(standby, launch) or group.holds_only(standby)

    def stop_unless_moved_on(self, standby: int, launch: int, stop: Callable[[], None]) -> bool:
        """stop() (a kill of the standby's launch-th run: its program, its cgroup, the
        standby), unless the standby has taken a later launch: that run is then over,
        reported, and what the standby runs now is the later launch (a background
        program's --timeout or %kill just as it ended, while a cell started). Under the
        lock: no launch is answered until stop() is done. Whether it stopped."""
        with self.lock:
            if self._moved_on(standby, launch):
                return False
            stop()
            return True

    def _moved_on(self, standby: int, launch: int) -> bool:
        return launch > 0 and self.taken.get(standby, 0) > launch

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
        box = cgroup.sandbox()
        args: list[str] = []
        self.groups = self.origin = None
        if box is not None and box.lifetime is not None and box.lifetime_version == 2:
            self.groups, self.origin = box.lifetime, box.origin.get(box.lifetime)
            args = [str(self.groups), str(self.origin or "")]
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-S", "-m", "gorun_kernel.proc.spawner", str(theirs.fileno()),
                 *args],
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

    def _through_spawner(self, launch: supervisor.Launch) -> tuple[int, int, str]:
        assert self.sock is not None
        r, w = os.pipe()
        try:
            fds = [*launch.stdio, w, *launch.keep]
            socket.send_fds(self.sock, [pickle.dumps(launch)], fds)
            # A standby that died with the launch (killed between its recv and its
            # answer) answers never: after ANSWER_WITHIN the spawner is dropped (its
            # standbys' runs end with it) and the run forks from us, not a wedge.
            self.sock.settimeout(ANSWER_WITHIN)
            try:
                answer = self.sock.recv(256).decode()
            finally:
                self.sock.settimeout(None)
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        word, _, value = answer.partition(" ")
        if word != "pid":
            os.close(r)
            if word == "retry":
                raise Retry("the standby supervisor cannot take this launch")
            raise OSError(int(value or 0), "the spawner could not fork")
        pid, _, name = value.partition(" ")
        return int(pid), r, name or "-"

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


def start(launch: supervisor.Launch, make_group: MakeGroup) -> tuple[int, int, RunGroup | None]:
    """supervisor.start, by way of the kernel's spawner when there is one."""
    return SPAWNER.start(launch, make_group)


# -- the spawner process -----------------------------------------------------------


class _Groups:
    """The standbys' cgroups, made in the session's (None: none made here)."""

    def __init__(self, parent: Path | None, origin: Path | None) -> None:
        self.parent = parent
        self.origin = [origin] if origin is not None else []
        self.numbers = itertools.count(1)
        self.of: dict[int, RunGroup] = {}  # a standby's pid: its cgroup, until reaped

    def make(self) -> RunGroup | None:
        if self.parent is None:
            return None
        # (the spawner's pid in it: a new spawner's never meet a dropped one's)
        directory = self.parent / f"run-s{os.getpid()}-{next(self.numbers)}"
        try:
            directory.mkdir()
        except OSError:
            return None
        return RunGroup([directory], 2, self.origin)

    def reaped(self, pid: int) -> None:
        """A standby is gone, and with it its run: its cgroup is empty (unless the
        kernel removed it already), or holds what its run left, killed now."""
        group = self.of.pop(pid, None)
        if group is not None:
            group.end(wait=False)


_GROUPS = _Groups(None, None)


class _Standby:
    """A supervisor made ahead of its run, and its two pipes with the spawner."""

    def __init__(self, pid: int, pipe: int, back: int) -> None:
        self.pid = pid
        self.pipe = pipe  # its words to us: taken, ended, gone
        self.back = back  # ours to it, after `ended`: w (wait for the next launch) or x
        self.said = b""
        self.waiting = True  # for a launch (not running one)
        self.taken = False  # it took a launch once


def _serve(sock: socket.socket, parent: int) -> None:
    gc.disable()  # nothing here makes cycles; a collection would only cost time per run
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, _on_child)  # standbys are reaped as they end
    if os.getppid() != parent:
        return  # the kernel is gone already
    sock.send(b"ready")
    sel = selectors.DefaultSelector()
    standbys: dict[int, _Standby] = {}  # by their pipe
    wanted = True  # a standby is to be made now (at the start; a launch waits with none)
    lost = 0
    while True:
        waiting = any(one.waiting for one in standbys.values())
        if not waiting and wanted:
            one = _fork_standby(sock, sel)
            standbys[one.pipe] = one
            waiting, wanted = True, False
        if not waiting:
            sel.register(sock, selectors.EVENT_READ)  # a launch waits: a standby now
        try:
            events = sel.select()
        finally:
            if not waiting:
                sel.unregister(sock)
        launch_waits = False
        for key, _ in sorted(events, key=lambda e: e[0].fileobj is sock):  # words first
            if key.fileobj is sock:
                launch_waits = not any(one.waiting for one in standbys.values())
                continue
            one = standbys.get(key.fd)
            if one is None:
                continue
            data = _read(key.fd)
            if not data:  # it exited (told to, or killed with its run)
                del standbys[key.fd]
                sel.unregister(key.fd)
                os.close(key.fd)
                os.close(one.back)
                lost = lost + 1 if not one.taken else 0
                if lost >= LOST_STANDBYS:
                    return  # standbys die at birth here: the kernel forks its own
                continue
            *words, one.said = (one.said + data).split(b"\n")
            for word in words:
                if word == b"gone":
                    _reap_standby(one)
                    return  # the kernel closed its end: it is gone
                if word == b"taken":
                    one.waiting, one.taken, lost = False, True, 0
                elif word == b"ended":
                    # Its run is over and all it started reaped: it waits for the next
                    # launch, unless another does already (runs at once: a background
                    # program and a cell).
                    again = not any(o.waiting for o in standbys.values())
                    _write(one.back, b"w" if again else b"x")
                    one.waiting = again
        wanted = wanted or launch_waits


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 64)
    except OSError:
        return b""


def _write(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, data)


def _reap_standby(one: _Standby) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(one.pid, 0)
    _GROUPS.reaped(one.pid)


def _fork_standby(sock: socket.socket, sel: selectors.BaseSelector) -> _Standby:
    me = os.getpid()
    group = _GROUPS.make()
    r, w = os.pipe()
    back_r, back_w = os.pipe()
    # SIGCHLD waits until the standby's cgroup is recorded: one that dies at once is
    # then reaped with its cgroup removed, not reaped before anyone knew its cgroup.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        pid, inside = _fork_into(group)
        if pid == 0:
            code = 70
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the supervisor reaps its way
                _close_all_but(0, 1, 2, sock.fileno(), w, back_r)
                code = _stand_by(sock, w, back_r, group, inside, me)
            finally:
                os._exit(code)
        if group is not None:
            _GROUPS.of[pid] = group
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    os.close(w)
    os.close(back_r)
    sel.register(r, selectors.EVENT_READ)
    return _Standby(pid, r, back_w)


def _close_all_but(*keep: int) -> None:
    """In a new standby: the spawner's other descriptors (other standbys' pipes) closed."""
    for fd in linux.open_fds() or []:
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _fork_into(group: RunGroup | None) -> tuple[int, bool]:
    """os.fork's (pid, whether the child was born in group)."""
    directory = group.born_in() if group is not None else None
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


def _stand_by(
    sock: socket.socket,
    pipe: int,
    back: int,
    group: RunGroup | None,
    inside: bool,
    spawner: int,
) -> int:
    """In the standby: be a supervisor now; then take a launch and supervise it, and
    again for the next launch while the spawner says so (its run's cgroup and its
    pages are then those of the run before: no fork, no new cgroup, no first touch of
    copied pages on the way to a run)."""
    if group is not None and not inside:
        try:
            group.enter()  # a move between cgroups, ahead of its run (no clone3 here)
        except OSError:
            group = None  # the launch that wants a cgroup is sent back: `retry`
    if supervisor.prepare(spawner) is None:
        return 0  # the spawner died before our death signal was armed

    def orphaned(signum: int, frame: object) -> None:
        if os.getppid() != spawner:
            os._exit(0)  # between runs: nothing to end

    own = (pipe, back, sock.fileno())
    _rehearse()
    while True:
        signal.signal(signal.SIGCONT, orphaned)
        # Between runs a stop asked (late, for the run before) has nothing to stop;
        # each run gets a stopper of its own once its launch is here.
        signal.signal(signal.SIGTERM, _between_runs)
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 1 << 20, MAX_FDS)
        except OSError:
            msg, fds = b"", []
        if not msg:
            _tell(pipe, b"gone")
            return 0
        spans.forget()
        spans.mark("standby-got")
        launch = _unpickled(msg)
        wants_group = launch.cgroup is None and _GROUPS.parent is not None
        if os.getppid() != spawner or (wants_group and group is None):
            _tell(pipe, b"taken")
            _answer(sock, "retry")
            for fd in fds:
                os.close(fd)
            return 0
        name = "-"
        if launch.cgroup is None and group is not None:
            launch, name = replace(launch, cgroup=group, inside=True), group.dirs[0].name
        spans.mark("standby-loaded")
        stopper = supervisor.new_stopper()
        # The spawner hears `taken` before the kernel hears us: once the kernel has our
        # answer, an interrupt may kill us with the run's cgroup at once, and a standby
        # that dies untaken counts as one lost at birth (three: the spawner gives up).
        _tell(pipe, b"taken")
        spans.mark("standby-told")
        _answer(sock, f"pid {os.getpid()} {name}")
        spans.mark("standby-answered")
        supervisor.watch_parent(stopper, spawner)
        if set(launch.keep) & set(own):  # ours where the program's are to be: moved
            base = max(launch.keep) + 1
            pipe, back = _moved(pipe, base), _moved(back, base)
            sock = socket.socket(fileno=_moved(sock.detach(), base))
            own = (pipe, back, sock.fileno())
        received = _renumber(fds, launch.keep)
        stdin, out, err, report, *_kept = received
        launch = replace(launch, stdio=(stdin, out, err))
        # (all that is open here: ours and the launch's, since _close_all_but)
        clean = supervisor.serve(
            launch, report, stopper, own, [*own, *received], partial(_tell, pipe, b"ended")
        )
        if not clean:
            return 0  # something it started would not go: the kernel ends the cgroup
        signal.signal(signal.SIGCONT, orphaned)
        try:
            if os.read(back, 1) != b"w":
                return 0
        except OSError:
            return 0


_last: tuple[bytes, supervisor.Launch] | None = None  # the launch before, as sent and loaded


def _unpickled(msg: bytes) -> supervisor.Launch:
    """The launch sent: an unchanged cell's re-run sends the same bytes as the run
    before, loaded once (0.05-0.13 ms of the way to its start). Kept only where the
    launch holds nothing a run changes: no cgroup, no memory limit of its own."""
    global _last
    if _last is not None and _last[0] == msg:
        return _last[1]
    launch: supervisor.Launch = pickle.loads(msg)  # noqa: S301 (our kernel, a private pair)
    _last = (msg, launch) if launch.cgroup is None and launch.memory is None else None
    return launch


def _moved(fd: int, base: int) -> int:
    """fd at a number of base or above (close-on-exec), the old number closed."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, base)
    os.close(fd)
    return new


def _between_runs(signum: int, frame: object) -> None:
    """SIGTERM while no run is ours: nothing to stop."""


def _rehearse() -> None:
    """Unpickle a launch like the kernel's before the real one comes.

    A fork shares its parent's pages until it writes them, and a Python process writes
    to every object it touches (reference counts): the first unpickling in a new
    standby copied 0.3-0.4 ms worth of pages, on the run's path. Done now, that is
    done while no one waits."""
    sample = supervisor.Launch("/", ["-"], "/", dict(os.environ), (0, 1, 2), [3])
    pickle.loads(pickle.dumps(sample))  # noqa: S301 (our own bytes)
    linux.open_fds()


def _answer(sock: socket.socket, text: str) -> None:
    with contextlib.suppress(OSError):
        sock.send(text.encode())


def _tell(pipe: int, word: bytes) -> None:
    with contextlib.suppress(OSError):
        os.write(pipe, word + b"\n")


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
    """Standbys that have exited (each reported to the kernel before): reaped, their
    cgroups removed."""
    with contextlib.suppress(ChildProcessError):
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if not pid:
                return
            _GROUPS.reaped(pid)


def main() -> None:
    global _GROUPS
    sock = socket.socket(fileno=int(sys.argv[1]))
    os.set_inheritable(sock.fileno(), False)  # (passed to us inheritable: never a program's)
    if len(sys.argv) > 2:
        _GROUPS = _Groups(Path(sys.argv[2]), Path(sys.argv[3]) if sys.argv[3:4] != [""] else None)
    _serve(sock, os.getppid())


if __name__ == "__main__":
    main()
