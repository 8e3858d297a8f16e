"""What a long go command is doing, said while it works: `building… 3.1 s`.

A `BuildProgress` watches one go command's stderr as it arrives (for
`go: downloading rsc.io/quote v1.5.2`) and is ticked by the run loop. Nothing
is said for fast commands: the first word comes after SHOW_AFTER seconds, so
a cell that builds in 0.1 s shows no flicker; then the line is updated at most
every UPDATE_EVERY seconds, and at the end it goes (the status line has the time).
"""

from __future__ import annotations

import time

from gorun_kernel.events import OutputSink, Progress

SHOW_AFTER = 0.5  # seconds of work before a progress line appears
UPDATE_EVERY = 0.5  # seconds between updates of the line


class BuildProgress:
    """Progress of one go command, told to a sink's `event`."""

    def __init__(self, sink: OutputSink, what: str = "building") -> None:
        self.sink = sink
        self.what = what
        self.started = time.monotonic()
        self.activity = what
        self.downloads: list[str] = []
        self.shown_at: float | None = None
        self._partial = ""

    # The sink side: go's output, as run_process streams it.
    def stdout(self, text: str) -> None:
        pass

    def stderr(self, text: str) -> None:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.startswith("go: finding module for package "):
                self.activity = "finding " + line.removeprefix("go: finding module for package ")
            elif line.startswith("go: downloading "):
                module = line.removeprefix("go: downloading ").strip()
                self.downloads.append(module)
                self.activity = f"downloading {module}"

    def input_wanted(self, prompt: str) -> str | None:
        return None

    def event(self, event: object) -> None:
        pass

    # The loop side.
    def tick(self) -> None:
        now = time.monotonic()
        if now - self.started < SHOW_AFTER:
            return
        if self.shown_at is not None and now - self.shown_at < UPDATE_EVERY:
            return
        self.shown_at = now
        self.sink.event(Progress(f"{self.activity}… {now - self.started:.1f} s"))

    def finish(self, ok: bool) -> None:
        """The command ended: take the line back, if one was shown.

        The cell's status line says how long the build took, and a failed build's
        error says why it stopped: the progress line ends as nothing (its text ""),
        so a slow build leaves one grey line under the cell, not two. Only what the
        status line cannot say stays: the modules that were downloaded."""
        if self.shown_at is None:
            return
        text = f"downloaded {', '.join(self.downloads)}" if ok and self.downloads else ""
        self.sink.event(Progress(text, done=True))
