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
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from gorun_kernel import spans
from gorun_kernel.errors import GorunError
from gorun_kernel.proc import cgroup, linux, spawner, supervisor
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


# Seconds after its start a program's pidfd joins the loop (its end without a report:
# a program that stopped its supervisor); the loop polls every 20 ms until then.
WATCH_AFTER = 0.02

# Seconds a supervisor has to report once its program has ended or was killed (it
# ends what the program started, bounded by its own 5 s): then we end it all.
TAKE_OVER = 7.0

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


def _before_exec(dies_with_us: bool, memory: MemoryLimit | None) -> Callable[[], None] | None:
    """What a plain child does between fork and exec (None: a vfork, nothing)."""
    if memory is None:
        return die_with_parent if dies_with_us else None

    def arm() -> None:  # (RLIMIT_DATA: a `!nohup` line under the class's ceiling)
        if dies_with_us and die_with_parent is not None:
            die_with_parent()
        memory.apply_in_child()

    return arm


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
        memory: MemoryLimit | None = None,
    ) -> None:
        self.control = control
        self.leave_behind = leave_behind
        try:
            self.proc = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdin=stdio[0], stdout=stdio[1],
                stderr=stdio[2], pass_fds=keep, start_new_session=True,
                # PDEATHSIG costs a plain fork instead of vfork (~3 ms): not for
                # the go command, which ends by itself.
                preexec_fn=_before_exec(dies_with_us, memory),
            )  # fmt: skip
        except OSError as e:
            raise GorunError(f"cannot start {argv[0]}: {e.strerror or e}") from None
        self.pid: int | None = self.proc.pid
        control.started(self.proc.pid)
        self.returncode: int | None = None
        self.done = False  # ended and reaped, and what it left is handled
        self.error: GorunError | None = None
        self.oom_killed = False  # (no cgroup: RLIMIT_DATA is what limits it)
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

    def stop(self) -> None:
        """End it and what it started now (as kill: it has no supervisor to ask)."""
        self.kill()

    def close(self) -> None:
        if not self.done:  # our own failure: it was killed, reap it
            self.kill()
            self.proc.wait()
        if self.pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self.pidfd)


class SupervisedChild:
    """A program under its supervisor; pid is known once the supervisor says so.

    Where the machine gives us cgroups (cgroup.py), the program starts in a
    cgroup of the run's own, so that whatever it does to its supervisor, what
    it started ends with the run. Once the program has ended, or we killed it,
    the supervisor is continued (a program can stop it: SIGSTOP) until it
    reports; one that does not within TAKE_OVER seconds is killed, and what it
    was to end is ended from here.
    """

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
        path = find_program(argv, cwd, env)
        spans.mark("supervised")
        box = cgroup.sandbox()
        limit = memory.limit if memory is not None else None

        def make_group() -> cgroup.RunGroup | None:
            # (where the spawner's standby supervisor brings none: spawner.py)
            return box.run(limit) if box is not None else None

        launch = supervisor.Launch(path, argv, cwd, dict(env), stdio, keep, memory)
        self.argv0 = argv[0]
        _reap_later()
        cgroup.tidy()
        spans.mark("launch-made")
        self.supervisor, self.report, self.cgroup, self.launch = spawner.start(
            launch, make_group
        )  # (launch: which of its supervisor's, a standby's: 0 for a supervisor of its own)
        spans.mark("spawner-answered")  # (a fork of ours, at worst)
        control.supervisor = self.supervisor
        self.pid: int | None = None
        self.returncode: int | None = None
        self.done = False  # the supervisor is gone, and with it all the program started
        self.error: GorunError | None = None
        self.oom_killed = False  # the cgroup's memory limit killed a process of the run
        self.buffer = b""
        self.sel: selectors.BaseSelector | None = None
        self.pidfd: int | None = None  # the program's: its end, even if nobody reports it
        self.pidfd_watched = False  # in the loop's selector (from watch_at on)
        self.watch_at = 0.0
        self.ending_since: float | None = None  # the program ended, or we killed it

    @property
    def polled(self) -> bool:
        """Until the program's pid is known, and while ending: the loop calls
        event(sel, "poll") often (see _nudge)."""
        unwatched = self.pidfd is not None and not self.pidfd_watched
        return (self.pid is None or self.ending_since is not None or unwatched) and not self.done

    def watch(self, sel: selectors.BaseSelector) -> None:
        self.sel = sel
        os.set_blocking(self.report, False)
        sel.register(self.report, selectors.EVENT_READ, "report")

    def event(self, sel: selectors.BaseSelector, what: str) -> None:
        if what == "exit":  # the program's pidfd: it has ended
            spans.mark("program-exit")
            self._unwatch_program()
            # Its report follows at once, unless the program stopped its supervisor:
            # that one is continued at the loop's next poll (20 ms), not signalled now
            # in the middle of its clean-up, every run.
            if self.ending_since is None:
                self.ending_since = time.monotonic()
            return
        if what == "poll":
            self._nudge()
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
        spans.mark("report-eof")
        self._finish()  # the supervisor is done: everything has ended

    def _finish(self) -> None:
        if self.sel is not None:
            self.sel.unregister(self.report)
        self._unwatch_program()
        self.control.supervisor = None
        self.control.running = None
        reported = self.returncode is not None  # all it started has ended and is reaped
        if not reported:  # it died without a word (killed by the program?)
            if self.pid is not None:
                signal_group(self.pid, signal.SIGKILL)
            self.returncode = -signal.SIGKILL
        if self.cgroup is not None:
            self.oom_killed = self.cgroup.oom_killed()
            # What escaped the supervisor, if it was stopped or killed; after its report,
            # only the supervisor itself may be left, on its way out: not waited for; or
            # waiting there for its next run (a standby's, spawner.py).
            kept = (
                reported
                and self.cgroup.kept
                and spawner.SPAWNER.keeps(self.cgroup, self.supervisor, self.launch)
            )
            if not kept:
                self._unless_moved_on(partial(self.cgroup.end, wait=not reported))
        _reap_later(self.supervisor)
        self.done = True

    def _said(self, line: str) -> None:
        word, _, value = line.partition(" ")
        spans.mark(f"said-{word}")
        if word == "pid":
            self.pid = int(value)
            # (no record file for the next session in a cgroup: it ends a dead
            # session's cgroups, cgroup.py; a file written and removed is 0.1-0.2 ms)
            self.control.started(self.pid, durable=self.cgroup is None)
            # Not reaped before the supervisor reports: the pid is the program's. Its
            # pidfd is watched from WATCH_AFTER on: a program that ends sooner is
            # reported by its supervisor at once (most runs: no wake-up of ours more).
            with contextlib.suppress(AttributeError, OSError):
                self.pidfd = os.pidfd_open(self.pid)
                self.watch_at = time.monotonic() + WATCH_AFTER
        elif word == "error":
            self.error = GorunError(f"cannot start {self.argv0}: {os.strerror(int(value))}")
            self.returncode = 127
        elif word == "exit":
            self.returncode = int(value)

    def _unwatch_program(self) -> None:
        if self.pidfd is not None:
            if self.sel is not None and self.pidfd_watched:
                with contextlib.suppress(KeyError, ValueError):
                    self.sel.unregister(self.pidfd)
                self.pidfd_watched = False
            with contextlib.suppress(OSError):
                os.close(self.pidfd)
            self.pidfd = None

    def _ending(self) -> None:
        if self.ending_since is None:
            self.ending_since = time.monotonic()
        self._nudge()

    def _nudge(self) -> None:
        """Continue a stopped supervisor (the program can stop it even before it
        reports the program's pid); take over from one that never reports."""
        if self.done:
            return
        if self.pid is not None and self.ending_since is None:
            if self.pidfd is not None and not self.pidfd_watched and self._due():
                assert self.sel is not None
                self.sel.register(self.pidfd, selectors.EVENT_READ, "exit")
                self.pidfd_watched = True
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.supervisor, signal.SIGCONT)
        if self.ending_since is not None and time.monotonic() - self.ending_since > TAKE_OVER:
            self._take_over()

    def _due(self) -> bool:
        return time.monotonic() >= self.watch_at

    def _take_over(self) -> None:
        self._unless_moved_on(self._end_all)
        self._finish()

    def _end_all(self) -> None:
        # Stopped, its children are still its children: end them, then it.
        for pid in linux.descendants(self.supervisor):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if self.cgroup is not None:
            self.cgroup.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.supervisor, signal.SIGKILL)

    def kill(self) -> None:
        self._unless_moved_on(self._kill)
        self._ending()

    def stop(self) -> None:
        """End the run through its supervisor, which ends the program's group and all it
        started, reaps them and reports, as at the program's own end. Not kill(): that
        ends the supervisor with them, and a program it has not reaped yet is left a
        zombie of init's (whose pid the loop may not even know yet: a head start's)."""
        self._unless_moved_on(self._ask_to_stop)
        self._ending()

    def _ask_to_stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.supervisor, signal.SIGTERM)
            os.kill(self.supervisor, signal.SIGCONT)  # (a program can stop it)

    def _kill(self) -> None:
        if self.pid is not None:
            signal_group(self.pid, signal.SIGKILL)
        if self.cgroup is not None:
            self.cgroup.kill()  # everything the program started, now
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.supervisor, signal.SIGTERM)

    def close(self) -> None:
        if not self.done:  # our own failure: stop it all
            self.kill()
            _reap_later(self.supervisor)
            self.control.supervisor = None
            self._unwatch_program()
            if self.cgroup is not None:
                self._unless_moved_on(self.cgroup.end)
        with contextlib.suppress(OSError):
            os.close(self.report)

    def _unless_moved_on(self, stop: Callable[[], None]) -> None:
        """stop(), unless the run's standby has since taken a later launch, which it runs
        now, in the same cgroup if any (spawner.py: stop_unless_moved_on)."""
        if self.launch:
            spawner.SPAWNER.stop_unless_moved_on(self.supervisor, self.launch, stop)
        else:
            stop()
