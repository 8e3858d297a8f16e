"""Widget frames from a Go program (pure: no processes): the notes for bad ones, and
a flood of updates coalesced per widget like display updates."""

from __future__ import annotations

import json

from gorun_kernel.display.channel import DisplayGate
from gorun_kernel.display.frames import Note, parse_frame
from gorun_kernel.events import WidgetMessage

SLIDER = {
    "_model_name": "IntSliderModel",
    "_model_module": "@jupyter-widgets/controls",
    "_model_module_version": "2.0.0",
    "value": 3,
}


def frame(**msg: object) -> bytes:
    return json.dumps({"type": "widget", **msg}).encode()


def test_a_standard_model_opens() -> None:
    [event] = parse_frame(frame(method="open", id="gorun1", state=SLIDER))
    assert event == WidgetMessage("open", "gorun1", SLIDER)


def test_an_unknown_widget_type_is_a_clear_note() -> None:
    state = {**SLIDER, "_model_name": "MapModel", "_model_module": "jupyter-leaflet"}
    [note] = parse_frame(frame(method="open", id="gorun1", state=state))
    assert isinstance(note, Note)
    assert "unknown type 'MapModel' from 'jupyter-leaflet' was not shown" in note.text


def test_malformed_widget_frames_are_notes() -> None:
    cases = {
        frame(method="explode", id="gorun1", state={}): "unknown method 'explode'",
        frame(method="update", id="../x y", state={}): "malformed model id",
        frame(method="update", id="gorun1", state=[1]): "state is not a JSON object",
        frame(method="open", id="gorun1", state={"value": 1}): "without _model_name",
    }
    for body, words in cases.items():
        [note] = parse_frame(body)
        assert isinstance(note, Note) and words in note.text, (body, note)


def test_a_flood_of_updates_to_one_widget_is_coalesced_with_its_keys_merged() -> None:
    gate = DisplayGate(limit=1 << 20, interval=0.05)
    sent: list[object] = []
    for i in range(1000):
        sent += gate.push(WidgetMessage("update", "gorun1", {"value": i}), now=0.0 + i * 1e-5)
    sent += gate.push(WidgetMessage("update", "gorun1", {"description": "d"}), now=0.02)
    sent += gate.flush()
    assert len(sent) == 2  # the first at once, then the latest state, once
    assert sent[-1] == WidgetMessage("update", "gorun1", {"value": 999, "description": "d"})
    # An open passes straight through, in order.
    assert gate.push(WidgetMessage("open", "gorun2", SLIDER), now=1.0) == [
        WidgetMessage("open", "gorun2", SLIDER)
    ]
