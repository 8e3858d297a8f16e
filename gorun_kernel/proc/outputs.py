"""A running program's outputs on their way to the sink: stdout, stderr and the display channel.

The run loop (process.ProcessRun) owns the selector; `ProgramOutput` registers
the program's outputs in it and reads whichever is ready. Text is decoded,
batched and capped by streams.OutputBuffer, and kept for --out/--err when
captured. A display from the channel (display_channel.py) is passed on after
all the text the program wrote before it, so the notebook shows both in the
program's order; notes about bad display data go to stderr.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import time
from collections.abc import Callable

from gorun_kernel.display.channel import DisplayChannel
from gorun_kernel.display.frames import Note
from gorun_kernel.events import Event, OutputSink
from gorun_kernel.proc.streams import OutputBuffer

READ_SIZE = 1 << 16  # one read of a pipe; a pipe holds at most this much
FLUSH_INTERVAL = 0.05  # seconds between batched flushes of a chatty program's output
PROMPT_GRACE = 0.1  # how long a partial line waits to become an input prompt
TEXT = ("stdout", "stderr")


class ProgramOutput:
    """The program's stdout, stderr and display channel, read from the run loop's selector."""

    def __init__(
        self,
        sink: OutputSink | None,
        sel: selectors.BaseSelector,
        *,
        capture: bool,
        interactive: bool,
        limit: int | None,
        display: DisplayChannel | None,
        on_stderr: Callable[[bytes], None] | None = None,
    ) -> None:
        self.sink = sink
        self.sel = sel
        self.capture = capture
        self.interactive = interactive
        self.buffer = OutputBuffer(sink, limit)
        self.captured: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
        self.display = display
        self.on_stderr = on_stderr  # sees every chunk of stderr (a memory limit's words)
        self.open = 0  # outputs not at their end yet
        self.fds: list[int] = []

    def attach(self, sink: OutputSink | None) -> None:
        """The sink, for a run started before it was known (nothing was read yet)."""
        self.sink = self.buffer.sink = sink

    def register(self, stdout: int, stderr: int) -> None:
        """Our ends of the program's stdout and stderr pipes (closed by close())."""
        self.fds = [stdout, stderr]
        for fd, name in zip(self.fds, TEXT, strict=True):
            # Non-blocking: a pipe found ready may have been emptied since, by
            # the reads that pass text on before a display.
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ, name)
        self.open = 2
        if self.display is not None:
            self.display.started()
            self.sel.register(self.display, selectors.EVENT_READ, "display")
            self.open += 1  # read to its end, like stdout and stderr

    def read(self, key: selectors.SelectorKey) -> None:
        """Read the output the selector found ready (stdout, stderr or "display")."""
        if self.sel.get_map().get(key.fd) is not key:
            return  # at its end already: read to the end before a display
        if key.data == "display":
            self._read_display(key)
            return
        try:
            data = os.read(key.fd, READ_SIZE)
        except BlockingIOError:
            return  # emptied before a display, since the selector saw it ready
        if self.capture:
            self.captured[key.data].append(data)
        if key.data == "stderr" and self.on_stderr is not None:
            self.on_stderr(data)
        if data:
            self.buffer.feed(key.data, data)
        else:
            self.buffer.feed(key.data, b"", final=True)
            self.sel.unregister(key.fileobj)
            self.open -= 1

    def read_waiting_text(self) -> None:
        """Read what is in the stdout and stderr pipes right now."""
        for _ in range(4):  # one read takes a pipe's whole contents: this is all, and more
            ready = [k for k, _ in self.sel.select(0) if k.data in TEXT]
            if not ready:
                return
            for key in ready:
                self.read(key)

    def flush(self, quiet: bool, running: bool) -> None:
        """Pass batched text on, when the program paused or an interval passed."""
        now = time.monotonic()
        out = self.buffer
        if quiet or now - out.last_flush >= FLUSH_INTERVAL or out.size() > READ_SIZE:
            # Hold a partial line back briefly: it may be a prompt for input.
            hold = (
                self.interactive
                and out.partial_since is not None
                and now - out.partial_since < PROMPT_GRACE
                and running
            )
            out.flush(keep_partial=hold)

    def tick(self) -> None:
        """Coalesced display updates whose time has come."""
        if self.display is not None:
            self.display.tick(self._show, time.monotonic())

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []

    def finish(self) -> None:
        """The run is over: the rest of the text, the latest state of every updated output."""
        self.buffer.flush()
        if self.display is not None:
            self.display.finish(self._show)

    def _read_display(self, key: selectors.SelectorKey) -> None:
        assert self.display is not None
        if not self.display.read(self._text_first, self._show, time.monotonic()):
            self.sel.unregister(key.fileobj)
            self.display.close()
            self.open -= 1

    def _text_first(self) -> None:
        """Before a display: the text the program wrote before it goes out first.

        The program wrote that text before the frame and now waits for our
        acknowledgement, so the text is in the pipes, whole.
        """
        self.read_waiting_text()
        self.buffer.flush()

    def _show(self, event: Event | Note) -> None:
        if self.sink is None:
            return
        if isinstance(event, Note):
            self.sink.stderr(f"[gorun: {event.text}]\n")
        else:
            self.sink.event(event)
