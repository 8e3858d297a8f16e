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
from typing import Any

from IPython.core.completer import CompletionContext, SimpleCompletion, context_matcher

from gorun_kernel.errors import GorunError
from gorun_kernel.help.typed import TypedHelp, time_box

MAGIC_TIME_BOX = 0.5  # seconds the Python kernel may wait for the helper
log = logging.getLogger(__name__)
_typed: TypedHelp | None = None


def _help() -> TypedHelp | None:
    global _typed
    from gorun_kernel.frontends.magic import session_engine

    try:
        engine = session_engine()
    except GorunError:
        return None  # no Go: no Go completion
    if _typed is None or _typed.engine is not engine:
        _typed = TypedHelp(engine)
        engine.closers.append(_typed.close)
    return _typed


@context_matcher(identifier="gorun_kernel.go")
def go_matcher(context: CompletionContext) -> dict[str, Any]:
    lines = context.full_text.split("\n")
    if not lines[0].startswith(("%%gorun", "%%gotest")) or context.cursor_line == 0:
        return {"completions": [], "suppress": False}
    try:
        return _go_completions(context, lines)
    except Exception:  # a bug of ours: logged; IPython would print a traceback
        log.exception("gorun_kernel: Go completion failed")
        return {"completions": [], "suppress": False}


def _go_completions(context: CompletionContext, lines: list[str]) -> dict[str, Any]:
    typed = _help()
    if typed is None:
        return {"completions": [], "suppress": False}
    cursor = sum(len(line) + 1 for line in lines[: context.cursor_line]) + context.cursor_position
    asked = typed.complete(context.full_text, cursor, len(lines[0]) + 1, 2, os.getcwd())
    reply = None
    if asked.future is not None:
        with contextlib.suppress(FutureTimeout):
            reply = asked.future.result(time_box(MAGIC_TIME_BOX))
    result = asked.finish(reply)
    typed_matches = result["metadata"].get("_jupyter_types_experimental", [])
    kinds = {e["text"]: e["type"] for e in typed_matches}
    return {
        "completions": [SimpleCompletion(m, type=kinds.get(m, "go")) for m in result["matches"]],
        "matched_fragment": context.full_text[result["cursor_start"] : result["cursor_end"]],
        "suppress": True,
        "ordered": True,
    }


def register(shell: Any) -> None:
    """Add the Go matcher to the shell's completer (once)."""
    matchers = shell.Completer.custom_matchers
    if go_matcher not in matchers:
        matchers.append(go_matcher)
