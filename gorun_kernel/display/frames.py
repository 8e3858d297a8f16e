"""Rich output from Go programs: the display channel's frames, decoded into events.

A program shows HTML, images and the like through the Go package `display`
(gorun_kernel/golib), which writes frames to a socket the program inherits,
named by GORUN_DISPLAY_FD. Its stdout stays the program's own, byte for byte.

    "GRD" | flags (1 byte, bit 0: sync) | length (uint32 big-endian) | JSON

The JSON is {"type": "display" | "update" | "clear", "id", "data": {mime:
value}, "metadata", "wait"}. After a sync frame (a display or a clear) the
program waits for one byte back; the run loop sends it once it has passed on
everything the program wrote to stdout/stderr before the frame, and the frame
itself: that is how displays keep their place among the program's text.

This module is pure bookkeeping: bytes in, typed events out. A program's data
is never trusted: a cut frame, bad JSON, a malformed MIME type, invalid base64
give a Note, never an exception. Limits: a frame over the cell's byte budget is
skipped unread (the stream stays in step); displays past the budget are dropped
with one note; a fast series of updates to one output is coalesced into its
latest state, a few times a second.
"""

from __future__ import annotations

import binascii
import json
import re
import struct
from base64 import b64decode
from dataclasses import dataclass
from typing import Any

from gorun_kernel import config
from gorun_kernel.events import ClearOutput, Display, WidgetMessage

FD_ENV = config.DISPLAY_FD.name
LIMIT_ENV = config.DISPLAY_LIMIT.name
DEFAULT_LIMIT = 32 << 20  # display bytes per cell
UPDATE_INTERVAL = 0.05  # seconds: at most this often is an output updated
MAGIC = b"GRD"
HEADER = struct.Struct(">3sBI")
FLAG_SYNC = 1
# How the Go package writes an update frame's start (encoding/json keeps the
# struct's field order): enough to know which output it updates.
_UPDATE_HEAD = re.compile(rb'\{"type":"update","id":"([A-Za-z0-9_.-]{1,200})",')
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", re.I)
# A surrogate in a frame: a \uD800-\uDFFF escape, or its bytes (json.loads lets
# both through). Only a frame holding one is searched for lone surrogates.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Note:
    """Something about the display data the user should know, as one line."""

    text: str


@dataclass(frozen=True)
class RawUpdate:
    """An update frame, read but not parsed: of a fast series of updates to one
    output, only the one that is shown is ever parsed (parse_frame)."""

    display_id: str
    body: bytes


# From the decoder; notes go to stderr.
DisplayEvent = Display | ClearOutput | WidgetMessage | Note | RawUpdate


@dataclass
class Frame:
    """One frame's events (a note or two, then what it showed) and whether it awaits an ack."""

    events: list[DisplayEvent]
    sync: bool


def display_limit() -> int:
    """GORUN_DISPLAY_LIMIT: display bytes per cell."""
    return config.whole_number(config.DISPLAY_LIMIT, DEFAULT_LIMIT, "bytes")


def is_text_type(mime: str) -> bool:
    """Carried as a string; other types are binary (base64) or JSON."""
    return mime.startswith("text/") or mime.endswith("+xml") or mime == "application/javascript"


def is_json_type(mime: str) -> bool:
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


class FrameDecoder:
    """Bytes of the display channel in, frames out; incremental, bounded, never raises."""

    def __init__(self, max_frame: int = DEFAULT_LIMIT) -> None:
        self.max_frame = max_frame
        self.buffer = bytearray()
        self.skipping = 0  # bytes left of an oversized frame being thrown away
        self.broken = False  # the stream is not frames: nothing more is read from it

    def feed(self, data: bytes | memoryview) -> list[Frame]:
        if self.broken:
            return []
        if self.skipping:
            skipped = min(self.skipping, len(data))
            self.skipping -= skipped
            data = data[skipped:]
        self.buffer += data
        frames: list[Frame] = []
        pos = self._frames(frames)
        del self.buffer[:pos]  # once per read: deleting per frame would copy the rest each time
        return frames

    def _frames(self, frames: list[Frame]) -> int:
        """Decode the whole frames in the buffer; returns how many bytes they took."""
        buf, pos = self.buffer, 0
        while len(buf) - pos >= HEADER.size:
            magic, flags, length = HEADER.unpack_from(buf, pos)
            sync = bool(flags & FLAG_SYNC)
            if magic != MAGIC:
                self.broken = True
                note = Note(
                    "the display channel carried data that is not display frames; "
                    "it was closed (displays from now on are text on stdout)"
                )
                frames.append(Frame([note], sync=False))
                return len(buf)
            if length > self.max_frame:
                skipped = min(length, len(buf) - pos - HEADER.size)
                self.skipping = length - skipped
                note = Note(
                    f"a display of {length:,} bytes was not shown: over the limit of "
                    f"{self.max_frame:,} bytes per cell ({LIMIT_ENV})"
                )
                frames.append(Frame([note], sync))
                return pos + HEADER.size + skipped
            end = pos + HEADER.size + length
            if len(buf) < end:
                break
            body = bytes(buf[pos + HEADER.size : end])
            pos = end
            update = _UPDATE_HEAD.match(body)
            if update is not None:  # parsed only if it is the latest when it is shown
                frames.append(Frame([RawUpdate(update.group(1).decode(), body)], sync))
            else:
                frames.append(Frame(parse_frame(body), sync))
        return pos

    def finish(self) -> list[Frame]:
        """The stream ended: a frame cut short is a note."""
        if self.broken or not (self.buffer or self.skipping):
            return []
        if self.skipping:
            return []  # its over-the-limit note was given already
        have = len(self.buffer)
        if have >= HEADER.size:
            _, _, length = HEADER.unpack_from(self.buffer)
            text = f"a display was cut short ({have - HEADER.size:,} of {length:,} bytes)"
        else:
            text = f"a display was cut short ({have} bytes of a frame header)"
        self.buffer.clear()
        return [Frame([Note(text + ": the program ended while writing it")], sync=False)]


def parse_frame(body: bytes) -> list[DisplayEvent]:
    """One frame's JSON as events: notes for what is wrong, then the event if any is left."""
    try:
        msg = json.loads(body)
    except (ValueError, RecursionError) as e:
        return [Note(f"a display frame is not valid JSON ({_short(e)})")]
    if not isinstance(msg, dict):
        return [Note("a display frame is not a JSON object")]
    surrogate_notes: list[DisplayEvent] = []
    if _MAYBE_SURROGATE.search(body):
        try:
            msg, replaced = _without_surrogates(msg)
        except RecursionError:
            return [Note("a display frame is nested too deeply")]
        if replaced:
            surrogate_notes.append(
                Note(
                    "a display frame's text held a lone surrogate (a \\uD800-\\uDFFF escape with "
                    "no pair), which is no character: shown as U+FFFD"
                )
            )
    return surrogate_notes + _events(msg)


def _without_surrogates(value: Any) -> tuple[Any, bool]:
    """value with every lone surrogate in its strings (keys too) replaced by U+FFFD:
    no front-end can encode one (jupyter_client's UTF-8 raises)."""
    if isinstance(value, str):
        fixed = _SURROGATE.sub("\ufffd", value)
        return fixed, fixed != value
    if isinstance(value, list):
        pairs = [_without_surrogates(v) for v in value]
        return [v for v, _ in pairs], any(r for _, r in pairs)
    if isinstance(value, dict):
        out, replaced = {}, False
        for k, v in value.items():
            (k2, rk), (v2, rv) = _without_surrogates(k), _without_surrogates(v)
            out[k2] = v2
            replaced = replaced or rk or rv
        return out, replaced
    return value, False


def _events(msg: dict[str, Any]) -> list[DisplayEvent]:
    """The events of a frame's parsed JSON object."""
    kind = msg.get("type")
    if kind == "clear":
        return [ClearOutput(wait=msg.get("wait") is not False)]
    if kind == "widget":
        return _widget(msg)
    if kind not in ("display", "update"):
        return [Note(f"a display frame has an unknown type {_short(kind)}")]
    display_id = msg.get("id")
    if display_id is not None and not isinstance(display_id, str):
        return [Note("a display frame's id is not a string")]
    if kind == "update" and not display_id:
        return [Note("an update frame has no display id")]
    notes, data = check_bundle(msg.get("data"))
    metadata = msg.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    events: list[DisplayEvent] = [Note(n) for n in notes]
    if not data:
        if not notes:
            events.append(Note(f"a {kind} frame has no data"))
        return events
    events.append(Display(data, metadata, display_id, update=kind == "update"))
    return events


_WIDGET_METHODS = ("open", "update", "close", "interact", "begin")
# ipywidgets' own model modules: every Jupyter frontend with widget support has them.
STANDARD_WIDGET_MODULES = (
    "@jupyter-widgets/base",
    "@jupyter-widgets/controls",
    "@jupyter-widgets/output",
)
_MODEL_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}")


def _widget(msg: dict[str, Any]) -> list[DisplayEvent]:
    """A widget frame: {"type": "widget", "method", "id", "state"}."""
    method, model_id, state = msg.get("method"), msg.get("id"), msg.get("state")
    if method not in _WIDGET_METHODS:
        return [Note(f"a widget frame has an unknown method {_short(method)}")]
    if not isinstance(model_id, str) or not _MODEL_ID.fullmatch(model_id):
        return [Note(f"a widget frame has a malformed model id {_short(model_id)}")]
    if state is None and method in ("close", "begin"):
        state = {}
    if not isinstance(state, dict):
        return [Note(f"a widget frame's state is not a JSON object (model {model_id})")]
    if method == "open":
        for key in ("_model_name", "_model_module", "_model_module_version"):
            if not isinstance(state.get(key), str):
                return [Note(f"a widget frame opens a model without {key} (model {model_id})")]
        if state["_model_module"] not in STANDARD_WIDGET_MODULES:
            return [
                Note(
                    f"a widget of unknown type {_short(state['_model_name'])} from "
                    f"{_short(state['_model_module'])} was not shown (only the standard "
                    "@jupyter-widgets models are)"
                )
            ]
    return [WidgetMessage(method, model_id, state)]


def check_bundle(data: object) -> tuple[list[str], dict[str, Any]]:
    """The valid entries of a MIME bundle, and a note for each entry left out."""
    if not isinstance(data, dict):
        return ["a display frame's data is not a JSON object of MIME types"], {}
    notes: list[str] = []
    good: dict[str, Any] = {}
    for mime, value in data.items():
        if not _MIME.fullmatch(mime):
            notes.append(f"a display's MIME type {_short(mime)} is not of the form type/subtype")
        elif is_json_type(mime):
            good[mime] = value
        elif not isinstance(value, str):
            notes.append(f"a display's {mime} data is not a string")
        elif is_text_type(mime):
            good[mime] = value
        elif not _is_base64(value):
            notes.append(f"a display's {mime} data is not valid base64")
        else:
            good[mime] = value
    return notes, good


def _is_base64(text: str) -> bool:
    try:
        b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, Exception) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def bundle_size(data: dict[str, Any], metadata: dict[str, Any] | None = None) -> int:
    """Bytes a bundle (and its metadata: it goes to the front-end too) costs against
    the cell's display budget."""
    size = len(json.dumps(metadata)) if metadata else 0
    for value in data.values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    return size
