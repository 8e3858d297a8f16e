"""Help while typing: is_complete, completion, inspection and `name?` for Go cells.

Everything here works from what the session already knows (its declarations,
the standard-library index read from GOROOT); only inspection of a library
symbol runs a go command (`go doc`, through the engine), and only when asked.
`strings.ToUpper?` (or `?strings.ToUpper`) as a whole cell shows its
documentation and `strings.ToUpper??` its source, as IPython users type it.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from gorun_kernel.help import brackets

if TYPE_CHECKING:
    from gorun_kernel.engine import Engine

KEYWORDS = (
    "break case chan const continue default defer else fallthrough for func go goto if "
    "import interface map package range return select struct switch type var"
).split()
BUILTINS = (
    "append cap clear close complex copy delete imag len make max min new panic print "
    "println real recover any bool byte comparable complex64 complex128 error float32 "
    "float64 int int8 int16 int32 int64 rune string uint uint8 uint16 uint32 uint64 "
    "uintptr true false iota nil"
).split()

# Spaces, not a tab: jupyter console (prompt_toolkit) shows a pre-filled tab as a
# literal `^I`. Go's compiler does not mind; gofmt would turn them into tabs.
INDENT = "    "

# A line ending in one of these continues on the next (but x++ and x-- end statements).
_TRAILING_OPERATOR = re.compile(r"(?:[-+*/%&|^<>=!,.:]|&&|\|\||<-|&\^)$")


def is_complete(code: str) -> dict[str, str]:
    """complete / incomplete / invalid, as jupyter console needs to continue lines."""
    found = brackets.scan(code)
    if found.problem in ("comment", "raw string"):
        return {"status": "incomplete", "indent": ""}  # the next lines may end it
    if found.problem is not None:
        return {"status": "invalid"}  # strings and runes end on their own line
    stack, stripped = found.stack, found.stripped
    if stack:
        return {"status": "incomplete", "indent": INDENT * len(stack)}
    lines = [ln.strip() for ln in stripped.split("\n")]
    lines = [ln for ln in lines if ln and not ln.startswith(("%", "!"))]
    last = lines[-1] if lines else ""
    if _TRAILING_OPERATOR.search(last) and not last.endswith(("++", "--")):
        return {"status": "incomplete", "indent": INDENT}
    return {"status": "complete"}


def clamp(code: str, cursor: int | None) -> int:
    """A cursor inside the code. Positions count Unicode code points (Python's str
    indices), as the protocol says; a frontend counting UTF-16 units can point past
    the end of a line with emoji, and must still get a reply."""
    if cursor is None:
        return len(code)
    return max(0, min(int(cursor), len(code)))


def _token_at(code: str, cursor: int) -> tuple[int, int]:
    """The span of the dotted identifier around the cursor (`fmt.Println`)."""
    start = cursor
    while start > 0 and (code[start - 1].isalnum() or code[start - 1] in "_."):
        start -= 1
    end = cursor
    while end < len(code) and (code[end].isalnum() or code[end] == "_"):
        end += 1
    return start, end


def _open_call(code: str, cursor: int) -> int:
    """Where the name of the call whose parenthesis is open at the cursor ends (the
    cursor itself when there is none): a look back over its arguments, not a parse."""
    depth = 0
    for i in range(cursor - 1, max(cursor - 2000, 0) - 1, -1):
        c = code[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                return i if c == "(" else cursor  # a block or literal: no call open
            depth -= 1
        elif c == ";" and depth == 0:
            break  # the statement began before any open call
    return cursor


def _package_path(engine: Engine, name: str, selectors: set[str]) -> str | None:
    """The import path a package name stands for here: an import made, or the std index."""
    for imp in engine.session.imports.values():
        if imp.name == name:
            return imp.path
    return engine.stdlib().resolve(name, selectors)


_IMPORT_PATH = re.compile(r'import\s*(?:\(\s*(?:[^)]*\n\s*)?)?(?:\w+\s+)?"([^"\n]*)$')


def import_path_prefix(before: str) -> str | None:
    """The part of an import path typed before the cursor; None outside an import path."""
    m = _IMPORT_PATH.search(before)
    return m.group(1) if m else None


def complete(engine: Engine, code: str, cursor: int) -> dict[str, Any]:
    cursor = clamp(code, cursor)
    before = code[:cursor]
    matches: list[str] = []
    std = engine.stdlib()
    prefix = import_path_prefix(before)
    if prefix is not None:
        matches = sorted(p for p in std.by_path if p.startswith(prefix))
        return _reply(matches, cursor - len(prefix), cursor)
    start, _ = _token_at(code, cursor)
    token = code[start:cursor]
    if "." in token:
        pkg, _, prefix = token.rpartition(".")
        path = _package_path(engine, pkg, set())
        exports = std.by_path[path].exports if path in std.by_path else set()
        if not exports:  # an ambiguous name (rand): offer what any of them exports
            exports = {e for p in std.by_name.get(pkg, []) for e in p.exports}
        matches = sorted(e for e in exports if e.startswith(prefix))
        return _reply(matches, cursor - len(prefix), cursor)
    names = {n for n, _, _ in engine.declarations() if "." not in n}
    names |= set(KEYWORDS) | set(BUILTINS) | set(std.by_name)
    matches = sorted(n for n in names if n.startswith(token) and n != token)
    return _reply(matches, start, cursor)


def _reply(matches: list[str], start: int, end: int) -> dict[str, Any]:
    return {
        "status": "ok",
        "matches": matches,
        "cursor_start": start,
        "cursor_end": end,
        "metadata": {},
    }


def inspect(engine: Engine, code: str, cursor: int) -> dict[str, Any]:
    """`go doc` for a library symbol, or the source of a session declaration."""
    cursor = clamp(code, cursor)
    start, end = _token_at(code, cursor)
    if start == end:  # f(|, f(a, |: the function of the call, as Shift-Tab asks there
        start, end = _token_at(code, _open_call(code, cursor))
    token = code[start:end].strip(".")
    not_found = {"status": "ok", "found": False, "data": {}, "metadata": {}}
    if not token:
        return not_found
    for decl in engine.session.decls.values():
        if token in decl.names:
            text = f"{decl.kind} {token} (cell {decl.cell}):\n\n{decl.text}"
            return {"status": "ok", "found": True, "data": {"text/plain": text}, "metadata": {}}
    pkg, _, symbol = token.partition(".")
    path = _package_path(engine, pkg, {symbol.split(".")[0]} if symbol else set())
    if path is None:
        return not_found
    doc = engine.go_doc([path, symbol] if symbol else [path])
    if doc is None:
        return not_found
    return {"status": "ok", "found": True, "data": {"text/plain": doc}, "metadata": {}}


# A name, or an import path with an optional symbol (`encoding/json?`,
# `math/rand/v2.IntN?`), as `go doc` takes it.
_HELP = re.compile(
    r"^\s*(?P<pre>\?{1,2})?(?P<name>[A-Za-z_][\w.]*(?:/[\w.~-]+)*)(?P<post>\?{1,2})?\s*$"
)


def help_request(code: str) -> tuple[str, bool] | None:
    """(name, source wanted) when the cell is `name?`, `name??`, `?name` or `??name`."""
    m = _HELP.match(code)
    if m is None or bool(m.group("pre")) == bool(m.group("post")):
        return None
    return m.group("name").strip("."), len(m.group("pre") or m.group("post")) == 2


def describe(engine: Engine, name: str, source: bool) -> str:
    """Documentation (or, with source, the source) of a session name or a package's."""
    for decl in engine.session.decls.values():
        if name in decl.names:
            text = decl.text if source or not decl.signature else decl.signature
            return f"{decl.kind} {name}, declared in cell {decl.cell}:\n\n{text}\n"
    if "/" in name:  # an import path: go doc finds the package (and symbol) itself
        doc = engine.go_doc([*(["-src"] if source else []), name])
        if doc is not None:
            return doc
    pkg, _, symbol = name.partition(".")
    path = _package_path(engine, pkg, {symbol.split(".")[0]} if symbol else set())
    if path is not None:
        doc = engine.go_doc([*(["-src"] if source else []), path, *([symbol] if symbol else [])])
        if doc is not None:
            return doc
    # A package of the notebook's own module that no cell imported yet: go doc
    # finds it from the notebook's directory, as it would in a terminal there.
    doc = engine.go_doc([*(["-src"] if source else []), name], cwd=os.getcwd())
    if doc is not None:
        return doc
    return (
        f"{name}: no documentation found (not declared in this session, and no package "
        "it imports or could import has it)\n"
    )
