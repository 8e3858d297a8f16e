"""The one presentation layer of both front-ends: events and outcomes -> notebook output.

The kernel and the magic differ only in how a message reaches the notebook
(IOPub messages; IPython's display machinery and streams): each gives a small
`Publisher`. Everything else is here, once: the `Sink` the engine writes to
(program output, rich displays, the progress line, input requests), and
`present`, which turns a finished cell's Outcome into the status line, the
value and the error, by the same rules in both.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from gorun_kernel.errors import GorunError
from gorun_kernel.events import ClearOutput, Display, Event, Progress, WidgetMessage
from gorun_kernel.frontends import render
from gorun_kernel.outcome import Outcome

Bundle = dict[str, Any]  # a MIME bundle: {"text/plain": ..., "text/html": ...}


class Publisher(Protocol):
    """How one front-end puts things in the notebook."""

    def stream(self, name: str, text: str) -> None:
        """Text on "stdout" or "stderr"."""

    def display(self, data: Bundle, metadata: Bundle, display_id: str | None, update: bool) -> None:
        """A rich output; with update, a new form of the one shown under display_id."""

    def clear(self, wait: bool) -> None:
        """Clear the cell's output (wait: when the next output comes)."""

    def ask(self, prompt: str) -> str | None:
        """A line of input from the person watching; None at end of input."""

    def value(self, data: Bundle) -> None:
        """The cell's value (the final expression's)."""

    def error(self, error: GorunError) -> None:
        """The cell's failure."""


class Sink:
    """The engine's OutputSink for one cell, for any front-end.

    progress: the build's progress line is shown, for people watching (a frontend that takes input):
    a batch run (nbconvert, papermill, nbval) keeps the same outputs however
    slow a build is. One line per cell, updated in place, never a new one per tick.
    """

    def __init__(self, publisher: Publisher, *, progress: bool) -> None:
        self.publisher = publisher
        self.progress = progress
        self.progress_id: str | None = None  # the cell's progress line, once shown
        self.widgets_refused = False  # the note that this front-end has no widgets was given

    def stdout(self, text: str) -> None:
        self.publisher.stream("stdout", text)

    def stderr(self, text: str) -> None:
        self.publisher.stream("stderr", text)

    def event(self, event: Event) -> None:
        if isinstance(event, Display):
            self.publisher.display(event.data, event.metadata, event.display_id, event.update)
        elif isinstance(event, ClearOutput):
            self.publisher.clear(event.wait)
        elif isinstance(event, Progress) and self.progress:
            first = self.progress_id is None
            if first:
                self.progress_id = uuid.uuid4().hex
            bundle = render.progress_bundle(event.text)
            self.publisher.display(bundle, {}, self.progress_id, update=not first)
        elif isinstance(event, WidgetMessage):
            widget = getattr(self.publisher, "widget", None)  # only the kernel has widgets
            if widget is not None:
                widget(event)
            elif not self.widgets_refused:
                self.widgets_refused = True
                self.stderr("[gorun: widgets are shown by the Go kernel only, not here]\n")

    def input_wanted(self, prompt: str) -> str | None:
        return self.publisher.ask(prompt)


def status_line(outcome: Outcome, timing: bool) -> str:
    """`exit status 0 · build 0.14 s · run 0.02 s` (the figures when timing is on)."""
    return outcome.status + (outcome.timing_words() if timing else "")


def present(outcome: Outcome, publisher: Publisher, *, quiet: bool, timing: bool) -> None:
    """A finished cell: its error; or its status line (unless quiet, or nothing ran)
    and its value."""
    if outcome.error is not None:
        publisher.error(outcome.error)
        return
    if not quiet and outcome.ran:
        publisher.display(render.status_bundle(status_line(outcome, timing)), {}, None, False)
    if outcome.value is not None:
        publisher.value(outcome.value_data or {"text/plain": outcome.value})
