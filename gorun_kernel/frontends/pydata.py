"""The magic's data between Python and Go: `--in`, `--export`, and final values as data.

Before a run: each `--in NAME` becomes a declaration put above the cell's
text (compose/pyvalues.py: a literal for a small plain value, else a call
that reads the value's frame from the data channel), and every frame the
session's declarations still read goes out over the channel
(proc/datachannel.py; golib/pydata reads it). After the run: the frames Go
sent back become Python values: the `--export` names (all or none), and the
final value, which `_` gets as data while the notebook still shows Go's text.

Everything is checked before anything runs or is kept: a bad name, a value
with no Go peer, an --export name the cell does not declare is a UsageError
and the session is as it was.
"""

from __future__ import annotations

import datetime
import functools
import re
import sys
import weakref
import zlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gorun_kernel import config
from gorun_kernel.cmdline import Command
from gorun_kernel.compose import pyvalues, txtar
from gorun_kernel.compose.parse import parse_cell
from gorun_kernel.compose.pywire import END, CannotCross, frames
from gorun_kernel.engine import Engine
from gorun_kernel.errors import CellError, UsageError
from gorun_kernel.outcome import Outcome
from gorun_kernel.proc.datachannel import DataChannel

FD_ENV = config.PYDATA_FD.name  # golib/pydata's FDEnv
FINAL = ""  # the frame name of a cell's final value
_SHORT_DECL = re.compile(r"^\s*((?:\w+\s*,\s*)*\w+)\s*:=")
_VAR_STMT = re.compile(r"^\s*(?:var|const)\s+((?:\w+\s*,\s*)*\w+)\b")


@dataclass
class Prepared:
    """One run's data: the code to run (the cell under its --in declarations)."""

    code: str
    first_line: int
    channel: DataChannel
    exports: list[str]
    parts: list[bytes] = field(default_factory=list)  # what Go sent, as it came
    declared: list[pyvalues.Declared] = field(default_factory=list)
    received: dict[str, Any] = field(default_factory=dict)  # decoded, after the run

    @property
    def channels(self) -> dict[str, Any]:
        return {"pydata": self.channel}


class Bridge:
    """One session's data: the frames its declarations read, kept for later runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.kept: dict[str, tuple[str, bytes]] = {}  # name -> (declaration, its frame)
        self.shown_columns: set[tuple[str, tuple[tuple[str, str], ...]]] = set()

    # -- before the run ------------------------------------------------------------

    def prepare(self, cmd: Command, cell: str | None, ns: dict[str, Any]) -> Prepared:
        """The code and the channel for a run; UsageError (nothing done) for bad input."""
        asked = cmd.in_vars or cmd.export_vars
        if asked and cell is None:
            raise UsageError("--in and --export are for %%gorun cells, not a package run")
        if asked and cmd.background:
            raise UsageError(
                "--in and --export are for cells that run to their end, not --bg programs"
            )
        if asked and cmd.wasm:
            raise UsageError(
                "--in and --export are for programs run here, not --wasm pages in the browser"
            )
        declared = [self._declare(name, ns) for name in cmd.in_vars]
        if asked:
            self._check_cell(cell or "", cmd)
        outgoing: list[bytes | memoryview] = []
        for name, (text, frame) in list(self.kept.items()):
            if name in cmd.in_vars or not self._still_declared(name, text):
                del self.kept[name]  # replaced or forgotten: not sent again
            else:
                outgoing.append(frame)
        for d in declared:
            outgoing.extend(d.frame or [])
        outgoing.append(END)
        prefix = [d.text for d in declared]
        if any(d.frame for d in declared):
            prefix.insert(0, pyvalues.IMPORT)
        # The declarations go on one line above the cell's: the %%gorun line's (line 1),
        # where --in was written; the cell's lines keep their numbers.
        code, first_line = cell or "", 2
        if prefix:
            code, first_line = "; ".join(prefix) + "\n" + code, 1
        parts: list[bytes] = []
        channel = DataChannel.create(FD_ENV, parts.append, outgoing)
        prepared = Prepared(code, first_line, channel, list(cmd.export_vars), parts, declared)
        self._note_columns(declared)
        return prepared

    def session_channels(self) -> dict[str, Any]:
        """The channel for a run without --in (a test run): the kept frames only."""
        outgoing = [
            frame for name, (text, frame) in self.kept.items() if self._still_declared(name, text)
        ]
        return {"pydata": DataChannel.create(FD_ENV, lambda _: None, [*outgoing, END])}

    def _declare(self, name: str, ns: dict[str, Any]) -> pyvalues.Declared:
        try:
            pyvalues.check_name(name, "--in")
        except pyvalues.NoGoPeer as e:
            raise UsageError(str(e)) from None
        if name not in ns:
            raise UsageError(f"--in {name}: there is no Python variable named {name}")
        try:
            return pyvalues.declare(name, ns[name])
        except pyvalues.NoGoPeer as e:
            raise UsageError(f"--in {name}: {e}") from None

    def _still_declared(self, name: str, text: str) -> bool:
        decl = self.engine.session.decls.get(f"var {name}")
        return decl is not None and text.endswith(decl.text)

    def _check_cell(self, cell: str, cmd: Command) -> None:
        """The cell is a snippet that can take the --in names and declares the --export ones."""
        if txtar.is_txtar(cell):
            raise UsageError("--in and --export are for snippet cells, not a multi-file cell")
        parsed = parse_cell(cell.replace("\r\n", "\n"))
        if parsed.package is not None:
            raise UsageError(
                "--in and --export are for snippet cells; this cell is a whole program "
                "(package main): drop its package clause and func main"
            )
        own: set[str] = set()  # what the cell declares: at package level, or in main
        has_main = False
        for item in parsed.items:
            if item.kind == "func" and item.names == ["main"]:
                has_main = True
            if item.kind in ("var", "const"):
                own.update(item.names)
            elif item.kind == "stmt":
                first = item.text.split("\n", 1)[0]
                m = _SHORT_DECL.match(first) or _VAR_STMT.match(first)
                if m:
                    own.update(n.strip() for n in m.group(1).split(","))
            elif item.kind in ("func", "type") and item.names:
                for name in set(item.names) & set(cmd.in_vars):
                    raise UsageError(f"--in {name}: the cell declares {name} too")
        for name in cmd.in_vars:
            if name in own:
                raise UsageError(f"--in {name}: the cell declares {name} too")
        if cmd.export_vars and has_main:
            raise UsageError(
                "--export sends values at the end of the cell's statements; this cell has "
                "its own func main: put its statements in the cell instead"
            )
        session = {
            n
            for d in self.engine.session.decls.values()
            if d.kind in ("var", "const")
            for n in d.names
        }
        for name in cmd.export_vars:
            try:
                pyvalues.check_name(name, "--export")
            except pyvalues.NoGoPeer as e:
                raise UsageError(str(e)) from None
            if name not in own and name not in session and name not in cmd.in_vars:
                raise UsageError(
                    f"--export {name}: the cell does not declare {name} (declare it: "
                    f"`var {name} ...` or `{name} := ...`)"
                )

    def _note_columns(self, declared: list[pyvalues.Declared]) -> None:
        """A DataFrame's column -> Go field mapping, shown once a session."""
        for d in declared:
            if not d.columns:
                continue
            key = (d.name, tuple(d.columns.items()))
            if key in self.shown_columns:
                continue
            self.shown_columns.add(key)
            pairs = ", ".join(f"{c!r} → {f}" for c, f in d.columns.items())
            sys.stderr.write(f"[gorun: {d.name} is a {d.go_type}; its columns in Go: {pairs}]\n")

    # -- after the run ---------------------------------------------------------------

    def finish(self, prepared: Prepared, outcome: Outcome) -> tuple[bool, Any, str | None]:
        """Assign nothing yet: (has a final value, the value, why not) and the exports,
        checked whole. Keeps the frames of the --in values the session now declares."""
        if outcome.job_output is None:  # a --bg program reads its values as it starts
            prepared.channel.join()
        received = prepared.received = _decoded(prepared.parts)
        for d in prepared.declared:
            if d.frame is not None:
                self.kept[d.name] = (d.text, b"".join(d.frame))  # a copy: later runs send it
        final = received.get(FINAL)
        has_final = FINAL in received
        if isinstance(final, CannotCross):
            return False, None, str(final)
        return has_final, final, None

    def exports(self, prepared: Prepared, outcome: Outcome) -> dict[str, Any]:
        """The --export values, all of them, or a CellError saying which cannot cross."""
        if not prepared.exports or outcome.error is not None:
            return {}
        received = prepared.received
        out: dict[str, Any] = {}
        for name in prepared.exports:
            if name not in received:
                raise CellError(
                    f"--export {name}: the program ended before the end of the cell's "
                    "statements (os.Exit, a return?): nothing was exported"
                )
            value = received[name]
            if isinstance(value, CannotCross):
                raise CellError(f"--export {name}: {value}; nothing was exported")
            out[name] = value
        return out


def _decoded(parts: list[bytes]) -> dict[str, Any]:
    """The frames Go sent, by name: one writable buffer (NumPy arrays use it in place)."""
    buf = bytearray(sum(map(len, parts)))
    view, at = memoryview(buf), 0
    for p in parts:
        view[at : at + len(p)] = p
        at += len(p)
    parts.clear()
    return dict(frames(buf))


_bridges: weakref.WeakKeyDictionary[Engine, Bridge] = weakref.WeakKeyDictionary()


def bridge_for(engine: Engine) -> Bridge:
    bridge = _bridges.get(engine)
    if bridge is None:
        bridge = _bridges[engine] = Bridge(engine)
    return bridge


# -- the final value: data in `_`, Go's text on screen --------------------------------


class _GoText:
    """A Python value whose repr and display are Go's text (and Go's richer forms):
    `_` is data (`_ + [4]`, `sum(_)`), and Out[n] reads as it always did. What is made
    from it (`_ * 2`, `_[1:]`) is a plain Python value."""

    _go_text: str = ""
    _go_data: dict[str, Any] | None = None
    _go_print: Any = None  # what it held then (fingerprint): changed since, Go's text is stale

    def __repr__(self) -> str:
        if fingerprint(self) != self._go_print:
            return super().__repr__()  # changed in Python (xs.append(4)): Python's repr
        return self._go_text

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        if fingerprint(self) != self._go_print:
            return {"text/plain": repr(self)}
        return dict(self._go_data or {"text/plain": self._go_text})


def fingerprint(value: Any) -> Any:
    """Enough of a value to tell that Python code changed it since it came from Go:
    its elements by identity (a list, a dict), its bytes' CRC (an array), the hashes of
    a DataFrame's rows; None for what cannot change (an int, a str) or be told."""
    if isinstance(value, list):
        return ("list", tuple(map(id, value)))
    if isinstance(value, dict):
        return ("dict", tuple((k, id(v)) for k, v in value.items()))
    if type(value).__name__ == "GoArray":
        import numpy as np

        raw = np.ascontiguousarray(value).view(np.uint8)
        return ("array", value.shape, str(value.dtype), zlib.crc32(memoryview(raw)))
    if type(value).__name__ == "GoFrame":
        import pandas as pd

        try:
            rows = pd.util.hash_pandas_object(value, index=True).to_numpy()
        except TypeError:  # unhashable cells (lists): not told
            return None
        return ("frame", tuple(value.columns), zlib.crc32(rows.tobytes()))
    return None


class GoInt(_GoText, int):
    pass


class GoFloat(_GoText, float):
    pass


class GoComplex(_GoText, complex):
    pass


class GoStr(_GoText, str):
    pass


class GoBytes(_GoText, bytes):
    pass


class GoList(_GoText, list):
    pass


class GoTuple(_GoText, tuple):
    pass


class GoDict(_GoText, dict):
    pass


_WITH_GO_TEXT: dict[type, type] = {
    int: GoInt, float: GoFloat, complex: GoComplex, str: GoStr, bytes: GoBytes,
    list: GoList, tuple: GoTuple, dict: GoDict,
}  # fmt: skip


class GoDatetime(_GoText, datetime.datetime):
    pass


class GoTimedelta(_GoText, datetime.timedelta):
    pass


def final_value(shell: Any, value: Any, text: str, bundle: dict[str, Any]) -> Any:
    """A final value as Python data whose repr and display are Go's: subclasses of the
    built-in types, of NumPy's array and of pandas' DataFrame carrying Go's text (what
    is computed from them is plain again). A bool cannot be subclassed: it is itself,
    shown with Go's text in this cell's Out, its repr Python's."""
    kind = _WITH_GO_TEXT.get(type(value))
    if kind is not None:
        made = kind(value)
    elif type(value) is datetime.datetime:
        made = GoDatetime(*value.timetuple()[:6], value.microsecond, value.tzinfo)
    elif type(value) is datetime.timedelta:
        made = GoTimedelta(value.days, value.seconds, value.microseconds)
    elif type(value).__name__ == "ndarray":
        made = value.view(_array_class())
    elif type(value).__name__ == "DataFrame":
        made = _frame_class()(value)
    else:
        return shown_as_go(shell, value, bundle)
    made._go_text, made._go_data = text, bundle
    made._go_print = fingerprint(made)
    return made


@functools.cache
def _array_class() -> type:
    import numpy as np

    class GoArray(np.ndarray):
        """A NumPy array from Go: Go's text for its repr; arrays made from it are plain."""

        _go_text: str | None = None
        _go_data: dict[str, Any] | None = None
        _go_print: Any = None

        def __reduce__(self) -> Any:
            return np.asarray(self).__reduce__()  # pickled as a plain array

        def _go(self) -> bool:
            """Go's text still says what it holds."""
            return self._go_text is not None and fingerprint(self) == self._go_print

        def __array_finalize__(self, obj: Any) -> None:
            self._go_text = self._go_data = self._go_print = None  # the final value's only

        def __array_wrap__(self, out: Any, context: Any = None, return_scalar: bool = False) -> Any:
            out = np.asarray(out)  # what is computed from it is a plain array
            return out[()] if return_scalar else out

        def __repr__(self) -> str:
            return str(self._go_text) if self._go() else repr(np.asarray(self))

        def _repr_pretty_(self, p: Any, cycle: bool) -> None:
            p.text(repr(self))

        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
            return dict(self._go_data or {}) if self._go() else {"text/plain": repr(self)}

    GoArray.__module__ = __name__
    return GoArray


@functools.cache
def _frame_class() -> type:
    import pandas as pd

    class GoFrame(pd.DataFrame):
        """A DataFrame from Go (a slice of structs): Go's text and table for its display;
        frames made from it are plain DataFrames."""

        _metadata: ClassVar[list[str]] = ["_go_text", "_go_data", "_go_print"]
        _go_text: str | None = None
        _go_data: dict[str, Any] | None = None
        _go_print: Any = None

        def _go(self) -> bool:
            """Go's text still says what it holds."""
            return self._go_text is not None and fingerprint(self) == self._go_print

        @property
        def _constructor(self) -> type:
            return pd.DataFrame

        def __reduce__(self) -> Any:
            return pd.DataFrame(self).__reduce__()  # pickled as a plain DataFrame

        def __repr__(self) -> str:
            return str(self._go_text) if self._go() else super().__repr__()

        def _repr_pretty_(self, p: Any, cycle: bool) -> None:
            p.text(repr(self))

        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
            if self._go():
                return dict(self._go_data or {})
            return None  # changed in Python: pandas' own table

    GoFrame.__module__ = __name__
    return GoFrame


_pending: dict[int, tuple[Any, dict[str, Any]]] = {}  # display formatter id -> (value, bundle)


def shown_as_go(shell: Any, value: Any, bundle: dict[str, Any]) -> Any:
    """value, which IPython's displayhook will show with Go's bundle (the notebook shows
    what it showed before values became data), while `_` and Out[n] get value itself."""
    fmt = getattr(shell, "display_formatter", None)
    if fmt is None:
        return value
    if not getattr(fmt, "_gorun_go_text", False):
        original = fmt.format

        def format(obj: Any, include: Any = None, exclude: Any = None) -> Any:
            pending = _pending.get(id(fmt))
            if pending is not None and obj is pending[0]:
                del _pending[id(fmt)]
                return dict(pending[1]), {}
            return original(obj, include=include, exclude=exclude)

        fmt.format = format
        fmt._gorun_go_text = True
        shell.events.register("post_run_cell", lambda *_: _pending.pop(id(fmt), None))
    _pending[id(fmt)] = (value, bundle)
    return value
