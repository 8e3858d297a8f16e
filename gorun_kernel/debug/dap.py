"""A Debug Adapter Protocol client over a socket: Delve's side of the relay.

DAP messages are JSON bodies after a `Content-Length: N\\r\\n\\r\\n` header. A
reader thread takes every message from Delve: a response completes the request
that is waiting for it (matched by request_seq), an event goes to `on_event`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

Message = dict[str, Any]


class DapClosed(Exception):
    """The connection to the debug adapter ended."""


class DapClient:
    def __init__(self, sock: socket.socket, on_event: Callable[[Message], None]) -> None:
        self.sock = sock
        self.on_event = on_event
        self._seq = itertools.count(1)
        self._pending: dict[int, Future[Message]] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name="gorun-dap", daemon=True)
        self._reader.start()

    @classmethod
    def connect(
        cls,
        port: int,
        on_event: Callable[[Message], None],
        timeout: float,
        alive: Callable[[], bool],
    ) -> DapClient | None:
        """Connect to 127.0.0.1:port once the adapter listens there; None if it never
        does within timeout, or `alive()` turns False (the run ended first)."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while time.monotonic() < deadline and alive():
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
            except OSError:
                time.sleep(delay)  # polling a port that is not yet listening
                delay = min(delay * 2, 0.1)
                continue
            sock.settimeout(None)
            return cls(sock, on_event)
        return None

    def request(self, command: str, arguments: dict[str, Any] | None = None) -> Future[Message]:
        seq = next(self._seq)
        msg: Message = {"seq": seq, "type": "request", "command": command}
        if arguments is not None:
            msg["arguments"] = arguments
        done: Future[Message] = Future()
        with self._lock:
            if self.closed.is_set():
                done.set_exception(DapClosed("the debugger has ended"))
                return done
            self._pending[seq] = done
        body = json.dumps(msg).encode()
        try:
            with self._send_lock:
                self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        except OSError as e:
            with self._lock:
                self._pending.pop(seq, None)
            done.set_exception(DapClosed(f"the debugger has ended ({e})"))
        return done

    def call(
        self, command: str, arguments: dict[str, Any] | None = None, timeout: float = 30
    ) -> Message:
        return self.request(command, arguments).result(timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def _read_loop(self) -> None:
        stream = self.sock.makefile("rb")
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length is None:
                    continue
                msg = json.loads(stream.read(length))
                if msg.get("type") == "response":
                    with self._lock:
                        done = self._pending.pop(msg.get("request_seq", -1), None)
                    if done is not None:
                        done.set_result(msg)
                elif msg.get("type") == "event":
                    self.on_event(msg)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self.closed.set()
                pending, self._pending = self._pending, {}
            for done in pending.values():
                done.set_exception(DapClosed("the debugger has ended"))
