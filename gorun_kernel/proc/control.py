"""Stopping a run: the Control a front-end (or a signal handler) pokes, and signals.

A run happens in one thread; another thread, or the SIGINT handler, stops it
through `Control`, which wakes the run loop through a pipe. The child runs in
its own session (so its own process group): a Ctrl-C meant for the kernel
never reaches it by accident, and we can end it together with everything it
started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from gorun_kernel.proc import linux

# Interrupt escalation: signal, then how long to wait before the next one.
ESCALATION = ((signal.SIGINT, 0.3), (signal.SIGTERM, 0.3), (signal.SIGKILL, None))


class Control:
    """Stops the current run from another thread or a signal handler.

    `record`, when given, is a file that holds the running process group while
    there is one: if our process dies without cleaning up (SIGKILL), the next
    session start finds it and ends what was left running (see scratch.py).
    """

    def __init__(self, record: Path | None = None) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self.interrupted = False
        self.waiting_for_input = False  # inside OutputSink.input_wanted
        self.abortable = False  # in pure work (parsing, composing): SIGINT may raise there
        self.running: int | None = None  # process group of the running child
        self.supervisor: int | None = None  # the running program's supervisor (supervisor.py)
        self.record = record
        self.recorded = False  # the record file was written for the running group

    def kill(self) -> None:
        """End the running process group now (the session is closing)."""
        self.interrupt()
        if self.running is not None:
            signal_group(self.running, signal.SIGKILL)
        if self.supervisor is not None:
            # It ends whatever the program started, then itself (continued first:
            # a program can stop it).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.supervisor, signal.SIGTERM)
                os.kill(self.supervisor, signal.SIGCONT)

    def fileno(self) -> int:
        return self._r

    def interrupt(self) -> None:
        """Ask the running process to stop; safe from any thread and from signal handlers."""
        self.interrupted = True
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"!")

    def drain(self) -> None:
        """Empty the wake-up pipe (the flag stays as it is)."""
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._r, 64):
                pass

    def reset(self) -> None:
        """Forget earlier interrupts: called when a new cell starts."""
        self.drain()
        self.interrupted = False

    def started(self, pgid: int, durable: bool = True) -> None:
        """A process group runs now: remember it (and record it for the next session,
        unless durable is False: its run ends with our process without it, as a run in
        a cgroup of its own does: the next session ends a dead one's cgroups)."""
        if self.record is not None and durable:
            with contextlib.suppress(OSError):
                self.record.write_text(str(pgid))
                self.recorded = True
        self.running = pgid

    def stopped(self) -> None:
        self.running = None
        if self.record is not None and self.recorded:
            with contextlib.suppress(OSError):
                self.record.unlink()
            self.recorded = False

    def close(self) -> None:
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)


@contextlib.contextmanager
def sigint_interrupts(control: Control) -> Iterator[None]:
    """While inside, SIGINT (Ctrl-C, a kernel's interrupt) stops the current run.

    Without this, SIGINT raises KeyboardInterrupt wherever Python happens to
    be, possibly between two go commands or in the middle of bookkeeping.
    The handler only wakes the run loop, which then ends the process group.
    While the user is being asked for input, the ask itself must be broken
    off, and pure work (reading and composing a cell: no files, no processes,
    nothing half done) is simply abandoned: there the handler raises
    KeyboardInterrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals; KeyboardInterrupt is handled below
        return

    def handler(signum: int, frame: object) -> None:
        control.interrupt()
        if control.waiting_for_input or control.abortable:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def abortable(control: Control) -> Iterator[None]:
    """Work an interrupt may abandon at any point (it changes nothing outside itself)."""
    control.abortable = True
    try:
        if control.interrupted:
            raise KeyboardInterrupt
        yield
    finally:
        control.abortable = False


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _die_with_parent() -> None:
    """Linux: between fork and exec, ask to be killed when our parent dies.

    The child runs in its own session, so nothing else would end it if the
    kernel were killed outright.
    """
    linux.set_parent_death_signal(signal.SIGKILL)


# A preexec_fn for subprocess, or None where the platform cannot do it.
die_with_parent: Callable[[], None] | None = _die_with_parent if linux.HAS_PRCTL else None
