"""One student, as JupyterLab talks to the Hub and to the single-user server.

Hub REST API: start the server and follow its progress events. Server REST API:
POST /api/sessions opens the notebook's kernel (as opening a notebook does),
POST /api/kernels/<id>/interrupt stops it. The kernel's websocket
(/api/kernels/<id>/channels) carries the Jupyter messaging protocol as JSON:
execute_request, the iopub stream, input_request / input_reply.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from .exercise import Cell


class StudentError(Exception):
    """A request failed or the kernel did not answer in time; says which and why."""


@dataclass
class CellRun:
    cell: Cell
    started: float = 0.0  # time.monotonic() when sent
    seconds: float = 0.0
    status: str = ""  # "ok" or "error" (execute_reply)
    ename: str = ""
    evalue: str = ""
    output: str = ""  # stdout, stderr, results and displays (text/plain), in order
    input_requests: int = 0
    interrupted: bool = False
    problem: str = ""  # why this run is an unexpected failure, or ""
    timing: dict[str, Any] = field(default_factory=dict)  # the reply's gorun_timing

    def judge(self) -> None:
        c = self.cell
        if c.expect_ename is None and self.status != "ok":
            self.problem = f"failed: {self.ename}: {self.evalue}"
        elif c.expect_ename is not None and self.status != "error":
            self.problem = f"expected {c.expect_ename}, but the cell succeeded"
        elif c.expect_ename not in (None, "*") and self.ename != c.expect_ename:
            self.problem = f"expected {c.expect_ename}, got {self.ename}: {self.evalue}"
        elif self.ename == "InternalError":
            self.problem = f"the kernel failed: {self.evalue}"
        elif c.expect_text and c.expect_text not in self.output + self.evalue:
            self.problem = f"{c.expect_text!r} not in the output: {self.output[-300:]!r}"
        elif c.input_reply is not None and self.input_requests == 0:
            self.problem = "the program never asked for input"
        elif c.interrupt_on and not self.interrupted:
            self.problem = f"{c.interrupt_on!r} never appeared, so no interrupt was sent"


def _iso_now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class Student:
    name: str
    hub_url: str  # http://127.0.0.1:PORT (the proxy)
    token: str
    server_seconds: float = 0.0  # from asking for a server to its being ready
    kernel_id: str = ""
    runs: list[CellRun] = field(default_factory=list)
    _ws: WebSocketClientConnection | None = None
    _session: str = field(default_factory=lambda: uuid.uuid4().hex)

    async def _request(self, method: str, url: str, body: Any = None, timeout: float = 300) -> Any:
        request = HTTPRequest(
            url,
            method=method,
            headers={"Authorization": f"token {self.token}"},
            body=None if body is None and method == "GET" else json.dumps(body or {}),
            request_timeout=timeout,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as e:
            text = e.response.body.decode(errors="replace") if e.response else ""
            raise StudentError(f"{self.name}: {method} {url}: {e.code} {text[:300]}") from e
        return json.loads(response.body) if response.body else None

    @property
    def server_url(self) -> str:
        return f"{self.hub_url}/user/{self.name}"

    async def server_request(self, method: str, path: str, body: Any = None) -> Any:
        """A request to the student's own server (path under its base URL), as JupyterLab
        makes them: the contents API, a server extension's handlers (nbgrader's)."""
        return await self._request(method, f"{self.server_url}/{path}", body)

    async def start_server(self, timeout: float = 300) -> None:
        """POST the server, then read the Hub's progress events until it says ready."""
        started = time.monotonic()
        await self._request("POST", f"{self.hub_url}/hub/api/users/{self.name}/server")
        ready: list[bool] = []

        def on_chunk(chunk: bytes) -> None:
            for line in chunk.decode(errors="replace").splitlines():
                if line.startswith("data:") and json.loads(line[5:]).get("ready"):
                    ready.append(True)

        request = HTTPRequest(
            f"{self.hub_url}/hub/api/users/{self.name}/server/progress",
            headers={"Authorization": f"token {self.token}", "Accept": "text/event-stream"},
            streaming_callback=on_chunk,
            request_timeout=timeout,
        )
        await AsyncHTTPClient().fetch(request)  # the stream ends once the server is up
        if not ready:
            raise StudentError(f"{self.name}: the server's progress ended without 'ready'")
        self.server_seconds = time.monotonic() - started

    async def open_notebook(self, path: str = "classroom.ipynb", kernel: str = "gorun") -> None:
        """As JupyterLab opening a notebook: a session (and its kernel), then the websocket."""
        session = await self._request(
            "POST",
            f"{self.server_url}/api/sessions",
            {"path": path, "type": "notebook", "name": path, "kernel": {"name": kernel}},
        )
        self.kernel_id = session["kernel"]["id"]
        ws_url = self.server_url.replace("http", "ws", 1)
        self._ws = await websocket_connect(
            HTTPRequest(
                f"{ws_url}/api/kernels/{self.kernel_id}/channels?session_id={self._session}",
                headers={"Authorization": f"token {self.token}"},
            )
        )
        await self._roundtrip("kernel_info_request", {}, timeout=120)

    def _message(self, msg_type: str, content: dict[str, Any], channel: str, parent=None) -> dict:
        header = {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "username": self.name,
            "session": self._session,
            "date": _iso_now(),
            "version": "5.3",
        }
        return {
            "header": header,
            "parent_header": parent or {},
            "metadata": {},
            "content": content,
            "channel": channel,
            "buffers": [],
        }

    async def _send(self, msg: dict) -> None:
        assert self._ws is not None
        await self._ws.write_message(json.dumps(msg))

    async def _receive(self, deadline: float) -> dict:
        assert self._ws is not None
        left = deadline - time.monotonic()
        if left <= 0:
            raise StudentError(f"{self.name}: no answer from the kernel in time")
        raw = await asyncio.wait_for(self._ws.read_message(), left)
        if raw is None:
            raise StudentError(f"{self.name}: the kernel's websocket closed")
        return json.loads(raw)

    async def _roundtrip(self, msg_type: str, content: dict, timeout: float) -> dict:
        msg = self._message(msg_type, content, "shell")
        await self._send(msg)
        deadline = time.monotonic() + timeout
        while True:
            reply = await self._receive(deadline)
            ours = reply.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]
            if ours and reply["channel"] == "shell":
                return reply

    async def run_cell(self, cell: Cell, timeout: float = 180) -> CellRun:
        """Execute one cell; interrupt or answer input when the cell calls for it."""
        run = CellRun(cell)
        content = {
            "code": cell.code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": True,
            "stop_on_error": True,
        }
        msg = self._message("execute_request", content, "shell")
        msg_id = msg["header"]["msg_id"]
        started = run.started = time.monotonic()
        await self._send(msg)
        replied = idle = False
        deadline = started + timeout
        while not (replied and idle):
            reply = await self._receive(deadline)
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = reply["header"]["msg_type"]
            body = reply["content"]
            if kind == "execute_reply":
                replied = True
                run.status = body["status"]
                run.ename, run.evalue = body.get("ename", ""), body.get("evalue", "")
                run.timing = reply.get("metadata", {}).get("gorun_timing") or {}
            elif kind == "status":
                idle = body["execution_state"] == "idle"
            elif kind == "input_request":
                run.input_requests += 1
                answer = cell.input_reply if cell.input_reply is not None else ""
                await self._send(
                    self._message("input_reply", {"value": answer}, "stdin", reply["header"])
                )
            else:
                run.output += _text_of(kind, body)
                if cell.interrupt_on in run.output and cell.interrupt_on and not run.interrupted:
                    run.interrupted = True
                    await self._request(
                        "POST", f"{self.server_url}/api/kernels/{self.kernel_id}/interrupt"
                    )
        run.seconds = time.monotonic() - started
        run.judge()
        self.runs.append(run)
        return run

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()


def _text_of(kind: str, body: dict) -> str:
    """The text a person would read from one iopub message."""
    if kind == "stream":
        return body.get("text", "")
    if kind in ("execute_result", "display_data", "update_display_data"):
        return str(body.get("data", {}).get("text/plain", "")) + "\n"
    if kind == "error":
        return "\n".join(body.get("traceback", [])) + "\n"
    return ""
