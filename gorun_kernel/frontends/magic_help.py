"""Type-aware completion inside `%%gorun` (and `%%gotest`) cells of a Python notebook.

IPython's completer takes extra matchers (`IPCompleter.custom_matchers`); one
of matcher API v2 receives the whole cell (`CompletionContext.full_text`) and
the cursor's line and column, which is all the kernel's typed help needs. In a
cell whose first line is `%%gorun` or `%%gotest`, the matcher answers for Go and suppresses
IPython's Python matchers. IPython's completer is synchronous, so the matcher
waits for the helper at most `MAGIC_TIME_BOX` (the Python kernel is busy that
long); it carries each match's kind, but IPython drops the signatures of
non-Jedi matchers. Inspection (Shift-Tab) cannot be extended the same way:
ipykernel resolves the name at the cursor to a Python object, with no hook
for the body of a cell magic.
"""

from __future__ import annotations

import contextlib
import logging
import os
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
        reply = None
        if asked.future is not None:
            with contextlib.suppress(FutureTimeout):
                reply = asked.future.result(time_box(MAGIC_TIME_BOX))
        result = asked.finish(reply)
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


def register(shell: Any, magics: GorunMagics) -> None:
    """Add the Go matcher for the magics' session to the shell's completer (once)."""
    matchers = shell.Completer.custom_matchers
    if any(getattr(m, "matcher_identifier", None) == IDENTIFIER for m in matchers):
        return
    helper = MagicHelp(magics)

    @context_matcher(identifier=IDENTIFIER)
    def go_matcher(context: CompletionContext) -> dict[str, Any]:
        return helper.matcher(context)

    matchers.append(go_matcher)
