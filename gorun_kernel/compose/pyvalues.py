"""Python values as Go: the Go type each gets, and its declaration (`%%gorun --in`).

The type rules (docs/data.md): int -> int, float -> float64, bool, str ->
string, bytes -> []byte, None -> a nil `any`, datetime -> time.Time,
timedelta -> time.Duration; a list or tuple whose elements agree on a type
gets that type (ints among floats agree on float64; an empty one fits any
slice or map type), otherwise []any; dicts are maps, by the same rule for
keys and values; NumPy arrays of numbers and bools (1-D and 2-D) are slices of
their dtype's Go type; a pandas DataFrame is a slice of structs, a field per
column. These are the papermill translator's rules (goliteral.py) for the
values both take.

A small plain value (None, bool, int, float, str, and lists and dicts of
them) is declared as a Go literal (`var n = 5`); anything else is declared as
a call that reads it from the data channel (`var xs =
gorunǂpydata.In[[]float64]("xs")`), and its frame goes over the channel:
never its text in main.go.
"""

from __future__ import annotations

import datetime
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from gorun_kernel.compose import goliteral
from gorun_kernel.compose.pywire import (
    TAG_ARRAY,
    TAG_BOOL,
    TAG_BYTES,
    TAG_COMPLEX,
    TAG_DURATION,
    TAG_FLOAT,
    TAG_INT,
    TAG_LIST,
    TAG_MAP,
    TAG_NIL,
    TAG_STRING,
    TAG_TABLE,
    TAG_TIME,
    TAG_TYPED,
    TAG_UINT,
    Writer,
)
from gorun_kernel.paths import DISPLAY_MODULE

PYDATA = "gorunǂpydata"  # the import name generated declarations use (nobody types ǂ)
IMPORT = f'import {PYDATA} "{DISPLAY_MODULE}/pydata"'
LITERAL_MOST = 400  # characters: a plain value's literal up to this size is written in main.go
MAX_DEPTH = goliteral.MAX_DEPTH
# Predeclared names a package-level variable would hide from the whole session.
GO_PREDECLARED = frozenset(
    "any bool byte comparable complex64 complex128 error float32 float64 int int8 int16 int32 "
    "int64 rune string uint uint8 uint16 uint32 uint64 uintptr true false iota nil append cap "
    "clear close complex copy delete imag len make max min new panic print println real "
    "recover".split()
)
_INT64 = range(-(2**63), 2**63)
_UINT64 = range(2**63, 2**64)
_NUMERIC = {
    "bool": ("b", 1), "int": ("i", 8), "int8": ("i", 1), "int16": ("i", 2), "int32": ("i", 4),
    "int64": ("i", 8), "uint8": ("u", 1), "uint16": ("u", 2), "uint32": ("u", 4),
    "uint64": ("u", 8), "float32": ("f", 4), "float64": ("f", 8), "complex64": ("c", 8),
    "complex128": ("c", 16),
}  # fmt: skip
_DTYPE_GO = {
    "b1": "bool", "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64", "u1": "uint8",
    "u2": "uint16", "u4": "uint32", "u8": "uint64", "f4": "float32", "f8": "float64",
    "c8": "complex64", "c16": "complex128",
}  # fmt: skip


class NoGoPeer(ValueError):
    """A Python value with no Go type here; the message says which and why."""


@dataclass
class Declared:
    """What `--in NAME` adds to the cell: Go text, and the frame to send (None for a literal)."""

    name: str
    go_type: str
    text: str  # `var n = 5`, or a type and the channel call: one line
    frame: list[bytes | memoryview] | None = None
    columns: dict[str, str] = field(default_factory=dict)  # a DataFrame: column -> Go field


def check_name(name: str, option: str) -> None:
    """A name Go can take for a package-level variable (and the magic gives one)."""
    try:
        goliteral.check_name(name)
    except goliteral.GoLiteralError as e:
        raise NoGoPeer(f"{option} {name}: {e}") from None
    if name == "_":
        raise NoGoPeer(f"{option} _: the blank name holds nothing in Go")
    if name in GO_PREDECLARED:
        raise NoGoPeer(
            f"{option} {name}: a Go variable {name} would hide Go's own {name} in every "
            "later cell; give the value another name"
        )


def declare(name: str, value: Any) -> Declared:
    """The declaration of `name` for `value`; NoGoPeer when it has no Go type."""
    if _is_dataframe(value):
        return _declare_frame(name, value)
    t = infer(value)
    if _is_plain(value, 0):
        lit = goliteral.literal(value)
        if lit.type == t and len(lit.text) <= LITERAL_MOST:
            text = f"var {name} any = nil" if lit.text == "nil" else f"var {name} = {lit.text}"
            return Declared(name, t, text)
    w = Writer(name)
    encode(w, value, t, 0)
    return Declared(name, t, f'var {name} = {PYDATA}.In[{t}]("{name}")', w.finish())


def _is_plain(v: Any, depth: int) -> bool:
    """JSON-like: what goliteral writes, with the same types as infer gives."""
    if depth > MAX_DEPTH:
        return False
    if v is None or type(v) in (bool, int, float, str):
        return True
    if type(v) in (list, tuple):
        return all(_is_plain(e, depth + 1) for e in v)
    if type(v) is dict:
        return all(_is_plain(k, depth + 1) and _is_plain(e, depth + 1) for k, e in v.items())
    return False


# -- types --------------------------------------------------------------------


def _slice_or_map(t: str) -> str:
    return "slice" if t.startswith("[]") else "map" if t.startswith("map[") else ""


def _unify(types: list[tuple[str, bool]]) -> str:
    """goliteral's rule: the one type all elements have (int with float64 is float64;
    an empty list or map fits any slice or map type), else any."""
    kinds = {t for t, empty in types if not empty}
    empties = {_slice_or_map(t) for t, empty in types if empty}
    if not kinds:
        return types[0][0] if len(empties) == 1 else "any"
    if kinds == {"int", "float64"}:
        kinds = {"float64"}
    if len(kinds) == 1 and all(_slice_or_map(t) == e for t in kinds for e in empties):
        return kinds.pop()
    return "any"


def infer(value: Any) -> str:
    """The Go type a value gets."""
    return _infer(value, 0)[0]


def _infer(v: Any, depth: int) -> tuple[str, bool]:
    """(Go type, empty) of a value; empty: [] or {} (fits any slice or map type)."""
    if depth > MAX_DEPTH:
        raise NoGoPeer(f"lists and dicts nested deeper than {MAX_DEPTH} levels are refused")
    if v is None:
        return "any", False
    if isinstance(v, bool):
        return "bool", False
    if isinstance(v, int):
        if v in _INT64:
            return "int", False
        if v in _UINT64:
            return "uint64", False
        raise NoGoPeer(f"{v} does not fit in a Go integer (int64 or uint64)")
    if isinstance(v, float):
        return "float64", False
    if isinstance(v, complex):
        return "complex128", False
    if isinstance(v, str):
        return "string", False
    if isinstance(v, bytes | bytearray | memoryview):
        return "[]byte", False
    if isinstance(v, datetime.datetime | datetime.date):
        _check_time(v)
        return "time.Time", False
    if isinstance(v, datetime.timedelta):
        _duration_ns(v)
        return "time.Duration", False
    if isinstance(v, list | tuple):
        if not v:
            return "[]any", True
        return "[]" + _unify([_infer(e, depth + 1) for e in v]), False
    if isinstance(v, dict):
        if not v:
            return "map[string]any", True
        kt = _unify([_infer(k, depth + 1) for k in v])
        if _slice_or_map(kt):
            raise NoGoPeer("a Go map key cannot be a list or a map")
        vt = _unify([_infer(e, depth + 1) for e in v.values()])
        return f"map[{kt}]{vt}", False
    np = _numpy(v)
    if np is not None:
        if isinstance(v, np.generic):
            if v.dtype.kind in "Mm":
                raise NoGoPeer(
                    f"a NumPy {v.dtype} scalar has no Go peer here; give a datetime or a "
                    "timedelta (or an array of them)"
                )
            return _dtype_go(v.dtype), False
        if isinstance(v, np.ndarray):
            return _array_type(v), False
    if _is_series(v):
        values = _series_values(v)
        if values.dtype == object:
            return "[]" + _object_type(values), False
        return _array_type(values), False
    if _is_dataframe(v):
        raise NoGoPeer(
            "a DataFrame inside a list or a dict has no Go peer; give it a name of its own"
        )
    raise NoGoPeer(
        f"a Python {type(v).__name__} has no Go peer (give None, a bool, an int, a float, a "
        "complex, a str, bytes, a datetime, a list, a tuple, a dict, a NumPy array or a "
        "pandas DataFrame)"
    )


def _check_time(v: datetime.date) -> None:
    if str(v) == "NaT":
        raise NoGoPeer("NaT (a missing time) has no Go peer")


def _duration_ns(v: datetime.timedelta) -> int:
    ns = (v.days * 86400 + v.seconds) * 10**9 + v.microseconds * 1000
    ns += int(getattr(v, "nanoseconds", 0))  # a pandas Timedelta's
    if ns not in _INT64:
        raise NoGoPeer(f"{v} does not fit in a Go time.Duration (about ±292 years)")
    return ns


def _numpy(v: Any) -> Any:
    mod = type(v).__module__
    if not mod.startswith("numpy"):
        return None
    import numpy

    return numpy


def _dtype_go(dtype: Any) -> str:
    key = f"{dtype.kind}{dtype.itemsize}" if dtype.kind != "b" else "b1"
    if dtype.kind in "biufc" and key in _DTYPE_GO:
        return _DTYPE_GO[key]
    if dtype.kind == "M" and dtype.name.startswith("datetime64"):
        return "time.Time"
    if dtype.kind == "m":
        return "time.Duration"
    raise NoGoPeer(f"NumPy's dtype {dtype} has no Go peer (numbers, bools and times do)")


def _array_type(a: Any) -> str:
    if a.ndim not in (1, 2):
        raise NoGoPeer(f"a {a.ndim}-D NumPy array has no Go peer here (1-D and 2-D do)")
    return "[]" * a.ndim + _dtype_go(a.dtype)


def _is_series(v: Any) -> bool:
    return type(v).__module__.startswith("pandas") and type(v).__name__ == "Series"


def _is_dataframe(v: Any) -> bool:
    return type(v).__module__.startswith("pandas") and type(v).__name__ == "DataFrame"


def _series_values(s: Any) -> Any:
    """A Series' values as NumPy; refused when it has missing values or no Go peer."""
    import numpy as np

    dtype = s.dtype
    if s.isna().any() and dtype.kind not in "fc":
        raise NoGoPeer(f"{s.name!r} has missing values (NA, NaT): Go has no peer for them")
    if dtype.kind in "biufc" and isinstance(dtype, np.dtype):
        return s.to_numpy()
    if str(dtype).startswith("datetime64"):
        if getattr(dtype, "tz", None) is not None:
            return np.array(list(s), dtype=object)  # each with its offset (_time)
        return s.to_numpy().astype("datetime64[ns]")
    if str(dtype).startswith("timedelta64"):
        return s.to_numpy().astype("timedelta64[ns]")
    values = s.to_numpy(dtype=object)
    if all(isinstance(x, str) for x in values):
        return values
    if all(isinstance(x, bool) for x in values):
        return values.astype(bool)
    raise NoGoPeer(
        f"the column {s.name!r} ({dtype}) has no Go peer: numbers, bools, strings and times do"
    )


# -- encoding -------------------------------------------------------------------


def encode(w: Writer, v: Any, t: str, depth: int) -> None:
    """v's value as the Go type t (as infer gave it) in the wire format."""
    if t == "any":
        _encode_any(w, v, depth)
    elif v is None:
        w.tag(TAG_NIL)
    elif t in _NUMERIC:
        _scalar(w, v, t)
    elif t == "string":
        w.tag(TAG_STRING)
        w.string(str(v))
    elif t == "[]byte":
        w.tag(TAG_BYTES)
        w.u64(memoryview(v).nbytes)
        w.raw(v)
    elif t == "time.Time":
        _time(w, v)
    elif t == "time.Duration":
        w.tag(TAG_DURATION)
        w.i64(_duration_ns(v))
    elif t.startswith("[]"):
        _encode_slice(w, v, t[2:], depth)
    elif t.startswith("map["):
        kt, vt = _map_types(t)
        w.tag(TAG_MAP)
        w.u64(len(v))
        for k, e in v.items():
            encode(w, k, kt, depth + 1)
            encode(w, e, vt, depth + 1)
    else:
        raise NoGoPeer(f"no encoding for the Go type {t}")


def _encode_any(w: Writer, v: Any, depth: int) -> None:
    t = _infer(v, depth)[0]
    if v is None:
        w.tag(TAG_NIL)
    elif t in ("bool", "int", "uint64", "float64", "complex128", "string", "[]byte"):
        encode(w, v, t, depth)  # Go gives these their natural type under any
    else:
        w.tag(TAG_TYPED)
        w.name(t)
        encode(w, v, t, depth)


def _scalar(w: Writer, v: Any, t: str) -> None:
    kind = _NUMERIC[t][0]
    if kind == "b":
        w.tag(TAG_BOOL)
        w.u8(1 if v else 0)
    elif kind == "i" or (kind == "u" and int(v) < 2**63 and t != "uint64"):
        w.tag(TAG_INT)
        w.i64(int(v))
    elif kind == "u":
        w.tag(TAG_UINT)
        w.u64(int(v))
    elif kind == "f":
        w.tag(TAG_FLOAT)
        w.f64(float(v))
    else:
        c = complex(v)
        w.tag(TAG_COMPLEX)
        w.f64(c.real)
        w.f64(c.imag)


def _time(w: Writer, v: datetime.date) -> None:
    if not isinstance(v, datetime.datetime):
        v = datetime.datetime(v.year, v.month, v.day, tzinfo=datetime.timezone.utc)
    offset = v.utcoffset()
    off = int(offset.total_seconds()) if offset is not None else 0
    naive = v.replace(tzinfo=None) - (offset or datetime.timedelta(0))
    delta = naive - datetime.datetime(1970, 1, 1)
    seconds = delta.days * 86400 + delta.seconds
    nanos = delta.microseconds * 1000 + int(getattr(v, "nanosecond", 0))
    w.tag(TAG_TIME)
    w.i64(seconds)
    w.u32(nanos)
    w.raw(off.to_bytes(4, "little", signed=True))


def _map_types(t: str) -> tuple[str, str]:
    """map[K]V -> (K, V), K's brackets balanced."""
    depth, i = 0, 4
    while i < len(t):
        if t[i] == "[":
            depth += 1
        elif t[i] == "]":
            if depth == 0:
                return t[4:i], t[i + 1 :]
            depth -= 1
        i += 1
    raise NoGoPeer(f"cannot read the map type {t}")


def _encode_slice(w: Writer, v: Any, et: str, depth: int) -> None:
    np = _numpy(v)
    if _is_series(v):
        v = _series_values(v)
        np = _numpy(v)
    if np is not None and isinstance(v, np.ndarray) and v.dtype != object:
        _ndarray(w, v)
        return
    if et in _NUMERIC:
        _list_array(w, v, et)
        return
    w.tag(TAG_LIST)
    w.u64(len(v))
    for e in v:
        encode(w, e, et, depth + 1)


def _ndarray(w: Writer, a: Any) -> None:
    import numpy as np

    if a.dtype.kind == "M":
        a = a.astype("datetime64[ns]")
        if np.isnat(a).any():
            raise NoGoPeer("NaT (a missing time) has no Go peer")
        kind, size = "M", 8
        a = a.view("<i8")
    elif a.dtype.kind == "m":
        a = a.astype("timedelta64[ns]").view("<i8")
        kind, size = "i", 8
    elif a.dtype.kind == "b":
        kind, size = "b", 1
    else:
        kind, size = a.dtype.kind, a.dtype.itemsize
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    a = np.ascontiguousarray(a)
    w.tag(TAG_ARRAY)
    w.raw(kind.encode())
    w.u8(size)
    w.u8(a.ndim)
    for d in a.shape:
        w.u64(d)
    w.pad()
    w.raw(memoryview(a).cast("B"))


def _list_array(w: Writer, v: Any, et: str) -> None:
    """A list of numbers or bools as one array: Go reads it in place."""
    import array

    kind, size = _NUMERIC[et]
    if kind == "b":
        data: bytes | array.array[Any] = bytes(1 if x else 0 for x in v)
    else:
        code = {("i", 8): "q", ("f", 8): "d", ("u", 8): "Q", ("i", 4): "l"}.get((kind, size))
        if code is None or array.array(code).itemsize != size:
            w.tag(TAG_LIST)
            w.u64(len(v))
            for e in v:
                _scalar(w, e, et)
            return
        data = array.array(code, [float(x) if kind == "f" else int(x) for x in v])
        if data.itemsize > 1 and not _LITTLE:
            data.byteswap()
    w.tag(TAG_ARRAY)
    w.raw(kind.encode())
    w.u8(size)
    w.u8(1)
    w.u64(len(v))
    w.pad()
    w.raw(memoryview(data).cast("B"))


_LITTLE = sys.byteorder == "little"


# -- DataFrames ---------------------------------------------------------------


def go_field(column: Any) -> str:
    """An exported Go name for a column: words in CamelCase ("unit price" -> UnitPrice);
    X before a name that cannot start one ("2024" -> X2024)."""
    words = [w for w in re.split(r"[^\w]+|_", str(column)) if w]
    name = "".join(w[0].upper() + w[1:] for w in words)
    ok_start = name[:1] and unicodedata.category(name[0]) == "Lu"
    name = name if ok_start else "X" + name
    return "".join(c for c in name if c == "_" or c.isalnum())


def _declare_frame(name: str, df: Any) -> Declared:
    columns: dict[str, str] = {}
    seen: dict[str, str] = {}
    for col in df.columns:
        f = go_field(col)
        if f in seen:
            raise NoGoPeer(
                f"the columns {seen[f]!r} and {str(col)!r} would both be the Go field {f}; "
                "rename one"
            )
        seen[f] = str(col)
        columns[str(col)] = f
    row = name[0].upper() + name[1:] + "Row"
    if not unicodedata.category(row[0]).startswith("Lu"):
        row = "X" + row
    w = Writer(name)
    w.tag(TAG_TABLE)
    w.u64(len(df))
    w.u32(len(df.columns))
    fields = []
    for col, f in columns.items():
        series = df[col] if not isinstance(df[col], type(df)) else None
        if series is None:
            raise NoGoPeer(f"the column name {col!r} is there twice")
        values = _series_values(series)
        t = _array_type(values)[2:] if values.dtype != object else _object_type(values)
        tag = "" if f == col else f" `py:{goliteral.quote(col)}`"
        if "`" in col or not col.isprintable():
            tag = " " + goliteral.quote(f"py:{goliteral.quote(col)}")
        fields.append(f"{f} {t}{tag}")
        w.name(col)
        if values.dtype == object:
            w.tag(TAG_LIST)
            w.u64(len(values))
            for x in values:
                encode(w, x, t, 1)
        else:
            _ndarray(w, values)
    body = "; ".join(fields)
    text = f'type {row} struct {{ {body} }}; var {name} = {PYDATA}.In[[]{row}]("{name}")'
    return Declared(name, f"[]{row}", text, w.finish(), columns)


def _object_type(values: Any) -> str:
    if len(values) and isinstance(values[0], datetime.datetime):
        return "time.Time"
    return "string"
