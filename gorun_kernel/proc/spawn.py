"""The child of a run, started directly or under a supervisor, and how it ended.

`PlainChild`: the go command (started by vfork, it ends by itself), or a
`!` line whose text asks to leave something running (`nohup`, `setsid`).
Its end is seen through a pidfd; then what is left in its process group is
killed (unless it is to be left behind) and it is reaped.

`SupervisedChild`: a program, under a per-run supervisor (supervisor.py)
that ends everything the program started, whatever its session. Its end is
the end of the supervisor's report pipe.

Both run the program in a session of its own, so its process group id is
its pid: interrupts and timeouts signal that group.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence

from gorun_kernel.errors import GorunError
from gorun_kernel.proc import supervisor
from gorun_kernel.proc.control import Control, die_with_parent, signal_group
from gorun_kernel.proc.memlimit import MemoryLimit


def find_program(argv: Sequence[str], cwd: str, env: Mapping[str, str]) -> str:
    """The executable argv[0] names: looked up in the run's PATH, or relative to
    the run's directory, as exec would find it there."""
    name = argv[0]
    if "/" in name:
        found: str | None = os.path.join(cwd, name)
    else:
        found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found is None or not os.path.exists(found):
        raise GorunError(f"cannot start {name}: {os.strerror(errno.ENOENT)}")
    return found


# Supervisors that have said all they had to say, but may still be exiting (a
# copy of a large process takes milliseconds to tear down): reaped without
# waiting, now or at the next start.
_exiting: set[int] = set()


def _reap_later(pid: int | None = None) -> None:
    if pid is not None:
        _exiting.add(pid)
    for p in list(_exiting):
        try:
            done, _ = os.waitpid(p, os.WNOHANG)
        except ChildProcessError:
            done = p
        if done:
            _exiting.discard(p)


class PlainChild:
    """A child we start ourselves; `leave_behind`: its process group may outlive it."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: str,
        env: Mapping[str, str],
        stdio: tuple[int, int, int],
        keep: list[int],
        control: Control,
        *,
        dies_with_us: bool,
        leave_behind: bool,
    ) -> None:
        self.control = control
        self.leave_behind = leave_behind
        try:
            self.proc = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdin=stdio[0], stdout=stdio[1],
                stderr=stdio[2], pass_fds=keep, start_new_session=True,
                # PDEATHSIG costs a plain fork instead of vfork (~3 ms): not for
                # the go command, which ends by itself.
                preexec_fn=die_with_parent if dies_with_us else None,
            )  # fmt: skip
        except OSError as e:
            raise GorunError(f"cannot start {argv[0]}: {e.strerror or e}") from None
        self.pid: int | None = self.proc.pid
        control.started(self.proc.pid)
        self.returncode: int | None = None
        self.done = False  # ended and reaped, and what it left is handled
        self.error: GorunError | None = None
        self.pidfd: int | None = None

    def watch(self, sel: selectors.BaseSelector) -> None:
        with contextlib.suppress(AttributeError, OSError):
            self.pidfd = os.pidfd_open(self.proc.pid)
            sel.register(self.pidfd, selectors.EVENT_READ, "exit")

    @property
    def polled(self) -> bool:
        """Whether the loop must poll for its end (no pidfd on this system)."""
        return self.pidfd is None

    def event(self, sel: selectors.BaseSelector, what: str) -> None:
        """Its pidfd became readable (or, without one, the loop polls)."""
        if self.done or (what != "exit" and self.proc.poll() is None):
            return
        if self.pidfd is not None:
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(self.pidfd)
        # Exited but not reaped yet: its pid and group id cannot have been
        # reused, so killing the group hits only what it left.
        if not self.leave_behind:
            signal_group(self.proc.pid, signal.SIGKILL)
        self.control.running = None  # before reaping: after it the pid may be reused
        self.returncode = self.proc.wait()
        self.done = True

    def kill(self) -> None:
        signal_group(self.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        if not self.done:  # our own failure: it was killed, reap it
            self.kill()
            self.proc.wait()
        if self.pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self.pidfd)


class SupervisedChild:
    """A program under its supervisor; pid is known once the supervisor says so."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: str,
        env: Mapping[str, str],
        stdio: tuple[int, int, int],
        keep: list[int],
        control: Control,
        memory: MemoryLimit | None,
    ) -> None:
        self.control = control
        launch = supervisor.Launch(
            find_program(argv, cwd, env), argv, cwd, dict(env), stdio, keep, memory
        )
        self.argv0 = argv[0]
        _reap_later()
        self.supervisor, self.report = supervisor.start(launch)
        control.supervisor = self.supervisor
        self.pid: int | None = None
        self.returncode: int | None = None
        self.done = False  # the supervisor is gone, and with it all the program started
        self.error: GorunError | None = None
        self.buffer = b""
        self.polled = False

    def watch(self, sel: selectors.BaseSelector) -> None:
        os.set_blocking(self.report, False)
        sel.register(self.report, selectors.EVENT_READ, "report")

    def event(self, sel: selectors.BaseSelector, what: str) -> None:
        if what != "report":
            return
        try:
            data = os.read(self.report, 4096)
        except BlockingIOError:
            return
        if data:
            self.buffer += data
            *lines, self.buffer = self.buffer.split(b"\n")
            for line in lines:
                self._said(line.decode())
            return
        sel.unregister(self.report)  # the supervisor is done: everything has ended
        self.control.supervisor = None
        self.control.running = None
        if self.returncode is None:  # it died without a word (never expected)
            if self.pid is not None:
                signal_group(self.pid, signal.SIGKILL)
            self.returncode = -signal.SIGKILL
        _reap_later(self.supervisor)
        self.done = True

    def _said(self, line: str) -> None:
        word, _, value = line.partition(" ")
        if word == "pid":
            self.pid = int(value)
            self.control.started(self.pid)
        elif word == "error":
            self.error = GorunError(f"cannot start {self.argv0}: {os.strerror(int(value))}")
            self.returncode = 127
        elif word == "exit":
            self.returncode = int(value)

    def kill(self) -> None:
        if self.pid is not None:
            signal_group(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.supervisor, signal.SIGTERM)

    def close(self) -> None:
        if not self.done:  # our own failure: stop it all
            self.kill()
            _reap_later(self.supervisor)
            self.control.supervisor = None
        with contextlib.suppress(OSError):
            os.close(self.report)
