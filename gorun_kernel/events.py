"""What the engine tells a front-end while a cell runs: the sink protocol and its events.

Program output is the hot path, so it has methods of its own (`stdout`,
`stderr`); so does the one event that needs an answer (`input_wanted`).
Everything else a front-end may show arrives through `event()` as a typed
dataclass: a rich display and its updates, a cleared output. A front-end
(the magic, the kernel, a test harness, a command-line runner) is one sink;
it handles the events it knows and ignores the rest, so new kinds of event
never break an old sink.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Display:
    """Show a MIME bundle (update=True: replace the output shown under display_id)."""

    data: dict[str, Any]  # MIME type -> text, base64 text, or a JSON value (application/json)
    metadata: dict[str, object] = field(default_factory=dict)
    display_id: str | None = None
    update: bool = False


@dataclass(frozen=True)
class ClearOutput:
    """Clear the cell's output (wait=True: when the next output arrives, without flicker)."""

    wait: bool = True


@dataclass(frozen=True)
class Progress:
    """Long work under way (a build, a module download), shown in one place that
    updates; `done` is the last word on it."""

    text: str
    done: bool = False


@dataclass(frozen=True)
class WidgetMessage:
    """A widget model from the running program (package widgets): "open" with its
    whole state, "update" with the keys that changed. `reply` sends an event back
    to the program (False once it cannot take it); None when nothing listens."""

    method: str
    model_id: str
    state: dict[str, Any]
    reply: Callable[[dict[str, Any]], bool] | None = field(default=None, compare=False)


Event = Display | ClearOutput | Progress | WidgetMessage


class OutputSink(Protocol):
    """Where a running program's output, input requests and other events go."""

    def stdout(self, text: str) -> None: ...
    def stderr(self, text: str) -> None: ...
    def input_wanted(self, prompt: str) -> str | None:
        """A line for the program's stdin (no newline), or None for end of input."""
        ...

    def event(self, event: Event) -> None: ...


class BaseSink:
    """A sink that ignores events; front-ends override what they show."""

    def stdout(self, text: str) -> None:
        pass

    def stderr(self, text: str) -> None:
        pass

    def input_wanted(self, prompt: str) -> str | None:
        return None

    def event(self, event: Event) -> None:
        pass
