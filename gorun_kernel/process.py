"""Running one child process: the go command or the user's program.

The child gets its own session (so its own process group): a Ctrl-C meant for
the kernel never reaches it by accident, and we can end it together with every
process it started. Output is read from pipes as it comes, decoded
incrementally as UTF-8 with replacement, batched a little so that a chatty
program does not cost a message per write, and capped so that a flood cannot
drown the notebook. Everything happens in the calling thread with a selector;
another thread (or a signal handler) stops a run through `Control`.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import os
import platform
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import GorunError

READ_SIZE = 1 << 16
FLUSH_INTERVAL = 0.05  # seconds between batched flushes of a chatty program's output
PROMPT_GRACE = 0.1  # how long a partial line waits to become an input prompt
DRAIN_AFTER_EXIT = 2.0  # how long to wait for pipes held open by escaped processes
# Interrupt escalation: signal, then how long to wait before the next one.
ESCALATION = ((signal.SIGINT, 0.3), (signal.SIGTERM, 0.3), (signal.SIGKILL, None))

# The read(2)-family syscall numbers, to tell from /proc that a process is
# blocked reading its standard input.
_READ_SYSCALLS = {
    "x86_64": {0, 17, 19, 295, 327},
    "aarch64": {63, 65, 67, 69, 286},
}.get(platform.machine(), set())


class OutputSink(Protocol):
    """Where a running program's output and input requests go."""

    def stdout(self, text: str) -> None: ...
    def stderr(self, text: str) -> None: ...
    def input_wanted(self, prompt: str) -> str | None:
        """A line for the program's stdin (no newline), or None for end of input."""
        ...


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
        self.running: int | None = None  # process group of the running child
        self.record = record

    def kill(self) -> None:
        """End the running process group now (the session is closing)."""
        self.interrupt()
        if self.running is not None:
            _signal_group(self.running, signal.SIGKILL)

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

    def close(self) -> None:
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class ProcessResult:
    returncode: int  # as Popen reports it: negative means killed by that signal
    timed_out: bool = False
    interrupted: bool = False
    stdout: bytes = b""  # only when captured
    stderr: bytes = b""
    dropped: int = 0  # bytes of output not shown because of the output limit


class _Output:
    """Decoding, batching and the output limit, in arrival order."""

    def __init__(self, sink: OutputSink | None, limit: int | None) -> None:
        self.sink = sink
        self.limit = limit
        self.shown = 0
        self.dropped = 0
        self.decoders = {
            name: codecs.getincrementaldecoder("utf-8")(errors="replace")
            for name in ("stdout", "stderr")
        }
        self.pending: list[tuple[str, str]] = []
        self.last_flush = time.monotonic()
        self.partial_since: float | None = None  # when a partial stdout line began waiting

    def feed(self, name: str, data: bytes, final: bool = False) -> None:
        if self.sink is None:
            return
        if self.limit is not None and data:
            room = max(self.limit - self.shown, 0)
            if len(data) > room:
                self.dropped += len(data) - room
                data = data[:room]
            self.shown += len(data)
        text = self.decoders[name].decode(data, final=final).replace("\x00", "\ufffd")
        if not text:
            return
        if self.pending and self.pending[-1][0] == name:
            self.pending[-1] = (name, self.pending[-1][1] + text)
        else:
            self.pending.append((name, text))
        if name == "stdout" and self.partial_since is None and not text.endswith("\n"):
            self.partial_since = time.monotonic()

    def size(self) -> int:
        return sum(len(t) for _, t in self.pending)

    def take_prompt(self) -> str:
        """Remove and return the pending partial line of stdout (the program's prompt)."""
        for i in range(len(self.pending) - 1, -1, -1):
            name, text = self.pending[i]
            if name != "stdout":
                continue
            head, nl, tail = text.rpartition("\n")
            self.pending[i] = (name, head + nl)
            if tail:
                self.partial_since = None
            return tail
        return ""

    def flush(self, keep_partial: bool = False) -> None:
        if self.sink is None or not self.pending:
            return
        prompt = self.take_prompt() if keep_partial else ""
        for name, text in self.pending:
            if text:
                getattr(self.sink, name)(text)
        self.pending = [("stdout", prompt)] if prompt else []
        if not prompt:
            self.partial_since = None
        self.last_flush = time.monotonic()


@contextlib.contextmanager
def sigint_interrupts(control: Control) -> Iterator[None]:
    """While inside, SIGINT (Ctrl-C, a kernel's interrupt) stops the current run.

    Without this, SIGINT raises KeyboardInterrupt wherever Python happens to
    be, possibly between two go commands or in the middle of bookkeeping.
    The handler only wakes the run loop, which then ends the process group.
    While the user is being asked for input, the ask itself must be broken
    off, so there the handler raises KeyboardInterrupt as usual.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals; KeyboardInterrupt is handled below
        return

    def handler(signum: int, frame: object) -> None:
        control.interrupt()
        if control.waiting_for_input:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _pdeathsig() -> Callable[[], None] | None:
    """Linux: a child asks to be killed when its parent dies (PR_SET_PDEATHSIG).

    The child runs in its own session, so nothing else would end it if the
    kernel were killed outright. Resolved here, in the parent: the child only
    makes the one call, between fork and exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def arm() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return arm


_die_with_parent = _pdeathsig()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_pids(pid: int) -> list[int]:
    """The process and its descendants (Linux: /proc/<pid>/task/<tid>/children)."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return seen


def blocked_reading_stdin(pid: int) -> bool:
    """True when some thread of the process tree is in a read(2) of fd 0 (Linux only)."""
    if not _READ_SYSCALLS:
        return False
    for p in _group_pids(pid):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/syscall") as f:
                    fields = f.read().split()
            except OSError:
                continue
            # "<nr> <arg0> ...": a read-family syscall whose fd (arg0) is 0.
            if (
                len(fields) >= 2
                and fields[0].isdigit()
                and int(fields[0]) in _READ_SYSCALLS
                and int(fields[1], 16) == 0
            ):
                return True
    return False


def stdin_detection_works() -> bool:
    """Whether this platform lets us see that a program waits for input."""
    return bool(_READ_SYSCALLS) and os.path.exists(f"/proc/{os.getpid()}/task")


def run_process(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    control: Control,
    sink: OutputSink | None = None,
    stdin: bytes | None = None,
    interactive: bool = False,
    timeout: float | None = None,
    capture: bool = False,
    output_limit: int | None = None,
    die_with_parent: bool = True,
) -> ProcessResult:
    """Run argv to completion, streaming its output to sink.

    stdin: bytes to feed (then end of input); None with interactive=False means
    empty input; interactive=True asks sink.input_wanted whenever the program
    blocks reading its standard input.
    """
    start = time.monotonic()
    want_stdin = stdin is not None or interactive
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if want_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            bufsize=0,
            # Costs a plain fork instead of vfork (~3 ms): only for programs,
            # not for the go command, which ends by itself.
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    except OSError as e:
        raise GorunError(f"cannot start {argv[0]}: {e.strerror or e}") from None
    if control.record is not None:
        with contextlib.suppress(OSError):
            control.record.write_text(str(proc.pid))
    control.running = proc.pid
    out = _Output(sink, output_limit)
    captured: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    sel.register(control, selectors.EVENT_READ, "control")
    pidfd: int | None = None
    with contextlib.suppress(AttributeError, OSError):
        pidfd = os.pidfd_open(proc.pid)
        sel.register(pidfd, selectors.EVENT_READ, "exit")
    to_write = stdin or b""
    if proc.stdin is not None:
        os.set_blocking(proc.stdin.fileno(), False)
        if stdin is not None:
            sel.register(proc.stdin, selectors.EVENT_WRITE, "stdin")

    deadline = start + timeout if timeout else None
    open_pipes = 2
    exited_at: float | None = None
    timed_out = False
    escalation: list[tuple[int, float | None]] = []
    next_signal_at: float | None = None

    def close_stdin() -> None:
        if proc.stdin is not None and not proc.stdin.closed:
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(proc.stdin)
            with contextlib.suppress(OSError):
                proc.stdin.close()

    def begin_interrupt() -> None:
        nonlocal escalation, next_signal_at
        if not escalation:
            escalation = list(ESCALATION)
        elif len(escalation) > 1:
            escalation = escalation[-1:]  # a second interrupt: no more waiting
        next_signal_at = time.monotonic()

    def read_from(key: selectors.SelectorKey) -> None:
        nonlocal open_pipes
        data = os.read(key.fd, READ_SIZE)
        if capture:
            captured[key.data].append(data)
        if data:
            out.feed(key.data, data)
        else:
            out.feed(key.data, b"", final=True)
            sel.unregister(key.fileobj)
            open_pipes -= 1

    def check_exit(signalled: bool = False) -> None:
        """On exit, kill whatever the program left in its group, then reap it.

        With a pidfd, `signalled` says it became readable: the process has
        exited but is not reaped yet, so its pid and group id cannot have been
        reused and killing the group hits only the cell's processes.
        """
        nonlocal exited_at
        if exited_at is not None:
            return
        if pidfd is not None:
            if not signalled:
                return
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(pidfd)
        elif proc.poll() is None:
            return
        _signal_group(proc.pid, signal.SIGKILL)
        control.running = None  # before reaping: after it the pid may be reused
        proc.wait()
        exited_at = time.monotonic()
        close_stdin()

    if control.interrupted:  # interrupted between two processes of one cell
        begin_interrupt()
    while open_pipes or exited_at is None:
        now = time.monotonic()
        try:
            if deadline is not None and now >= deadline and exited_at is None and not timed_out:
                timed_out = True
                _signal_group(proc.pid, signal.SIGKILL)
            if next_signal_at is not None and now >= next_signal_at and exited_at is None:
                sig, wait = escalation.pop(0)
                _signal_group(proc.pid, sig)
                next_signal_at = now + wait if wait is not None else None
            if exited_at is not None and now - exited_at > DRAIN_AFTER_EXIT:
                break  # a process that escaped the group holds our pipes: stop waiting
            wait_for = [FLUSH_INTERVAL]
            for t in (deadline, next_signal_at):
                if t is not None:
                    wait_for.append(max(t - now, 0))
            if pidfd is None or exited_at is not None:
                wait_for.append(0.02)
            events = sel.select(min(wait_for))
            for key, _ in events:
                what = key.data
                if what == "control":
                    control.drain()
                    begin_interrupt()
                elif what == "exit":
                    check_exit(signalled=True)
                elif what == "stdin":
                    try:
                        n = os.write(key.fd, to_write[:READ_SIZE])
                        to_write = to_write[n:]
                    except BrokenPipeError:
                        to_write = b""
                    except BlockingIOError:
                        pass
                    if not to_write:
                        close_stdin()
                else:
                    read_from(key)
            check_exit()
            quiet = not any(k.data in ("stdout", "stderr") for k, _ in events)
            now = time.monotonic()
            asking = (
                interactive
                and quiet
                and exited_at is None
                and not escalation
                and proc.stdin is not None
                and not proc.stdin.closed
            )
            if asking and blocked_reading_stdin(proc.pid):
                # The program waits for input: whatever it wrote before is in
                # the pipes now, and its pending partial line is the prompt.
                for key, _ in sel.select(0):
                    if key.data in ("stdout", "stderr"):
                        read_from(key)
                out.flush(keep_partial=True)
                prompt = out.take_prompt()
                control.waiting_for_input = True
                asked = time.monotonic()
                try:
                    answer = sink.input_wanted(prompt) if sink is not None else None
                finally:
                    control.waiting_for_input = False
                    if deadline is not None:
                        # --timeout counts the program's time, not the user's typing.
                        deadline += time.monotonic() - asked
                if answer is None:
                    if prompt and sink is not None:
                        sink.stdout(prompt)  # nobody answered: the prompt is output after all
                    close_stdin()
                else:
                    try:
                        os.set_blocking(proc.stdin.fileno(), True)
                        proc.stdin.write((answer + "\n").encode())
                        os.set_blocking(proc.stdin.fileno(), False)
                    except (BrokenPipeError, OSError):
                        close_stdin()
            elif quiet or now - out.last_flush >= FLUSH_INTERVAL or out.size() > READ_SIZE:
                # Hold a partial line back briefly: it may be a prompt for input.
                hold = (
                    interactive
                    and out.partial_since is not None
                    and now - out.partial_since < PROMPT_GRACE
                    and exited_at is None
                )
                out.flush(keep_partial=hold)
        except KeyboardInterrupt:
            control.interrupted = True
            begin_interrupt()

    control.running = None
    if control.record is not None:
        with contextlib.suppress(OSError):
            control.record.unlink()
    for f in (proc.stdout, proc.stderr):
        with contextlib.suppress(OSError):
            f.close()
    close_stdin()
    if pidfd is not None:
        with contextlib.suppress(OSError):
            os.close(pidfd)
    sel.close()
    out.flush()
    return ProcessResult(
        returncode=proc.returncode,
        timed_out=timed_out,
        interrupted=control.interrupted and not timed_out,
        stdout=b"".join(captured["stdout"]),
        stderr=b"".join(captured["stderr"]),
        dropped=out.dropped,
    )
