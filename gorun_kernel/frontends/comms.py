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

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import comm as comm_package
from ipykernel.comm import CommManager
from ipykernel.comm.comm import BaseComm

from gorun_kernel import config
from gorun_kernel.events import ClearOutput, Display, Event, WidgetMessage

TARGET = "jupyter.widget"
CONTROL_TARGET = "jupyter.widget.control"  # ipywidgets 8's "all states at once" channel
PROTOCOL_VERSION = "2.1.0"
log = logging.getLogger("gorun_kernel.comms")


REPLAY_ENV = config.INTERACT.name  # the Go package's widgets.Interact reads it


@dataclass
class _Model:
    comm: BaseComm
    state: dict[str, Any]
    reply: Any  # Callable[[dict], bool] | None: the program that made it, while it runs
    interacts: list[_Interact] = field(default_factory=list)  # the Interacts it drives


class WidgetComms:
    """The kernel's comm manager and the widget models of its programs."""

    def __init__(self, kernel: Any, engine: Callable[[], Any] | None = None) -> None:
        self.kernel = kernel
        self.engine = engine or (lambda: None)  # the session's Engine, for Interact's re-runs
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
        if event.method == "interact":
            self._interact(event)
            return
        if event.method == "begin":
            return  # the start of an Interact's output, in a re-run only
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
            for interact in model.interacts:
                interact.changed()
        elif method == "request_state":
            with self.lock:
                state = dict(model.state)
            model.comm.send({"method": "update", "state": state, "buffer_paths": []})
        elif method == "custom":
            content = data.get("content")
            self._to_program(model, {"id": model_id, "method": "custom", "content": content})
        else:
            log.warning("widget %s: unknown comm message method %r ignored", model_id, method)

    # -- Interact: a change re-runs the cell's program, its output into an Output --

    def _interact(self, event: WidgetMessage) -> None:
        state = event.state
        controls, exe, args, index = (state.get(k) for k in ("controls", "exe", "args", "index"))
        with self.lock:
            output = self.models.get(event.model_id)
            known = isinstance(controls, list) and all(c in self.models for c in controls)
        if (
            output is None
            or not known
            or not isinstance(exe, str)
            or not isinstance(args, list)
            or not isinstance(index, int)
        ):
            log.warning("widget %s: a malformed interact frame was ignored", event.model_id)
            return
        interact = _Interact(self, event.model_id, controls, exe, [str(a) for a in args], index)
        with self.lock:
            for c in controls:
                self.models[c].interacts.append(interact)
        # Its first output, from the values the controls start with, now: the program
        # waits for this frame's ack, so the output is in place when the cell ends
        # (a notebook run by nbclient saves it with the widget state).
        interact.run_now()

    def values(self, ids: list[str]) -> list[Any]:
        """The controls' values now, as Interact's f takes them."""
        out = []
        with self.lock:
            for i in ids:
                state = self.models[i].state
                if state.get("_model_name") == "DropdownModel":
                    labels, index = state.get("_options_labels") or [], state.get("index")
                    ok = isinstance(index, int) and 0 <= index < len(labels)
                    out.append(labels[index] if ok else "")
                else:
                    out.append(state.get("value"))
        return out

    def set_outputs(self, model_id: str, outputs: list[dict[str, Any]]) -> None:
        with self.lock:
            model = self.models.get(model_id)
            if model is None:
                return
            model.state["outputs"] = outputs
        model.comm.send({"method": "update", "state": {"outputs": outputs}, "buffer_paths": []})

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


class _Interact:
    """One widgets.Interact: its controls' changes re-run the program, the latest only.

    A worker thread runs the re-runs one at a time: a change that comes while one
    runs waits, and several such changes make one re-run, with the values of the
    moment it starts (a dragged slider never queues runs)."""

    def __init__(
        self,
        owner: WidgetComms,
        output_id: str,
        controls: list[str],
        exe: str,
        args: list[str],
        index: int,
    ) -> None:
        self.owner, self.output_id, self.controls = owner, output_id, controls
        self.exe, self.args, self.index = exe, args, index
        self.wanted = threading.Event()
        self.one_at_a_time = threading.Lock()
        self.thread: threading.Thread | None = None
        self.last_seconds: float | None = None  # the latest re-run, change to output sent

    def changed(self) -> None:
        self.wanted.set()
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="gorun-interact", daemon=True)
            self.thread.start()

    def run_now(self) -> None:
        try:
            with self.one_at_a_time:
                self._rerun()
        except Exception:  # a failed re-run must not end the worker, or the cell
            log.exception("Interact re-run failed")

    def _loop(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            self.run_now()

    def _rerun(self) -> None:
        engine = self.owner.engine()
        if engine is None:
            return
        started = time.monotonic()
        values = self.owner.values(self.controls)
        capture = _Capture()
        env = {REPLAY_ENV: f"{self.index}:{json.dumps(values)}"}
        outcome = engine.rerun(self.exe, self.args, env, capture)
        if outcome.error is not None:
            capture.stderr(f"{outcome.error.message}\n")
        self.owner.set_outputs(self.output_id, capture.outputs)
        self.last_seconds = time.monotonic() - started


class _Capture:
    """A re-run's output as an Output widget's `outputs` (nbformat outputs), from the
    Interact's start on (what the code before it printed is dropped)."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, Any]] = []

    def stdout(self, text: str) -> None:
        self._stream("stdout", text)

    def stderr(self, text: str) -> None:
        self._stream("stderr", text)

    def _stream(self, name: str, text: str) -> None:
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def input_wanted(self, prompt: str) -> str | None:
        return None

    def event(self, event: Event) -> None:
        if (isinstance(event, WidgetMessage) and event.method == "begin") or isinstance(
            event, ClearOutput
        ):
            self.outputs = []
        elif isinstance(event, Display) and not event.update:
            out = {"output_type": "display_data", "data": event.data, "metadata": event.metadata}
            self.outputs.append(out)
