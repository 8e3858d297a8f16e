"""Running one child process, the go command or the user's program: `ProcessRun`.

One run is one object, and each concern is a method: `_spawn` makes the
pipes and starts the child (spawn.py: directly, or a program under its
supervisor); `_loop` is the event loop, a selector over the child's outputs,
its stdin, the extra channels (channels.py), news of its end and the
Control's wake-up pipe; `_begin_interrupt`/`_escalate` send SIGINT, SIGTERM,
SIGKILL. What the program writes and shows (stdout, stderr, its display
channel) is read by `ProgramOutput` (outputs.py); fixed input (bytes, a
file) is fed by the StdinFeeder (stdinfeed.py); asking for input when the
program blocks reading it is the InputAsker's (asking.py). Everything
happens in the calling thread.
"""

from __future__ import annotations

import os
import selectors
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from gorun_kernel import spans
from gorun_kernel.display.channel import DisplayChannel
from gorun_kernel.events import OutputSink
from gorun_kernel.proc import supervisor
from gorun_kernel.proc.asking import InputAsker
from gorun_kernel.proc.channels import Channel
from gorun_kernel.proc.control import ESCALATION, Control, signal_group
from gorun_kernel.proc.memlimit import OOM_STATUS, MemoryLimit, says_out_of_memory
from gorun_kernel.proc.outputs import FLUSH_INTERVAL, TEXT, ProgramOutput
from gorun_kernel.proc.spawn import PlainChild, SupervisedChild
from gorun_kernel.proc.stdinfeed import StdinFeeder, StdinFile, StdinSource, widen

OOM_LINE = 200  # bytes of a stderr line enough to tell Go's out-of-memory failure
DRAIN_AFTER_EXIT = 2.0  # how long to wait for pipes held open by escaped processes
# Whether a program waits for input is first looked at (in /proc: 0.15-0.2 ms a look)
# this long after its start: a program that ends sooner, most cells, is never looked
# at (three or four looks a run before); one that reads at once is asked 20 ms in.
ASK_AFTER = 0.02


@dataclass
class ProcessResult:
    returncode: int  # as Popen reports it: negative means killed by that signal
    timed_out: bool = False
    interrupted: bool = False
    stdout: bytes = b""  # only when captured
    stderr: bytes = b""
    dropped: int = 0  # bytes of output not shown because of the output limit
    out_of_memory: bool = False  # under a memory limit, the program ran out (Go's runtime said)


@dataclass
class ProcessSpec:
    """What to run and how."""

    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str]
    stdin: StdinSource = None  # fixed input (bytes, or a file), then end of input
    interactive: bool = False  # ask the sink for input when the program blocks reading
    timeout: float | None = None
    capture: bool = False
    output_limit: int | None = None
    # A program runs under a supervisor: nothing it starts outlives the run.
    # The go command does not need one (and starts faster by vfork).
    supervise: bool = True
    leave_behind: bool = False  # unsupervised, and what it starts may outlive it
    memory: MemoryLimit | None = None
    display: DisplayChannel | None = None  # the program's display channel, for programs
    channels: dict[str, Channel] = field(default_factory=dict)  # more of them (the value)
    tick: Callable[[], None] | None = None  # called on every turn of the loop (progress)
    on_quiet: Callable[[], None] | None = None  # called when a turn of the loop saw no text


def run_process(
    spec: ProcessSpec, control: Control, sink: OutputSink | None = None
) -> ProcessResult:
    """Run spec.argv to completion, streaming its output to sink.

    stdin: bytes or a StdinFile to feed (then end of input); None with
    interactive=False means empty input; interactive=True asks
    sink.input_wanted whenever the program blocks reading its standard input.
    display and channels: descriptors the program inherits (its environment
    names them), read along with its output.
    """
    return ProcessRun(spec, control, sink).run()


def _program_stdin(
    spec: ProcessSpec, sel: selectors.BaseSelector, sink: OutputSink | None, control: Control
) -> tuple[int, StdinFeeder | None, InputAsker | None]:
    """The program's stdin: /dev/null, a file itself, or a pipe (fed, or interactive)."""
    source: memoryview | int
    if isinstance(spec.stdin, StdinFile):
        fd, direct = spec.stdin.open()
        if direct:
            return fd, None, None
        source = fd  # a FIFO or a socket: copied as it comes
    elif spec.stdin is not None:
        source = memoryview(spec.stdin).cast("B")
    elif spec.interactive:
        r, w = os.pipe()
        return r, None, InputAsker(w, sink, control)
    else:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC), None, None
    r, w = os.pipe()
    widen(w)
    return r, StdinFeeder(sel, w, source), None


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
            on_stderr=self._watch_memory if spec.memory is not None else None,
        )  # fmt: skip
        self.child: PlainChild | SupervisedChild | None = None
        self.feeder: StdinFeeder | None = None
        self.asker: InputAsker | None = None
        self.channels_open = 0
        self.exited_at: float | None = None
        self.timed_out = False
        self.escalation: list[tuple[int, float | None]] = []
        self.next_signal_at: float | None = None
        self.deadline: float | None = None
        self.oom_tail = b""  # the start of stderr's unfinished line (Go's OOM words across reads)
        self.ask_from = 0.0  # when to begin looking whether it waits for input (ASK_AFTER)
        self.out_of_memory = False

    def run(self) -> ProcessResult:
        self.start()
        return self.finish()

    def start(self) -> None:
        """The child's start: its pipes and channels made, its process spawned. Its
        output waits in the pipes until finish() reads it (a head start: runner.py)."""
        try:
            spans.mark("spawn")
            self._spawn()
            spans.mark("spawned")
        except BaseException:
            self._cleanup()
            raise

    def attach(self, sink: OutputSink | None, on_quiet: Callable[[], None] | None) -> None:
        """Where the output goes, for a run started before its sink was known."""
        self.spec = replace(self.spec, on_quiet=on_quiet)
        self.sink = sink
        self.output.attach(sink)
        if self.asker is not None:
            self.asker.sink = sink

    def finish(self) -> ProcessResult:
        """The started child's run, to its end: its output read and passed on, its
        input fed or asked for, interrupts and limits enforced; then reaped."""
        try:
            self._loop()
            for ch in self.spec.channels.values():
                if ch.at_end:
                    ch.drain()
            spans.mark("loop-done")
        finally:
            self._cleanup()
            spans.mark("cleaned")
        assert self.child is not None and self.child.returncode is not None
        if self.child.error is not None:
            raise self.child.error
        return ProcessResult(
            returncode=self.child.returncode,
            timed_out=self.timed_out,
            interrupted=self.control.interrupted and not self.timed_out,
            stdout=b"".join(self.output.captured["stdout"]),
            stderr=b"".join(self.output.captured["stderr"]),
            dropped=self.output.buffer.dropped,
            # Go's runtime said so and exited as it does then (a program's own
            # "out of memory" on stderr with another status is its own failure)
            out_of_memory=(self.out_of_memory and self.child.returncode == OOM_STATUS)
            or self.child.oom_killed,  # or the run's cgroup was over its limit
        )

    # -- start and end -----------------------------------------------------------

    def _spawn(self) -> None:
        spec = self.spec
        start = time.monotonic()
        stdin, self.feeder, self.asker = _program_stdin(spec, self.sel, self.sink, self.control)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        given = [stdin, out_w, err_w]
        for ch in spec.channels.values():
            ch.open()
        keep = [ch.child_fd for ch in spec.channels.values()]
        if spec.display is not None:
            keep.append(spec.display.child_fd)
        env = {**spec.env, **{ch.env: str(ch.child_fd) for ch in spec.channels.values()}}
        try:
            if spec.supervise and supervisor.AVAILABLE:
                self.child = SupervisedChild(
                    spec.argv, spec.cwd, env, (stdin, out_w, err_w), keep, self.control,
                    spec.memory,
                )  # fmt: skip
            else:
                self.child = PlainChild(
                    spec.argv, spec.cwd, env, (stdin, out_w, err_w), keep, self.control,
                    dies_with_us=spec.supervise or spec.leave_behind,
                    leave_behind=spec.leave_behind, memory=spec.memory,
                )  # fmt: skip
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            for fd in given:
                os.close(fd)  # the child's ends: EOF on ours means it is done
            for ch in spec.channels.values():
                ch.started()
        self.output.register(out_r, err_r)
        for name, ch in spec.channels.items():
            if not ch.at_end:
                self.sel.register(ch.fd, selectors.EVENT_READ, ("channel", name))
                self.channels_open += 1
        self.child.watch(self.sel)
        self.sel.register(self.control, selectors.EVENT_READ, "control")
        self.deadline = start + spec.timeout if spec.timeout else None
        self.ask_from = start + ASK_AFTER

    def _cleanup(self) -> None:
        self.control.stopped()
        if self.child is not None:
            self.child.close()
        self.output.close()
        for ch in self.spec.channels.values():
            ch.close()
        if self.feeder is not None:
            self.feeder.close()
        if self.asker is not None:
            self.asker.close()
        self.sel.close()
        self.output.finish()

    # -- the event loop ----------------------------------------------------------

    def _loop(self) -> None:
        if self.control.interrupted:  # interrupted between two processes of one cell
            self._begin_interrupt()
        while self.output.open or self.channels_open or self.exited_at is None:
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
            assert self.asker is not None
            waited = self.asker.ask(self.output.buffer, self.output.read_waiting_text)
            if self.deadline is not None:
                self.deadline += waited  # --timeout counts the program's time, not the user's
        else:
            self.output.flush(quiet, running=self.exited_at is None)
            if quiet and self.spec.on_quiet is not None:
                self.spec.on_quiet()
        return True

    def _check_exit(self) -> None:
        assert self.child is not None
        if self.exited_at is None and self.child.polled:
            self.child.event(self.sel, "poll")
        if self.exited_at is None and self.child.done:
            self.exited_at = time.monotonic()
            if self.asker is not None:
                self.asker.close()

    def _enforce_deadlines(self, now: float) -> None:
        if self.exited_at is not None:
            return
        if self.deadline is not None and now >= self.deadline and not self.timed_out:
            self.timed_out = True
            assert self.child is not None
            self.child.kill()
        if self.next_signal_at is not None and now >= self.next_signal_at:
            self._escalate(now)

    def _wait_time(self, now: float) -> float:
        wait_for = [FLUSH_INTERVAL]
        for t in (self.deadline, self.next_signal_at):
            if t is not None:
                wait_for.append(max(t - now, 0))
        if (self.child is not None and self.child.polled) or self.exited_at is not None:
            wait_for.append(0.02)
        if self.asker is not None and self.exited_at is None and now < self.ask_from:
            wait_for.append(self.ask_from - now)
        return min(wait_for)

    def _dispatch(self, key: selectors.SelectorKey) -> None:
        what = key.data
        if what == "control":
            self.control.drain()
            self._begin_interrupt()
        elif what in ("exit", "report"):
            assert self.child is not None
            self.child.event(self.sel, what)
        elif what == "stdin" and self.feeder is not None:
            self.feeder.writable()
        elif what == "stdin-source" and self.feeder is not None:
            self.feeder.readable()
        elif isinstance(what, tuple):
            self._read_channel(key, self.spec.channels[what[1]])
        else:
            self.output.read(key)

    def _read_channel(self, key: selectors.SelectorKey, channel: Channel) -> None:
        if channel.ordered:  # the text written before it goes out first
            self.output.read_waiting_text()
            self.output.buffer.flush()
        if not channel.read():
            self.sel.unregister(key.fileobj)
            self.channels_open -= 1

    def _watch_memory(self, data: bytes) -> None:
        """stderr, under a memory limit: did Go's runtime say it ran out?"""
        *lines, rest = (self.oom_tail + data).split(b"\n")
        self.out_of_memory = self.out_of_memory or any(map(says_out_of_memory, lines))
        self.oom_tail = rest[:OOM_LINE]  # the start of a line is all that is looked at

    # -- interrupts and input ------------------------------------------------------

    def _begin_interrupt(self) -> None:
        if not self.escalation:
            self.escalation = list(ESCALATION)
        elif len(self.escalation) > 1:
            self.escalation = self.escalation[-1:]  # a second interrupt: no more waiting
        self.next_signal_at = time.monotonic()

    def _escalate(self, now: float) -> None:
        assert self.child is not None
        sig, wait = self.escalation.pop(0)
        if sig == signal.SIGKILL or self.child.pid is None:
            self.child.kill()  # everything, now (also before the program's pid is known)
        else:
            signal_group(self.child.pid, sig)
        self.next_signal_at = now + wait if wait is not None else None

    def _waiting_for_input(self, quiet: bool) -> bool:
        return (
            self.asker is not None
            and quiet
            and self.exited_at is None
            and time.monotonic() >= self.ask_from
            and not self.escalation
            and self.child is not None
            and self.asker.wanted(self.child.pid)
        )
