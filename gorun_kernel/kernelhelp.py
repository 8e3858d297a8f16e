"""The kernel's completion and inspection: typed help, answered without holding the shell.

ipykernel handles shell messages one at a time: an execute_request waits until
the complete_request before it has been answered. So the kernel answers help
requests from tasks of their own (`detach`): the handler returns at once, and a
cell sent while the helper computes runs without waiting for it. A task waits
at most `typedhelp.TIME_BOX` for the helper, then answers as the kernel always did (a
reply that is late because a cell ran meanwhile is sent after that cell).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any

from . import assist, cellhead
from .engine import Engine
from .errors import GorunError
from .typedhelp import Asked, TypedHelp, time_box

log = logging.getLogger(__name__)


class KernelHelp:
    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self.typed: TypedHelp | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def detach(self, handler: Coroutine[Any, Any, Any]) -> None:
        """Run a request handler as a task of its own (kept until it is done)."""
        task = asyncio.ensure_future(handler)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        cursor = assist.clamp(code, cursor_pos)
        if self.engine is None:
            return {"status": "ok", "matches": [], "cursor_start": cursor,
                    "cursor_end": cursor, "metadata": {}}  # fmt: skip
        try:
            return await _answer(self._typed().complete(code, cursor, *_body(code), os.getcwd()))
        except Exception:  # a bug of ours: logged, and the user still gets today's help
            log.exception("gorun_kernel: typed completion failed")
            return assist.complete(self.engine, code, cursor)

    async def inspect(self, code: str, cursor_pos: int, detail: int) -> dict[str, Any]:
        cursor = assist.clamp(code, cursor_pos)
        if self.engine is None:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        try:
            asked = self._typed().inspect(code, cursor, *_body(code), os.getcwd(), detail)
            return await _answer(asked)
        except Exception:
            log.exception("gorun_kernel: typed inspection failed")
            return assist.inspect(self.engine, code, cursor)

    def _typed(self) -> TypedHelp:
        if self.typed is None:
            assert self.engine is not None
            self.typed = TypedHelp(self.engine)
            self.engine.closers.append(self.typed.close)
        return self.typed


def _body(code: str) -> tuple[int, int]:
    """(where the Go starts in the cell, its line number): after the % and ! lines."""
    try:
        head = cellhead.split(code)
    except GorunError:
        return len(code) + 1, 1  # a bad % line: no Go to look at
    return len(code) - len(head.body), head.first_line


async def _answer(asked: Asked) -> dict[str, Any]:
    reply = None
    if asked.future is not None:
        waiting = asyncio.wrap_future(asked.future)
        done, _ = await asyncio.wait([waiting], timeout=time_box())
        if done:
            reply = waiting.result()
    return asked.finish(reply)
