"""Python data as Go: typed literals and `var` declarations.

For parameters given from outside a notebook (papermill's `-p` and `-y`): the
values are JSON/YAML data (None, bool, int, float, str, lists, dicts). Each
becomes a Go expression with the type Go will give it: `5` (int), `"Ada"`
(string), `[]int{1, 2}`, `map[string][]string{"a": {"x"}}`. A list or a dict
whose elements agree on a type gets that type (ints among floats agree on
float64); otherwise its elements are `any`.
"""

from __future__ import annotations

import datetime
import math
import unicodedata
from dataclasses import dataclass

GO_KEYWORDS = frozenset(
    "break case chan const continue default defer else fallthrough for func go goto if "
    "import interface map package range return select struct switch type var".split()
)
# Names Go's package main keeps for funcs: `var init = 1` is "cannot declare init - must be func".
FUNC_ONLY_NAMES = frozenset({"init", "main"})
# Deeper lists and dicts are refused rather than recursed into (Python's stack ends near 1000).
MAX_DEPTH = 100
_INT64 = range(-(2**63), 2**63)
_UINT64 = range(2**63, 2**64)
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class GoLiteralError(ValueError):
    """A value or a name that Go cannot take; the message says which and why."""


@dataclass(frozen=True)
class GoValue:
    type: str  # the Go type of the expression: "int", "[]string", "any" (nil)
    text: str  # the expression
    empty: bool = False  # `[]any{}` or `map[string]any{}`: fits any slice or map type


def quote(s: str) -> str:
    """A Go interpreted string literal for s (UTF-8 as it is, unprintables escaped)."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\uFFFD")  # a lone surrogate is no character: Go strings cannot hold it
        elif ch.isprintable() and ch != "\ufeff":  # gc refuses a BOM inside a file
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _kind(go_type: str) -> str:
    return "slice" if go_type.startswith("[]") else "map" if go_type.startswith("map[") else ""


def _unify(values: list[GoValue]) -> str:
    """The one type all elements have (int with float64 is float64; an empty list or
    map fits any slice or map type), else any."""
    kinds = {v.type for v in values if not v.empty}
    empties = {_kind(v.type) for v in values if v.empty}
    if not kinds:
        return values[0].type if len(empties) == 1 else "any"
    if kinds == {"int", "float64"}:
        kinds = {"float64"}
    if len(kinds) == 1 and all(_kind(t) == e for t in kinds for e in empties):
        return kinds.pop()
    return "any"


def _element(value: GoValue, elem_type: str) -> str:
    """An element of a composite literal of elem_type: Go lets `[]int{...}` be `{...}`."""
    if not _kind(elem_type):
        return value.text
    if value.empty:
        return "{}"
    if value.type == elem_type and value.text.startswith(elem_type + "{"):
        return value.text[len(elem_type) :]
    return value.text


def _float(value: float) -> str:
    if math.isnan(value):
        return "math.NaN()"
    if math.isinf(value):
        return "math.Inf(1)" if value > 0 else "math.Inf(-1)"
    if value == 0 and math.copysign(1, value) < 0:
        return "math.Copysign(0, -1)"  # the constant -0.0 is plain zero in Go
    return repr(value)  # always with "." or "e": a float constant, not an int


def literal(value: object) -> GoValue:
    """The Go expression for a JSON/YAML value, with its type.

    Anything else (complex, bytes, sets, objects) is refused naming its type, not
    turned into its text: a Go string holding Python's repr would run wrongly."""
    return _literal(value, 0)


def _literal(value: object, depth: int) -> GoValue:
    if depth > MAX_DEPTH:
        raise GoLiteralError(f"lists and dicts nested deeper than {MAX_DEPTH} levels are refused")
    if value is None:
        return GoValue("any", "nil")
    if isinstance(value, bool):
        return GoValue("bool", "true" if value else "false")
    if isinstance(value, int):
        if value in _INT64:
            return GoValue("int", str(value))
        if value in _UINT64:
            return GoValue("uint64", f"uint64({value})")
        raise GoLiteralError(f"{value} does not fit in a Go integer (int64 or uint64)")
    if isinstance(value, float):
        return GoValue("float64", _float(value))
    if isinstance(value, list | tuple):
        elems = [_literal(v, depth + 1) for v in value]
        if not elems:
            return GoValue("[]any", "[]any{}", empty=True)
        t = _unify(elems)
        return GoValue(f"[]{t}", f"[]{t}{{{', '.join(_element(e, t) for e in elems)}}}")
    if isinstance(value, dict):
        if not value:
            return GoValue("map[string]any", "map[string]any{}", empty=True)
        keys = [_literal(k, depth + 1) for k in value]
        vals = [_literal(v, depth + 1) for v in value.values()]
        kt, vt = _unify(keys), _unify(vals)
        if _kind(kt):
            raise GoLiteralError("a Go map key cannot be a list or a map")
        pairs = ", ".join(f"{k.text}: {_element(v, vt)}" for k, v in zip(keys, vals, strict=True))
        return GoValue(f"map[{kt}]{vt}", f"map[{kt}]{vt}{{{pairs}}}")
    if isinstance(value, str):
        return GoValue("string", quote(value))
    if isinstance(value, datetime.date | datetime.time):  # YAML's dates: their ISO text
        return GoValue("string", quote(str(value)))
    raise GoLiteralError(
        f"a Python {type(value).__name__} has no Go literal here "
        "(give None, a bool, an int, a float, a str, a list or a dict)"
    )


def check_name(name: str) -> None:
    """Refuse a name that cannot be a Go variable, saying why."""
    ok = bool(name) and (name[0] == "_" or unicodedata.category(name[0]).startswith("L"))
    ok = ok and all(
        c == "_" or unicodedata.category(c).startswith("L") or unicodedata.category(c) == "Nd"
        for c in name
    )
    if not ok:
        raise GoLiteralError(f"{name!r} is not a Go identifier (letters, digits and _)")
    if name in GO_KEYWORDS:
        raise GoLiteralError(f"{name!r} is a Go keyword: it cannot name a variable")
    if name in FUNC_ONLY_NAMES:
        raise GoLiteralError(
            f"{name!r} names a func in Go's package main: it cannot name a variable"
        )


def declaration(name: str, value: object) -> str:
    """`var name = literal` (nil gets its type: `var name any = nil`)."""
    check_name(name)
    v = literal(value)
    return f"var {name} any = nil" if v.text == "nil" else f"var {name} = {v.text}"
