"""Comms in the Go kernel, and the widgets of Go programs held as standard ipywidgets models.

The kernel speaks the widget protocol (jupyter-widgets "state/sync" protocol,
version 2) itself: the Go package `widgets` sends each model's state over the
display channel (frames of type "widget"), and this module opens one comm per
model (target "jupyter.widget", the model names of @jupyter-widgets/controls 2.x,
base and output), keeps its state, answers the frontend's requests for it, and
passes the frontend's changes and clicks back to the program while it runs.
ipywidgets' Python classes are not used: the state lives in the Go program, and
the kernel only relays it (no IPython shell, no traits to keep in step).

Comm messages use the `comm` package through ipykernel's CommManager, as the
IPython kernel does: comm_info_request lists the open comms, comm_open for an
unknown target is closed again with a log line, never an error.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import comm as comm_package
from ipykernel.comm import CommManager
from ipykernel.comm.comm import BaseComm

from gorun_kernel.events import WidgetMessage

TARGET = "jupyter.widget"
CONTROL_TARGET = "jupyter.widget.control"  # ipywidgets 8's "all states at once" channel
PROTOCOL_VERSION = "2.1.0"
log = logging.getLogger("gorun_kernel.comms")


@dataclass
class _Model:
    comm: BaseComm
    state: dict[str, Any]
    reply: Any  # Callable[[dict], bool] | None: the program that made it, while it runs


class WidgetComms:
    """The kernel's comm manager and the widget models of its programs."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.manager = CommManager(kernel=kernel)
        # BaseComm registers itself with whatever comm.get_comm_manager returns.
        comm_package.get_comm_manager = lambda: self.manager
        kernel.comm_manager = self.manager  # what Kernel.comm_info_request lists
        for msg_type in ("comm_open", "comm_msg", "comm_close"):
            kernel.shell_handlers[msg_type] = getattr(self.manager, msg_type)
        self.manager.register_target(CONTROL_TARGET, self._control_opened)
        self.models: dict[str, _Model] = {}
        self.lock = threading.Lock()  # the run loop and the shell channel's thread

    # -- from the program (the run loop's thread) ---------------------------------

    def from_program(self, event: WidgetMessage) -> None:
        if event.method == "open":
            self._open(event)
            return
        with self.lock:
            model = self.models.get(event.model_id)
        if model is None:
            log.warning("widget %s: %s of a model never opened", event.model_id, event.method)
            return
        if event.method == "close":
            with self.lock:
                self.models.pop(event.model_id, None)
            model.comm.close()
            return
        with self.lock:
            model.state.update(event.state)
        model.comm.send({"method": "update", "state": event.state, "buffer_paths": []})

    def _open(self, event: WidgetMessage) -> None:
        c = BaseComm(
            target_name=TARGET,
            comm_id=event.model_id,
            data={"state": event.state, "buffer_paths": []},
            metadata={"version": PROTOCOL_VERSION},
        )
        model = _Model(c, dict(event.state), event.reply)
        with self.lock:
            self.models[event.model_id] = model
        c.on_msg(lambda msg: self._from_frontend(event.model_id, msg))
        c.on_close(lambda msg: self._closed(event.model_id))

    # -- from the frontend (the shell channel's thread while a cell runs) ---------

    def _from_frontend(self, model_id: str, msg: dict[str, Any]) -> None:
        with self.lock:
            model = self.models.get(model_id)
        data = msg.get("content", {}).get("data")
        if model is None or not isinstance(data, dict):
            log.warning("widget %s: a malformed comm message was ignored", model_id)
            return
        method = data.get("method")
        if method == "update" and isinstance(data.get("state"), dict):
            state = data["state"]
            with self.lock:
                model.state.update(state)
            # ipywidgets 8: the change comes back as an echo, so that every view agrees.
            model.comm.send({"method": "echo_update", "state": state, "buffer_paths": []})
            self._to_program(model, {"id": model_id, "method": "update", "state": state})
        elif method == "request_state":
            with self.lock:
                state = dict(model.state)
            model.comm.send({"method": "update", "state": state, "buffer_paths": []})
        elif method == "custom":
            content = data.get("content")
            self._to_program(model, {"id": model_id, "method": "custom", "content": content})
        else:
            log.warning("widget %s: unknown comm message method %r ignored", model_id, method)

    def _to_program(self, model: _Model, event: dict[str, Any]) -> None:
        if model.reply is not None and not model.reply(event):
            model.reply = None  # the program ended: its widgets keep their state here

    def _closed(self, model_id: str) -> None:
        with self.lock:
            self.models.pop(model_id, None)

    def _control_opened(self, c: BaseComm, msg: dict[str, Any]) -> None:
        """ipywidgets 8's manager asks for every model's state at once."""

        def answer(m: dict[str, Any]) -> None:
            data = m.get("content", {}).get("data") or {}
            if data.get("method") != "request_states":
                return
            with self.lock:
                states = {i: dict(model.state) for i, model in self.models.items()}
            c.send({"method": "update_states", "states": states, "buffer_paths": {}})

        c.on_msg(answer)

    # -- while a cell runs -------------------------------------------------------

    def handle_now(self, stream: Any, idents: list[Any], msg: dict[str, Any]) -> None:
        """A comm message or comm_info_request that came while the main thread runs a
        cell: answered on the shell channel's thread (the program waits for it)."""
        msg_type = msg["header"]["msg_type"]
        try:
            if msg_type == "comm_info_request":
                target = msg["content"].get("target_name")
                comms = {
                    k: {"target_name": v.target_name}
                    for k, v in self.manager.comms.items()
                    if target is None or v.target_name == target
                }
                reply = {"comms": comms, "status": "ok"}
                self.kernel.session.send(stream, "comm_info_reply", reply, msg, idents)
            else:
                getattr(self.manager, msg_type)(stream, idents, msg)
        except Exception:  # a frontend's bad message must not end the shell thread
            log.exception("comm message %s failed", msg_type)
