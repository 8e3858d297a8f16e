"""Errors a user can cause, written for that user.

Every failure of a cell is a `GorunError`. IPython shows an exception that has
`_render_traceback_` by calling it instead of printing a Python traceback, so a
failed cell renders as a clean message and still counts as an error ("Run All"
stops there, nbval sees it). Bugs in our own code are not caught and hidden:
they are ordinary exceptions.
"""

from __future__ import annotations


class GorunError(Exception):
    """Base class of every error a user can cause."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Lines shown under the one-line message (diagnostics, quoted source).
        self.details: list[str] = list(details or [])

    @property
    def ename(self) -> str:
        return type(self).__name__

    def render(self) -> list[str]:
        """The message as the notebook shows it: headline, then details."""
        return [f"{self.ename}: {self.message}", *self.details]

    def _render_traceback_(self) -> list[str]:
        return self.render()


class UsageError(GorunError):
    """A malformed command line (unknown option, missing value, bad duration)."""


class CellError(GorunError):
    """The cell itself cannot be used: empty, or a bad multi-file layout."""


class ToolchainError(GorunError):
    """No Go toolchain, or one that does not work."""


class BuildError(GorunError):
    """The go command failed: compile errors, a missing module, a bad flag."""

    def __init__(self, message: str, details: list[str] | None = None, go_output: str = "") -> None:
        super().__init__(message, details)
        self.go_output = go_output  # go's own words, before mapping to cells


class RunFailure(GorunError):
    """The program ran but did not succeed. Subclasses say how."""


class ExitError(RunFailure):
    """The program exited with a non-zero status."""

    def __init__(self, returncode: int, details: list[str] | None = None) -> None:
        super().__init__(f"exit status {returncode}", details)
        self.returncode = returncode


class GoPanic(ExitError):
    """The program panicked: the runtime's own words, and the cell line where it did."""

    def __init__(self, headline: str, trace: list[str]) -> None:
        super().__init__(2, [*trace, "exit status 2"])
        self.message = headline  # `panic: not implemented (cell [2], line 3)`
        self.args = (headline,)


class SignalError(RunFailure):
    """The program was ended by a signal it did not handle."""

    def __init__(self, description: str, signum: int) -> None:
        super().__init__(f"signal: {description}")
        self.signum = signum


class OverMemoryLimit(RunFailure):
    """The program ran out of memory under --memory (or GORUN_MEMORY_LIMIT)."""


class RunTimeout(RunFailure):
    """The program ran past --timeout and was killed."""


class Interrupted(RunFailure):
    """The user interrupted the build or the run."""


class TestFailure(RunFailure):
    """A test cell ran, and tests failed ("2 of 5 tests failed"), or the test binary did."""

    __test__ = False  # not a test class, whatever pytest thinks of the name
