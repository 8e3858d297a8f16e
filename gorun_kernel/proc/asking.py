"""Interactive standard input: a program blocked reading it is asked for a line.

When the program waits in read(2) on its stdin (stdinwatch.py) and has
written nothing for a moment, whatever it wrote before is shown and its
pending partial line becomes the prompt of an input request to the sink; the
answer is written to its stdin, or end of input when nobody answers.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable

from gorun_kernel.events import OutputSink
from gorun_kernel.proc.control import Control
from gorun_kernel.proc.stdinwatch import blocked_reading_stdin
from gorun_kernel.proc.streams import OutputBuffer


class InputAsker:
    """The write end of an interactive program's stdin, and the asking."""

    def __init__(self, pipe: int, sink: OutputSink | None, control: Control) -> None:
        self.pipe: int | None = pipe
        self.sink = sink
        self.control = control

    def wanted(self, pid: int | None) -> bool:
        """The program (pid: its group's leader) is blocked reading its stdin."""
        return self.pipe is not None and pid is not None and blocked_reading_stdin(pid)

    def ask(self, out: OutputBuffer, read_pending: Callable[[], None]) -> float:
        """Ask the sink for a line; the seconds spent waiting for the answer."""
        read_pending()  # what it wrote before waiting is in the pipes now
        out.flush(keep_partial=True)
        prompt = out.take_prompt()
        self.control.waiting_for_input = True
        asked = time.monotonic()
        try:
            answer = self.sink.input_wanted(prompt) if self.sink is not None else None
        finally:
            self.control.waiting_for_input = False
        waited = time.monotonic() - asked
        if answer is None:
            if prompt and self.sink is not None:
                self.sink.stdout(prompt)  # nobody answered: the prompt is output after all
            self.close()
            return waited
        assert self.pipe is not None
        try:
            data = (answer + "\n").encode()
            while data:
                data = data[os.write(self.pipe, data) :]
        except OSError:
            self.close()
        return waited

    def close(self) -> None:
        if self.pipe is not None:
            with contextlib.suppress(OSError):
                os.close(self.pipe)
            self.pipe = None
