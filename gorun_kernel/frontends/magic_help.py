"""Type-aware completion and inspection inside `%%gorun` (and `%%gotest`) cells of a
Python notebook.

IPython's completer takes extra matchers (`IPCompleter.custom_matchers`); one
of matcher API v2 receives the whole cell (`CompletionContext.full_text`) and
the cursor's line and column, which is all the kernel's typed help needs. In a
cell whose first line is `%%gorun` or `%%gotest`, the matcher answers for Go and suppresses
IPython's Python matchers. IPython's completer is synchronous, so the matcher
waits for the helper at most `MAGIC_TIME_BOX` (the Python kernel is busy that
long); it carries each match's kind, but IPython drops the signatures of
non-Jedi matchers.

Inspection (Shift-Tab) has no such hook: ipykernel's IPythonKernel resolves the
name at the cursor to a Python object. The running kernel instance (the shell's
`kernel`) is reached instead, and its do_inspect asks `MagicHelp.inspect` first
(ipykernel_adapter.route_inspection): Go cells get Go's answer, with the same
time box; every other cell is left to IPython.
"""

from __future__ import annotations

import contextlib
import logging
import os
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from IPython.core.completer import CompletionContext, SimpleCompletion, context_matcher

from gorun_kernel.errors import GorunError
from gorun_kernel.help.typed import TypedHelp, time_box

if TYPE_CHECKING:
    from gorun_kernel.frontends.magic import GorunMagics

MAGIC_TIME_BOX = 0.5  # seconds the Python kernel may wait for the helper
IDENTIFIER = "gorun_kernel.go"
log = logging.getLogger(__name__)


class MagicHelp:
    """Typed help for one shell's magics: their session's helper, made on first use."""

    def __init__(self, magics: GorunMagics) -> None:
        self.magics = magics
        self.typed: TypedHelp | None = None

    def _help(self) -> TypedHelp | None:
        try:
            engine = self.magics.engine()
        except GorunError:
            return None  # no Go: no Go completion
        if self.typed is None or self.typed.engine is not engine:
            self.typed = TypedHelp(engine)  # (a new session after close_engine: a new helper)
            engine.closers.append(self.typed.close)
        return self.typed

    def inspect(self, code: str, cursor_pos: int, detail: int) -> dict[str, Any] | None:
        """Shift-Tab in a %%gorun or %%gotest cell's Go: Go's answer (found or not);
        None for any other cell, or the cursor on the magic's line: IPython's then."""
        head, newline, _ = code.partition("\n")
        if not head.startswith(("%%gorun", "%%gotest")) or not newline or cursor_pos <= len(head):
            return None
        try:
            typed = self._help()
            if typed is None:
                return None
            asked = typed.inspect(code, cursor_pos, len(head) + 1, 2, os.getcwd(), detail)
            return asked.finish(_within_time_box(asked.future))
        except Exception:  # a bug of ours: logged; the user gets IPython's answer
            log.exception("gorun_kernel: Go inspection failed")
            return None

    def matcher(self, context: CompletionContext) -> dict[str, Any]:
        lines = context.full_text.split("\n")
        if not lines[0].startswith(("%%gorun", "%%gotest")) or context.cursor_line == 0:
            return {"completions": [], "suppress": False}
        try:
            return self._go_completions(context, lines)
        except Exception:  # a bug of ours: logged; IPython would print a traceback
            log.exception("gorun_kernel: Go completion failed")
            return {"completions": [], "suppress": False}

    def _go_completions(self, context: CompletionContext, lines: list[str]) -> dict[str, Any]:
        typed = self._help()
        if typed is None:
            return {"completions": [], "suppress": False}
        cursor = sum(len(line) + 1 for line in lines[: context.cursor_line])
        cursor += context.cursor_position
        asked = typed.complete(context.full_text, cursor, len(lines[0]) + 1, 2, os.getcwd())
        result = asked.finish(_within_time_box(asked.future))
        typed_matches = result["metadata"].get("_jupyter_types_experimental", [])
        kinds = {e["text"]: e["type"] for e in typed_matches}
        return {
            "completions": [
                SimpleCompletion(m, type=kinds.get(m, "go")) for m in result["matches"]
            ],
            "matched_fragment": context.full_text[result["cursor_start"] : result["cursor_end"]],
            "suppress": True,
            "ordered": True,
        }


def _within_time_box(future: Future[Any] | None) -> Any:
    """The helper's reply, if it comes within the time box (the Python kernel waits)."""
    if future is None:
        return None
    with contextlib.suppress(FutureTimeout):
        return future.result(time_box(MAGIC_TIME_BOX))
    return None


def register(shell: Any, magics: GorunMagics) -> None:
    """Add the Go matcher for the magics' session to the shell's completer, and Go
    inspection to the shell's kernel when it runs in one (once)."""
    matchers = shell.Completer.custom_matchers
    if any(getattr(m, "matcher_identifier", None) == IDENTIFIER for m in matchers):
        return
    helper = MagicHelp(magics)
    if getattr(shell, "kernel", None) is not None:  # (a terminal IPython has no kernel)
        from gorun_kernel.frontends.ipykernel_adapter import route_inspection

        route_inspection(shell, helper.inspect)

    @context_matcher(identifier=IDENTIFIER)
    def go_matcher(context: CompletionContext) -> dict[str, Any]:
        return helper.matcher(context)

    matchers.append(go_matcher)
