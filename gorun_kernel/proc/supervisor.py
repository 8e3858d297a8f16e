"""The per-run supervisor: nothing a program starts outlives its run.

A program can start children that leave its process group and session
(`setsid`, a daemon's double fork); killing the group misses them, and once
their parent exits they are re-parented to init, out of our reach. So each
program runs under a supervisor: a process forked from ours (no exec, no
interpreter start-up) that makes itself a child subreaper
(PR_SET_CHILD_SUBREAPER), so that every orphan of the program's tree is
re-parented to it whatever its session. The supervisor starts the program,
reaps orphans as they end, and when the program exits (or on SIGTERM: we ask
it to stop; or our process died: PR_SET_PDEATHSIG, whose signal is SIGCONT, so
that it also wakes a supervisor the program stopped) kills the program's
group and then every descendant, reaps them all, reports the program's own
exit status on a pipe, and exits.

The user's process (IPython, the kernel) is never made a subreaper: its own
orphans would pile up as zombies. The forked supervisor touches nothing of
the parent's: no garbage collection (a finalizer could talk to a zmq
context), no output, and it leaves with os._exit.

The report pipe carries text lines: `pid N` once the program runs, `error
ERRNO` if it could not start, `exit CODE` (negative: killed by that signal)
once it and everything it started are gone. The supervisor keeps none of the
program's descriptors and closes the report pipe before it exits: tearing
down a copy of a large process takes milliseconds, which no run waits for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import os
import signal
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gorun_kernel import spans
from gorun_kernel.proc import linux
from gorun_kernel.proc.cgroup import RunGroup
from gorun_kernel.proc.memlimit import MemoryLimit

_REAP_BOUND = 5.0  # seconds to wait for killed processes (one stuck in the kernel: give up)
_DEFAULT_SIGNALS = sorted(signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP})


AVAILABLE = linux.HAS_PRCTL and hasattr(os, "waitid")


@dataclass
class Launch:
    """What the supervisor starts, and with which descriptors (numbers in our process)."""

    path: str  # the executable, already looked up in PATH
    argv: Sequence[str]
    cwd: str
    env: dict[str, str]
    stdio: tuple[int, int, int]  # become the program's 0, 1, 2
    keep: list[int] = field(default_factory=list)  # inherited at the same numbers (channels)
    memory: MemoryLimit | None = None
    cgroup: RunGroup | None = None  # the program is started in it (cgroup.py)
    # The supervisor was born in the cgroup (the spawner forked it there): the program
    # is born there too, from a plain posix_spawn, and the supervisor stays.
    inside: bool = False


class Stop(Exception):
    """SIGTERM in the supervisor: end the program and everything it started now."""


def start(launch: Launch) -> tuple[int, int]:
    """Fork the supervisor; (its pid, the read end of its report pipe)."""
    r, w = os.pipe()
    parent = os.getpid()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork in a threaded process; the child runs
        # only the code below and never returns to the parent's code.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the supervisor
        code = 70
        try:
            os.close(r)
            code = _supervise(launch, w, parent)
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


class _Stopper:
    """SIGTERM (from us, or our parent's death: see `orphaned`) ends the run; only
    once the program is started and reported is it safe to raise in the middle of
    things."""

    def __init__(self) -> None:
        self.asked = False
        self.armed = False

    def __call__(self, signum: int, frame: object) -> None:
        self.asked = True
        if self.armed:
            # Raise once: a second SIGTERM (our parent asked, then died: PDEATHSIG)
            # could otherwise land in the `except Stop` clause, before SIGTERM is
            # ignored, and end the supervisor with its clean-up and report undone.
            self.armed = False
            raise Stop

    def arm(self) -> None:
        self.armed = True
        if self.asked:
            self.armed = False
            raise Stop


def _ignore(signum: int, frame: object) -> None:
    """A handler, not SIG_IGN: exec resets it, so the program gets the signal's default."""


def _supervise(launch: Launch, report: int, parent: int) -> int:
    stopper = prepare(parent)
    if stopper is not None:  # (None: our parent died before PDEATHSIG was armed)
        serve(launch, report, stopper)
    return 0


def prepare(parent: int) -> _Stopper | None:
    """Make this process a supervisor: its own session, child subreaper, its parent's
    death noticed. None if the parent is gone already.

    Done before the run's launch is known: a standby (spawner.py) does this ahead."""
    gc.disable()
    spans.mark("sup-start")
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, _ignore)
    stopper = _Stopper()
    signal.signal(signal.SIGTERM, stopper)
    watch_parent(stopper, parent)
    os.setsid()  # a Ctrl-C or a kernel interrupt meant for our parent never reaches us
    linux.become_child_subreaper()
    linux.set_parent_death_signal(signal.SIGCONT)
    if os.getppid() != parent:
        return None
    spans.mark("sup-setup")
    return stopper


def new_stopper() -> _Stopper:
    """A run's own stopper, SIGTERM's handler from now on (a standby's next run gets a
    new one: nothing asked of the run before carries over)."""
    stopper = _Stopper()
    signal.signal(signal.SIGTERM, stopper)
    return stopper


def watch_parent(stopper: _Stopper, parent: int) -> None:
    """Our parent's death ends the run (its death signal is SIGCONT, the one signal but
    SIGKILL that also wakes us if the program stopped us (SIGSTOP))."""

    def orphaned(signum: int, frame: object) -> None:
        if os.getppid() != parent:
            stopper(signal.SIGTERM, frame)

    signal.signal(signal.SIGCONT, orphaned)


def serve(
    launch: Launch,
    report: int,
    stopper: _Stopper,
    keep: tuple[int, ...] = (),
    open_now: list[int] | None = None,
    reaped: Callable[[], None] | None = None,
) -> bool:
    """Start the program, end everything it started, report. Whether all it started
    was reaped (False: a process would not go within _REAP_BOUND).

    keep: our own descriptors the program's set-up must leave open (a standby's
    pipes to the spawner and its socket); open_now: all that are open, where known;
    reaped: called once all the run started is reaped, before the report's last line
    (a standby is then free for the next launch, which can only come after it)."""
    report = _descriptors(launch, report, keep, open_now)
    spans.mark("sup-fds")
    try:
        program = _spawn(launch)
    except OSError as e:
        if reaped is not None:
            reaped()  # (nothing of the run is left: its exec failed, and was waited for)
        _say(report, f"error {e.errno or errno.EIO}")
        _close(0, 1, 2, *launch.keep, report)
        return True
    spans.mark("sup-spawned")
    _say(report, f"pid {program}")
    _close(0, 1, 2, *launch.keep)  # the program's now: their ends come with its end
    code = -signal.SIGKILL
    try:
        stopper.arm()
        code = _wait_for(program)
        spans.mark("sup-program-exit")
    except Stop:
        pass
    # Stopping now: a second SIGTERM (our parent asked, then died: PDEATHSIG) must
    # not cut the clean-up short and leave what the program started running.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGCONT, signal.SIG_DFL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(program, signal.SIGKILL)
    clean = False
    with contextlib.suppress(Stop):
        _end_descendants(program)
        clean = True
    signal.setitimer(signal.ITIMER_REAL, 0)  # (_end_descendants' bound: a standby goes on)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    if clean and reaped is not None:
        reaped()
    spans.mark("sup-ended")
    spans.flush(".supervisor")  # (before the report ends: then the run's cgroup.kill may end us)
    _say(report, f"exit {code}")
    os.close(report)  # the run is over now, not after our own exit (a large process's)
    return clean


def _descriptors(
    launch: Launch, report: int, own: tuple[int, ...] = (), open_now: list[int] | None = None
) -> int:
    """Install the program's 0, 1, 2; close every other descriptor of our parent's
    (but own: ours, not inheritable, so never the program's). open_now: every
    descriptor open, where we know them all (a standby: no look in /proc).

    Returns the report pipe's (possibly moved) number."""
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in launch.stdio]
    report = fcntl.fcntl(report, fcntl.F_DUPFD_CLOEXEC, 3) if report < 3 else report
    for target, fd in enumerate(moved):
        os.dup2(fd, target, inheritable=True)
    keep = {0, 1, 2, report, *launch.keep, *own}
    open_fds = [*open_now, *moved] if open_now is not None else linux.open_fds()
    if open_fds is None:
        open_fds = list(range(os.sysconf("SC_OPEN_MAX")))
    for fd in open_fds:
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    for fd in launch.keep:
        os.set_inheritable(fd, True)
    return report


def _spawn(launch: Launch) -> int:
    """Start the program in a session of its own, every signal at its default.

    In a run's cgroup (v2), the program is born there: a fork straight into it
    (clone3, linux.fork_into_cgroup), then the exec. Otherwise, without a
    memory limit, this is posix_spawn (a vfork: cheap, whatever our size), in
    the cgroup we move into for it and out of again; a limit is set between a
    fork and the exec. (Not subprocess.Popen: its object reaps the child when
    it is dropped, and we reap it ourselves.)
    """
    os.chdir(launch.cwd)
    born = None if launch.inside else _born_in_cgroup(launch)
    if born is not None:
        return born
    if launch.memory is not None:
        return _fork_exec(launch, launch.memory)
    moves = launch.cgroup is not None and not launch.inside
    if moves:
        launch.cgroup.enter()  # (failing: OSError, reported as the program's start)
        spans.mark("sup-cgroup-entered")
    try:
        return os.posix_spawn(
            launch.path,
            list(launch.argv),
            launch.env,
            setsid=True,
            setsigdef=_DEFAULT_SIGNALS,
            setsigmask=(),
        )
    finally:
        spans.mark("sup-posix-spawned")
        if moves:
            launch.cgroup.leave()  # born there, the program stays; we go back


def _born_in_cgroup(launch: Launch) -> int | None:
    """The program started by a fork into the run's v2 cgroup; None where that cannot
    be (no cgroup, a v1 one, no clone3 here): the caller starts it its own way."""
    directory = launch.cgroup.born_in() if launch.cgroup is not None else None
    if directory is None:
        return None
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    errr, errw = os.pipe()
    try:
        pid = linux.fork_into_cgroup(fd)
        if pid == 0:
            _exec_child(launch, errr, errw, launch.memory, born=True)
    finally:
        os.close(fd)
    if pid is None:
        os.close(errr)
        os.close(errw)
        return None
    spans.mark("sup-cloned")
    return _exec_result(pid, errr, errw)


def _fork_exec(launch: Launch, memory: MemoryLimit) -> int:
    errr, errw = os.pipe()
    pid = os.fork()
    if pid == 0:
        _exec_child(launch, errr, errw, memory, born=False)
    return _exec_result(pid, errr, errw)


def _exec_child(
    launch: Launch, errr: int, errw: int, memory: MemoryLimit | None, born: bool
) -> None:
    """In the program's process, between the fork and the exec; never returns.
    born: already in the run's (first) cgroup."""
    try:
        os.close(errr)
        os.setsid()
        if memory is not None:
            linux.set_parent_death_signal(signal.SIGKILL)
        if launch.cgroup is not None:
            launch.cgroup.enter(born=born)
        if memory is not None:
            memory.apply_in_child()
        for sig in _DEFAULT_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        os.execve(launch.path, list(launch.argv), launch.env)  # noqa: S606 (argv, no shell)
    except OSError as e:
        os.write(errw, str(e.errno or errno.EIO).encode())
    except BaseException:  # (ValueError, OverflowError: said as "invalid argument")
        os.write(errw, str(errno.EINVAL).encode())
    finally:
        os._exit(127)


def _exec_result(pid: int, errr: int, errw: int) -> int:
    """The child's pid once its exec succeeded (the pipe closes with it); OSError if not."""
    os.close(errw)
    with os.fdopen(errr, "rb") as f:
        failed = f.read()
    if failed:
        os.waitpid(pid, 0)
        raise OSError(int(failed), os.strerror(int(failed)))
    return pid


def _wait_for(program: int) -> int:
    """Reap orphans as they end until the program exits; its status (not reaped yet,
    so that its pid and group id stay ours while we kill what it left)."""
    while True:
        info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
        if info is None:
            continue
        if info.si_pid == program:
            if info.si_code == os.CLD_EXITED:
                return info.si_status
            return -info.si_status
        with contextlib.suppress(ChildProcessError):
            os.waitpid(info.si_pid, 0)


def _end_descendants(program: int | None = None) -> None:
    """Kill and reap every process below us, however deep and whatever its session
    (program: ours, ended or killed, its group killed)."""

    def give_up(signum: int, frame: object) -> None:
        raise Stop

    signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, _REAP_BOUND)
    if program is not None:
        # Most often the program was all there was: reaped, nothing is below us (what it
        # started would be ours now, the subreaper's: its children, or theirs), and no
        # walk of /proc is needed.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(program, 0)
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return  # (otherwise a child is left, running or not reaped: all are killed below)
    me = os.getpid()
    while True:
        for pid in linux.descendants(me):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)  # everything listed was killed: one of them ends soon
        except ChildProcessError:
            return


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _say(fd: int, line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, (line + "\n").encode())
