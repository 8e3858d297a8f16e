"""A program's output on its way to the sink: decoded, batched, capped, in arrival order.

Output is decoded incrementally as UTF-8 with replacement (a character split
across two reads survives), batched a little so that a chatty program does not
cost a message per write, and capped so that a flood cannot drown the notebook.
A partial line of stdout can be taken back out: it may be the prompt of a
program that now waits for input.
"""

from __future__ import annotations

import codecs
import time

from gorun_kernel.events import OutputSink


class OutputBuffer:
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
