"""A snippet's final value, as the value helper wrote it: its text, and a richer form.

The helper (compose/emit.py's VALUE_HELPER_SOURCE, through golib/value) writes JSON:
{"data": {"text/plain": ..., other MIME types}, "image": {"width", "height",
"nrgba"}}. An image comes as pixels and is encoded as PNG here, so that a
program showing a value does not have to link Go's PNG encoder. What the
program wrote is checked like any display data (richout.check_bundle): a bad
entry is left out, the text always stays.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from gorun_kernel.display.frames import bundle_size, check_bundle

_TEXT_KEY = '"text/plain":'


@dataclass
class Value:
    text: str  # text/plain: Go's formatting
    data: dict[str, Any]  # the whole bundle, text/plain included
    notes: list[str] = field(default_factory=list)  # what was left out, and why


def truncated_text(raw: str) -> str:
    """The text of a value whose JSON was cut at the run's limit: as much of its
    text/plain string as arrived (or what arrived, when it is not the helper's JSON)."""
    key = raw.find(_TEXT_KEY)
    if key < 0:
        return raw
    rest = raw[key + len(_TEXT_KEY) :]
    with contextlib.suppress(ValueError):
        text, _ = json.JSONDecoder().raw_decode(rest)  # the string ended before the cut
        return text if isinstance(text, str) else raw
    for cut in range(len(rest), max(len(rest) - 12, 0), -1):  # not inside an escape
        with contextlib.suppress(ValueError):
            text = json.loads(rest[:cut] + '"')
            return text if isinstance(text, str) else raw
    return raw


def read_value(raw: str, limit: int) -> Value:
    """The value in a value file; a file that is not the helper's JSON is plain text."""
    try:
        msg = json.loads(raw)
        data = msg["data"]
        text = data["text/plain"]
        if not isinstance(text, str):
            raise TypeError(text)
    except (ValueError, KeyError, TypeError, RecursionError):
        return Value(raw, {"text/plain": raw})
    notes, data = check_bundle(data)
    image = msg.get("image")
    if isinstance(image, dict):
        png = _png(image)
        if png is None:
            notes.append("the value's image could not be read")
        else:
            data["image/png"] = base64.b64encode(png).decode()
    data["text/plain"] = text
    if bundle_size(data) > limit:
        notes.append(
            f"the value's rich form is over the limit of {limit:,} bytes of displays "
            "per cell (GORUN_DISPLAY_LIMIT): shown as text"
        )
        data = {"text/plain": text}
    return Value(text, data, notes)


def _png(image: dict[str, Any]) -> bytes | None:
    try:
        width, height = int(image["width"]), int(image["height"])
        pixels = base64.b64decode(image["nrgba"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    if width <= 0 or height <= 0 or len(pixels) != 4 * width * height:
        return None
    return png_rgba(width, height, pixels)


def png_rgba(width: int, height: int, pixels: bytes) -> bytes:
    """A PNG of 8-bit RGBA pixels (non-premultiplied), rows top to bottom."""
    stride = 4 * width
    rows = b"".join(
        b"\x00" + pixels[y * stride : (y + 1) * stride]  # filter type 0 for every row
        for y in range(height)
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )
