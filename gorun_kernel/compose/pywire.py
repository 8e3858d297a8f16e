"""The wire protocol between Python and golib/pydata (docs/data.md, "The wire protocol").

A stream is a sequence of frames. A frame is its body's length (u64), then
the body: a name (u32 length, UTF-8), one tagged value, and zero padding so
that the whole frame is a multiple of 8 bytes. All numbers are little-endian.
Python -> Go ends with a frame of body length 0. Array items start at a
multiple of 8 bytes from their frame's start, so both sides use them in place.

This module is the bytes: a frame writer that references big buffers
instead of copying them, and a reader that turns Go's frames into Python
values (NumPy arrays and pandas DataFrames when those are installed).
"""

from __future__ import annotations

import datetime
import struct
from collections.abc import Iterator
from typing import Any

ALIGN = 8
END = bytes(8)  # a frame of body length 0: the end of what Python sends

TAG_NIL = b"n"
TAG_BOOL = b"?"
TAG_INT = b"i"
TAG_UINT = b"u"
TAG_FLOAT = b"f"
TAG_COMPLEX = b"c"
TAG_STRING = b"s"
TAG_BYTES = b"y"
TAG_TIME = b"t"
TAG_DURATION = b"d"
TAG_ARRAY = b"a"
TAG_LIST = b"l"
TAG_TUPLE = b"p"
TAG_MAP = b"m"
TAG_RECORD = b"r"
TAG_TABLE = b"T"
TAG_TYPED = b"V"
TAG_CANNOT = b"x"

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class CannotCross(ValueError):
    """A value Go said cannot cross (a func, a channel, an error), or one Python cannot hold."""


class Writer:
    """One frame, as chunks: small parts are gathered, big buffers referenced."""

    def __init__(self, name: str) -> None:
        self.chunks: list[bytes | memoryview] = []
        self.cur = bytearray(8)  # the body length, set by finish
        self.size = 8
        self.name(name)

    def raw(self, data: bytes | bytearray | memoryview) -> None:
        n = memoryview(data).nbytes
        if n >= 4096:
            self.chunks.append(bytes(self.cur))
            self.chunks.append(memoryview(data).cast("B"))
            self.cur = bytearray()
        else:
            self.cur += data
        self.size += n

    def tag(self, tag: bytes) -> None:
        self.raw(tag)

    def u8(self, v: int) -> None:
        self.raw(bytes((v,)))

    def u32(self, v: int) -> None:
        self.raw(struct.pack("<I", v))

    def u64(self, v: int) -> None:
        self.raw(struct.pack("<Q", v))

    def i64(self, v: int) -> None:
        self.raw(struct.pack("<q", v))

    def f64(self, v: float) -> None:
        self.raw(struct.pack("<d", v))

    def string(self, s: str) -> None:
        b = utf8(s)
        self.u64(len(b))
        self.raw(b)

    def name(self, s: str) -> None:
        b = utf8(s)
        self.u32(len(b))
        self.raw(b)

    def pad(self) -> None:
        if self.size % ALIGN:
            self.raw(bytes(ALIGN - self.size % ALIGN))

    def finish(self) -> list[bytes | memoryview]:
        self.pad()
        chunks = [*self.chunks, bytes(self.cur)]
        first = bytearray(chunks[0])
        first[:8] = struct.pack("<Q", self.size - 8)
        chunks[0] = bytes(first)
        return [c for c in chunks if memoryview(c).nbytes]


def utf8(s: str) -> bytes:
    """s as UTF-8; a lone surrogate (no character, and not in a Go string) becomes U+FFFD."""
    try:
        return s.encode()
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s).encode()


def frames(buf: bytearray) -> Iterator[tuple[str, Any]]:
    """(name, value) for each frame Go sent; a value that cannot cross is a CannotCross."""
    pos = 0
    while pos + 8 <= len(buf):
        (n,) = struct.unpack_from("<Q", buf, pos)
        end = pos + 8 + n
        if n == 0 or end > len(buf):
            return  # cut short (the program was stopped while writing)
        r = _Reader(buf, pos, end)
        r.pos = pos + 8
        name = r.name()
        try:
            value: Any = r.value()
        except CannotCross as e:
            value = e
        except (OverflowError, ValueError) as e:  # a date Python's datetime cannot hold
            value = CannotCross(str(e))
        yield name, value
        pos = end


class _Reader:
    def __init__(self, buf: bytearray, start: int, end: int) -> None:
        self.buf, self.start, self.end, self.pos = buf, start, end, start

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > self.end:
            raise CannotCross("the frame ends early")
        view = memoryview(self.buf)[self.pos : self.pos + n]
        self.pos += n
        return view

    def u8(self) -> int:
        self.pos += 1
        return self.buf[self.pos - 1]

    def unpack(self, fmt: str) -> Any:
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def name(self) -> str:
        return bytes(self.take(self.unpack("<I"))).decode("utf-8", "replace")

    def string(self) -> str:
        return bytes(self.take(self.unpack("<Q"))).decode("utf-8", "replace")

    def value(self) -> Any:
        tag = bytes((self.u8(),))
        if tag == TAG_NIL:
            return None
        if tag == TAG_BOOL:
            return self.u8() != 0
        if tag == TAG_INT:
            return self.unpack("<q")
        if tag == TAG_UINT:
            return self.unpack("<Q")
        if tag == TAG_FLOAT:
            return self.unpack("<d")
        if tag == TAG_COMPLEX:
            re = self.unpack("<d")
            return complex(re, self.unpack("<d"))
        if tag == TAG_STRING:
            return self.string()
        if tag == TAG_BYTES:
            return bytes(self.take(self.unpack("<Q")))
        if tag == TAG_TIME:
            sec, nsec, off = self.unpack("<q"), self.unpack("<I"), self.unpack("<i")
            tz = datetime.timezone(datetime.timedelta(seconds=off))
            when = _EPOCH + datetime.timedelta(seconds=sec, microseconds=nsec // 1000)
            return when.astimezone(datetime.timezone.utc if off == 0 else tz)
        if tag == TAG_DURATION:
            return datetime.timedelta(microseconds=self.unpack("<q") // 1000)
        if tag == TAG_ARRAY:
            return self.array()
        if tag in (TAG_LIST, TAG_TUPLE):
            items = [self.value() for _ in range(self.unpack("<Q"))]
            return tuple(items) if tag == TAG_TUPLE else items
        if tag == TAG_MAP:
            out = {}
            for _ in range(self.unpack("<Q")):
                key = self.value()
                out[key] = self.value()
            return out
        if tag == TAG_RECORD:
            return {self.name(): self.value() for _ in range(self.unpack("<I"))}
        if tag == TAG_TABLE:
            return self.table()
        if tag == TAG_CANNOT:
            raise CannotCross(self.string())
        raise CannotCross(f"an unknown tag {tag!r} in Go's data")

    def array(self) -> Any:
        kind, size, ndim = chr(self.u8()), self.u8(), self.u8()
        dims = [self.unpack("<Q") for _ in range(ndim)]
        if (self.pos - self.start) % ALIGN:
            self.pos += ALIGN - (self.pos - self.start) % ALIGN
        count = 1
        for d in dims:
            count *= d
        offset = self.pos
        self.take(count * size)
        code = f"<{kind}{size}" if kind != "b" else "?"
        try:
            import numpy as np
        except ImportError:
            return _array_as_lists(self.buf, offset, code, dims)
        arr = np.frombuffer(self.buf, dtype=np.dtype(code), count=count, offset=offset)
        return arr.reshape(dims)

    def table(self) -> Any:
        rows = self.unpack("<Q")
        columns = {self.name(): self.value() for _ in range(self.unpack("<I"))}
        try:
            import pandas as pd
        except ImportError:
            cols = {k: list(v) for k, v in columns.items()}
            return [{k: cols[k][i] for k in cols} for i in range(rows)]
        return pd.DataFrame(columns, index=range(rows))


def _array_as_lists(buf: bytearray, offset: int, code: str, dims: list[int]) -> list[Any]:
    """Without NumPy: an array as a list (a list of row lists for 2-D)."""
    fmt = {"?": "?", "<b1": "?"}.get(code) or {
        ("i", 1): "b", ("i", 2): "h", ("i", 4): "i", ("i", 8): "q",
        ("u", 1): "B", ("u", 2): "H", ("u", 4): "I", ("u", 8): "Q",
        ("f", 4): "f", ("f", 8): "d", ("c", 8): "ff", ("c", 16): "dd",
    }[(code[1], int(code[2:]))]  # fmt: skip
    count = 1
    for d in dims:
        count *= d
    flat = list(struct.unpack_from("<" + fmt * count, buf, offset))
    if len(fmt) == 2:  # complex: pairs
        flat = [complex(a, b) for a, b in zip(flat[::2], flat[1::2], strict=True)]
    if len(dims) == 2:
        cols = dims[1]
        return [flat[i * cols : (i + 1) * cols] for i in range(dims[0])]
    return flat
