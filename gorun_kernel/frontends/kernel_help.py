"""The kernel's completion and inspection: typed help, answered without holding the shell.

ipykernel handles shell messages one at a time: an execute_request waits until
the complete_request before it has been answered. So the kernel answers help
requests from tasks of their own (ipykernel_adapter.AdaptedKernel.detach): the
handler returns at once, and a cell sent while the helper computes runs without
waiting for it. A task waits
at most `typedhelp.TIME_BOX` for the helper, then answers as the kernel always did (a
reply that is late because a cell ran meanwhile is sent after that cell).

A request sent while a cell runs would wait for its end (the main thread is in
the cell, and ipykernel takes shell messages one at a time): the shell channel's
own thread answers those (`answer`; the plumbing is in ipykernel_adapter.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from gorun_kernel.engine import Engine
from gorun_kernel.errors import GorunError
from gorun_kernel.frontends import cellhead
from gorun_kernel.help import untyped as assist
from gorun_kernel.help.typed import Asked, TypedHelp, time_box

log = logging.getLogger(__name__)


class KernelHelp:
    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self.typed: TypedHelp | None = None

    async def complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        cursor = assist.clamp(code, cursor_pos)
        if self.engine is None:
            return _empty(cursor, "complete_request")
        try:
            return await _answer(self._typed().complete(code, cursor, *_body(code), os.getcwd()))
        except Exception:  # a bug of ours: logged, and the user still gets today's help
            log.exception("gorun_kernel: typed completion failed")
            return assist.complete(self.engine, code, cursor)

    async def inspect(self, code: str, cursor_pos: int, detail: int) -> dict[str, Any]:
        cursor = assist.clamp(code, cursor_pos)
        if self.engine is None:
            return _empty(cursor, "inspect_request")
        try:
            asked = self._typed().inspect(code, cursor, *_body(code), os.getcwd(), detail)
            return await _answer(asked)
        except Exception:
            log.exception("gorun_kernel: typed inspection failed")
            return assist.inspect(self.engine, code, cursor)

    async def answer(self, kind: str, content: dict[str, Any]) -> dict[str, Any]:
        """The reply to a help request the shell channel's thread answers while a
        cell runs (ipykernel_adapter.py)."""
        try:
            if kind == "complete_request":
                return await self.complete(content["code"], content["cursor_pos"])
            return await self.inspect(
                content["code"], content["cursor_pos"], content.get("detail_level", 0)
            )
        except Exception:  # the session changed under us (the cell ended): no help this time
            log.exception("gorun_kernel: help while a cell runs failed")
            return _empty(content.get("cursor_pos", 0), kind)

    def _typed(self) -> TypedHelp:
        if self.typed is None:
            assert self.engine is not None
            self.typed = TypedHelp(self.engine)
            self.engine.closers.append(self.typed.close)
        return self.typed


def _empty(cursor: int, kind: str) -> dict[str, Any]:
    if kind == "complete_request":
        return {
            "status": "ok",
            "matches": [],
            "cursor_start": cursor,
            "cursor_end": cursor,
            "metadata": {},
        }
    return {"status": "ok", "found": False, "data": {}, "metadata": {}}


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
