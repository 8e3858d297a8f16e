"""Running one child process, the go command or the user's program: `ProcessRun`.

One run is one object, and each concern is a method: `_spawn` starts the
child in its own session; `_loop` is the event loop, a selector over the
child's outputs, its stdin, its exit (a pidfd) and the Control's wake-up
pipe; `_feed_stdin` writes fixed input; `_begin_interrupt`/`_escalate` send
SIGINT, SIGTERM, SIGKILL; `_ask_for_input` turns a program blocked reading
stdin into an input request; `_check_exit` kills what the program left in its
group and reaps it. What the program writes and shows (stdout, stderr, its
display channel) is read by `ProgramOutput` (outputs.py). Everything happens
in the calling thread.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .control import ESCALATION, Control, die_with_parent, signal_group
from .display_channel import DisplayChannel
from .errors import GorunError
from .events import OutputSink
from .outputs import FLUSH_INTERVAL, READ_SIZE, TEXT, ProgramOutput
from .stdinwatch import blocked_reading_stdin

DRAIN_AFTER_EXIT = 2.0  # how long to wait for pipes held open by escaped processes


@dataclass
class ProcessResult:
    returncode: int  # as Popen reports it: negative means killed by that signal
    timed_out: bool = False
    interrupted: bool = False
    stdout: bytes = b""  # only when captured
    stderr: bytes = b""
    dropped: int = 0  # bytes of output not shown because of the output limit


@dataclass
class ProcessSpec:
    """What to run and how."""

    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str]
    stdin: bytes | None = None  # fixed input, then end of input
    interactive: bool = False  # ask the sink for input when the program blocks reading
    timeout: float | None = None
    capture: bool = False
    output_limit: int | None = None
    die_with_parent: bool = True
    display: DisplayChannel | None = None  # the program's display channel, for programs
    tick: Callable[[], None] | None = None  # called on every turn of the loop (progress)


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
    display: DisplayChannel | None = None,
    tick: Callable[[], None] | None = None,
) -> ProcessResult:
    """Run argv to completion, streaming its output to sink.

    stdin: bytes to feed (then end of input); None with interactive=False means
    empty input; interactive=True asks sink.input_wanted whenever the program
    blocks reading its standard input. display: a channel whose descriptor the
    program inherits (its env names it), read along with the program's output.
    """
    spec = ProcessSpec(
        argv, cwd, env, stdin, interactive, timeout, capture, output_limit, die_with_parent,
        display, tick,
    )  # fmt: skip
    return ProcessRun(spec, control, sink).run()


def _popen(spec: ProcessSpec) -> subprocess.Popen[bytes]:
    """Start the child in a session of its own, with pipes for its output."""
    want_stdin = spec.stdin is not None or spec.interactive
    try:
        return subprocess.Popen(
            list(spec.argv),
            cwd=spec.cwd,
            env=dict(spec.env),
            stdin=subprocess.PIPE if want_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            bufsize=0,
            pass_fds=(spec.display.child_fd,) if spec.display is not None else (),
            # Costs a plain fork instead of vfork (~3 ms): only for programs,
            # not for the go command, which ends by itself.
            preexec_fn=die_with_parent if spec.die_with_parent else None,
        )
    except OSError as e:
        raise GorunError(f"cannot start {spec.argv[0]}: {e.strerror or e}") from None


class ProcessRun:
    """One child process from start to reaping."""

    def __init__(self, spec: ProcessSpec, control: Control, sink: OutputSink | None) -> None:
        self.spec = spec
        self.control = control
        self.sink = sink
        self.sel = selectors.DefaultSelector()
        self.output = ProgramOutput(
            sink, self.sel, capture=spec.capture, interactive=spec.interactive,
            limit=spec.output_limit, display=spec.display,
        )  # fmt: skip
        self.pidfd: int | None = None
        self.to_write = spec.stdin or b""
        self.exited_at: float | None = None
        self.timed_out = False
        self.escalation: list[tuple[int, float | None]] = []
        self.next_signal_at: float | None = None
        self.deadline: float | None = None

    def run(self) -> ProcessResult:
        self.proc = self._spawn()
        try:
            self._loop()
        finally:
            self._cleanup()
        return ProcessResult(
            returncode=self.proc.returncode,
            timed_out=self.timed_out,
            interrupted=self.control.interrupted and not self.timed_out,
            stdout=b"".join(self.output.captured["stdout"]),
            stderr=b"".join(self.output.captured["stderr"]),
            dropped=self.output.buffer.dropped,
        )

    # -- start and end -----------------------------------------------------------

    def _spawn(self) -> subprocess.Popen[bytes]:
        spec = self.spec
        start = time.monotonic()
        proc = _popen(spec)
        self.control.started(proc.pid)
        self.output.register(proc)
        self.sel.register(self.control, selectors.EVENT_READ, "control")
        with contextlib.suppress(AttributeError, OSError):
            self.pidfd = os.pidfd_open(proc.pid)
            self.sel.register(self.pidfd, selectors.EVENT_READ, "exit")
        if proc.stdin is not None:
            os.set_blocking(proc.stdin.fileno(), False)
            if spec.stdin is not None:
                self.sel.register(proc.stdin, selectors.EVENT_WRITE, "stdin")
        self.deadline = start + spec.timeout if spec.timeout else None
        return proc

    def _check_exit(self, signalled: bool = False) -> None:
        """On exit, kill whatever the program left in its group, then reap it.

        With a pidfd, `signalled` says it became readable: the process has
        exited but is not reaped yet, so its pid and group id cannot have been
        reused and killing the group hits only the cell's processes.
        """
        if self.exited_at is not None:
            return
        if self.pidfd is not None:
            if not signalled:
                return
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(self.pidfd)
        elif self.proc.poll() is None:
            return
        signal_group(self.proc.pid, signal.SIGKILL)
        self.control.running = None  # before reaping: after it the pid may be reused
        self.proc.wait()
        self.exited_at = time.monotonic()
        self._close_stdin()

    def _cleanup(self) -> None:
        self.control.stopped()
        for f in (self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError):
                f.close()  # type: ignore[union-attr]
        self._close_stdin()
        if self.pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self.pidfd)
        self.sel.close()
        self.output.finish()

    # -- the event loop ----------------------------------------------------------

    def _loop(self) -> None:
        if self.control.interrupted:  # interrupted between two processes of one cell
            self._begin_interrupt()
        while self.output.open or self.exited_at is None:
            try:
                if not self._step():
                    break
            except KeyboardInterrupt:
                self.control.interrupted = True
                self._begin_interrupt()

    def _step(self) -> bool:
        """One turn of the loop; False when it is time to stop waiting."""
        now = time.monotonic()
        self._enforce_deadlines(now)
        if self.exited_at is not None and now - self.exited_at > DRAIN_AFTER_EXIT:
            return False  # a process that escaped the group holds our pipes: stop waiting
        events = self.sel.select(self._wait_time(now))
        for key, _ in events:
            self._dispatch(key)
        self.output.tick()
        self._check_exit()
        if self.spec.tick is not None:
            self.spec.tick()
        quiet = not any(k.data in TEXT for k, _ in events)
        if self._waiting_for_input(quiet):
            self._ask_for_input()
        else:
            self.output.flush(quiet, running=self.exited_at is None)
        return True

    def _enforce_deadlines(self, now: float) -> None:
        if self.exited_at is not None:
            return
        if self.deadline is not None and now >= self.deadline and not self.timed_out:
            self.timed_out = True
            signal_group(self.proc.pid, signal.SIGKILL)
        if self.next_signal_at is not None and now >= self.next_signal_at:
            self._escalate(now)

    def _wait_time(self, now: float) -> float:
        wait_for = [FLUSH_INTERVAL]
        for t in (self.deadline, self.next_signal_at):
            if t is not None:
                wait_for.append(max(t - now, 0))
        if self.pidfd is None or self.exited_at is not None:
            wait_for.append(0.02)
        return min(wait_for)

    def _dispatch(self, key: selectors.SelectorKey) -> None:
        what = key.data
        if what == "control":
            self.control.drain()
            self._begin_interrupt()
        elif what == "exit":
            self._check_exit(signalled=True)
        elif what == "stdin":
            self._feed_stdin(key.fd)
        else:
            self.output.read(key)

    # -- interrupts --------------------------------------------------------------

    def _begin_interrupt(self) -> None:
        if not self.escalation:
            self.escalation = list(ESCALATION)
        elif len(self.escalation) > 1:
            self.escalation = self.escalation[-1:]  # a second interrupt: no more waiting
        self.next_signal_at = time.monotonic()

    def _escalate(self, now: float) -> None:
        sig, wait = self.escalation.pop(0)
        signal_group(self.proc.pid, sig)
        self.next_signal_at = now + wait if wait is not None else None

    # -- standard input ----------------------------------------------------------

    def _feed_stdin(self, fd: int) -> None:
        try:
            n = os.write(fd, self.to_write[:READ_SIZE])
            self.to_write = self.to_write[n:]
        except BrokenPipeError:
            self.to_write = b""
        except BlockingIOError:
            pass
        if not self.to_write:
            self._close_stdin()

    def _close_stdin(self) -> None:
        stdin = self.proc.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(stdin)
            with contextlib.suppress(OSError):
                stdin.close()

    def _waiting_for_input(self, quiet: bool) -> bool:
        return (
            self.spec.interactive
            and quiet
            and self.exited_at is None
            and not self.escalation
            and self.proc.stdin is not None
            and not self.proc.stdin.closed
            and blocked_reading_stdin(self.proc.pid)
        )

    def _ask_for_input(self) -> None:
        """The program waits for input; its pending partial line is the prompt."""
        self.output.read_waiting_text()
        self.output.buffer.flush(keep_partial=True)
        prompt = self.output.buffer.take_prompt()
        self.control.waiting_for_input = True
        asked = time.monotonic()
        try:
            answer = self.sink.input_wanted(prompt) if self.sink is not None else None
        finally:
            self.control.waiting_for_input = False
            if self.deadline is not None:
                # --timeout counts the program's time, not the user's typing.
                self.deadline += time.monotonic() - asked
        if answer is None:
            if prompt and self.sink is not None:
                self.sink.stdout(prompt)  # nobody answered: the prompt is output after all
            self._close_stdin()
            return
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            os.set_blocking(stdin.fileno(), True)
            stdin.write((answer + "\n").encode())
            os.set_blocking(stdin.fileno(), False)
        except (BrokenPipeError, OSError):
            self._close_stdin()
