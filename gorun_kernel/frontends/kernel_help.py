"""The kernel's completion and inspection: typed help, answered without holding the shell.

ipykernel handles shell messages one at a time: an execute_request waits until
the complete_request before it has been answered. So the kernel answers help
requests from tasks of their own (`detach`): the handler returns at once, and a
cell sent while the helper computes runs without waiting for it. A task waits
at most `typedhelp.TIME_BOX` for the helper, then answers as the kernel always did (a
reply that is late because a cell ran meanwhile is sent after that cell).

A request sent while a cell runs would wait for its end (the main thread is in
the cell, and ipykernel takes shell messages one at a time): the shell channel's
own thread answers those (`answer_now`), and sends the reply itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any

from ipykernel.jsonutil import json_clean
from ipykernel.kernelbase import Kernel

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
        self.cell_running = False  # set by the kernel while it handles an execute_request
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

    def answer_now(self, kernel: Kernel, msg: list[Any]) -> bool:
        """Answer a completion or inspection request on the calling thread's loop
        (the shell channel's, while the main thread runs a cell); False for any
        other message, which takes the usual way."""
        idents, frames = kernel.session.feed_identities(msg, copy=False)
        # A peek first: unpacking the content records the message's signature, and
        # ipykernel would then refuse any message we leave to it as a replay.
        header = kernel.session.deserialize(frames, content=False, copy=False)["header"]
        if header["msg_type"] not in ("complete_request", "inspect_request") or header.get(
            "subshell_id"
        ):
            return False
        parent = kernel.session.deserialize(frames, content=True, copy=False)
        self.detach(self._reply_now(kernel, idents, parent))
        return True

    async def _reply_now(self, kernel: Kernel, idents: list[Any], parent: dict[str, Any]) -> None:
        content = parent["content"]
        kind = parent["header"]["msg_type"]
        try:
            if kind == "complete_request":
                reply = await self.complete(content["code"], content["cursor_pos"])
            else:
                reply = await self.inspect(
                    content["code"], content["cursor_pos"], content.get("detail_level", 0)
                )
        except Exception:  # the session changed under us (the cell ended): no help this time
            log.exception("gorun_kernel: help while a cell runs failed")
            reply = _empty(content.get("cursor_pos", 0), kind)
        kind = kind.replace("_request", "_reply")
        kernel.session.send(kernel.shell_stream, kind, json_clean(reply), parent, idents)

    def _typed(self) -> TypedHelp:
        if self.typed is None:
            assert self.engine is not None
            self.typed = TypedHelp(self.engine)
            self.engine.closers.append(self.typed.close)
        return self.typed


def _empty(cursor: int, kind: str) -> dict[str, Any]:
    if kind == "complete_request":
        return {"status": "ok", "matches": [], "cursor_start": cursor,
                "cursor_end": cursor, "metadata": {}}  # fmt: skip
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
