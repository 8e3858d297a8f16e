"""Snippet cells: declarations that persist across cells, statements that run once.

The session keeps every declaration a snippet made, keyed by name (methods by
`Type.Method`). A later declaration of a name replaces the earlier one wherever
it was made; in a multi-name declaration (`var a, b = f()`, a const group
with iota) only that name is replaced by `_`, so the rest keeps its meaning
and nothing is declared twice. A cell's statements become `main` for that run.

A plan is made from a cell without touching the session; the engine commits it
only after the build succeeded, so a cell that fails to build changes nothing.
Composing is string work over stored declarations: no go command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from .diagnostics import LineTable, Origin
from .errors import CellError
from .parse import Cell, Item
from .scratch import DISPLAY_MODULE
from .stdlib import StdIndex

VALUE_HELPER = "gorun_value.go"
TEST_FILE = "gorun_test.go"  # a test run's test functions and their helpers
# Names in generated code: with a letter (U+01C2, a Latin letter to Go) that no
# one types, so a user's declaration can never collide with ours.
SHOW = "gorunǂshow"

# What a declaration is for. A program is built from the PROGRAM ones; a test
# run adds, in its _test.go file, the declarations of test cells (HELPER, TEST)
# and test functions written in ordinary cells (LOOSE_TEST), which would make
# an ordinary program import "testing".
Role = Literal["program", "helper", "test", "loose test"]
_TEST_PREFIXES = {"Test": "T", "Benchmark": "B", "Fuzz": "F", "Example": ""}

# The final expression's value goes to the descriptor named by GORUN_VALUE_FD (a
# pipe the run reads, run.py: the program cannot make it a device or a FIFO),
# from a file of its own (its imports cannot clash with the user's): its text
# in Go's own formatting, and a richer form when it has one, as JSON (see
# golib/value: light, so showing a value costs little link time).
VALUE_HELPER_SOURCE = f"""package main

import (
	gorunǂos "os"
	gorunǂstrconv "strconv"

	gorunǂvalue "{DISPLAY_MODULE}/value"
)

func {SHOW}(values ...any) {{
	if fd, err := gorunǂstrconv.Atoi(gorunǂos.Getenv("GORUN_VALUE_FD")); err == nil {{
		f := gorunǂos.NewFile(uintptr(fd), "gorun-value")
		_, _ = f.Write(gorunǂvalue.Encode(values...))
		_ = f.Close()
	}}
}}
"""

# Calls that are statements even though they return values: printing and
# writing (their byte counts and nil errors are noise), scanning.
_STATEMENT_CALLS = re.compile(
    r"^(fmt\.(Fprint|Print|Fscan|Scan|Sscan)\w*|log\.\w+"
    r"|.*\.(Write\w*|Print\w*|Close|Flush|Encode))$"
)


@dataclass
class Decl:
    """A declaration kept in the session."""

    key: str
    kind: str
    names: list[str]  # the names it still declares ("" where blanked)
    text: str
    name_spans: list[tuple[int, int]]
    cell: str  # label of the cell that made it: "[3]"
    first_line: int  # the cell line (as the notebook shows it) where text starts
    col: int
    lines: list[str]  # the cell's source lines it spans, for quoting in errors
    uses: dict[str, set[str]]
    declares: set[str]
    role: Role = "program"

    def without(self, name: str) -> Decl | None:
        """This declaration with `name` replaced by `_`; None if nothing would be left."""
        if self.kind in ("func", "method") or self.names.count(name) == 0:
            return None if name in self.names else self
        names = ["" if n == name else n for n in self.names]
        if not any(names):
            return None
        text = self.text
        for (s, e), n in sorted(zip(self.name_spans, self.names, strict=True), reverse=True):
            if n == name:
                text = text[:s] + "_".ljust(e - s) + text[e:]  # same width: columns stay
        return replace(self, names=names, text=text)


@dataclass
class Import:
    name: str  # the local name (alias, or the package's name), "_" or "." forms keyed by path
    alias: str | None
    path: str
    cell: str
    line: int
    source: str  # the cell line it was written on
    known_name: bool  # the name is certain (an alias, or a standard package)


@dataclass
class Plan:
    """A snippet cell applied to the session, not yet committed."""

    decls: dict[str, Decl]
    imports: dict[str, Import]
    body: list[Item]  # statements for main
    body_lines: list[str]
    first_line: int
    label: str
    main: Decl | None = None  # the cell's own func main
    final: Item | None = None  # the final expression, when its value may be shown


@dataclass
class Program:
    files: dict[str, str]
    table: LineTable = field(default_factory=dict)


def import_name(path: str) -> str:
    """The name a package is most likely declared with: the path's last element,
    without a major version (`/v2`, `.v3`) or a `go-` prefix."""
    parts = path.split("/")
    last = parts[-1]
    if re.fullmatch(r"v\d+", last) and len(parts) > 1:
        last = parts[-2]
    last = re.sub(r"\.v\d+$", "", last)
    last = last.removeprefix("go-").removesuffix("-go").removesuffix(".go")
    return re.sub(r"\W", "_", last)


def test_function(item: Item) -> str | None:
    """The kind of test function ("Test", "Benchmark", "Fuzz", "Example") go test would run.

    Go's rules: the name is the prefix alone or the prefix and a name that does
    not start with a lower-case letter; Test/Benchmark/Fuzz take one *testing.T,
    *testing.B or *testing.F, an Example takes nothing.
    """
    if item.kind != "func" or len(item.names) != 1:
        return None
    name = item.names[0]
    for prefix, letter in _TEST_PREFIXES.items():
        rest = name[len(prefix) :]
        if not name.startswith(prefix) or rest[:1].islower():
            continue
        params = rf"(?:\w+\s+)?\*\s*testing\.{letter}\s*" if letter else r"\s*"
        if re.search(rf"^func\s+{name}\s*\({params}\)\s*{{", item.text, re.MULTILINE):
            return prefix
    return None


def role_of(item: Item, test_cell: bool) -> Role:
    if test_function(item) is not None:
        return "test" if test_cell else "loose test"
    return "helper" if test_cell else "program"


class Session:
    """The declarations and imports that snippets made in one session."""

    def __init__(self) -> None:
        self.decls: dict[str, Decl] = {}
        self.imports: dict[str, Import] = {}
        self.cells = 0  # snippet cells run, for default labels

    def reset(self) -> None:
        self.decls.clear()
        self.imports.clear()

    def listing(self) -> list[tuple[str, str, str]]:
        """(name, kind, cell) for every declared name and import, in order."""
        rows = [(i.name if i.alias != "_" else f"_ {i.path}", "import", i.cell)
                for i in self.imports.values()]  # fmt: skip
        for d in self.decls.values():
            rows.extend((n, d.kind, d.cell) for n in d.names if n)
        return rows

    def remove(self, name: str) -> bool:
        """Forget one name (a declaration, a method Type.Method, or an import)."""
        found = False
        for key, imp in list(self.imports.items()):
            if name in (imp.name, imp.path):
                del self.imports[key]
                found = True
        for key, decl in list(self.decls.items()):
            if name in decl.names:
                found = True
                kept = decl.without(name)
                if kept is None:
                    del self.decls[key]
                else:
                    self.decls[key] = kept
        return found

    def commit(self, plan: Plan) -> None:
        self.decls = plan.decls
        self.imports = plan.imports

    # -- planning ------------------------------------------------------------

    def plan(
        self,
        cell: Cell,
        code: str,
        first_line: int,
        label: str,
        std: StdIndex,
        test_cell: bool = False,
    ) -> Plan:
        """The session with this cell's declarations; a test cell's are for tests only."""
        lines = code.split("\n")
        decls = dict(self.decls)
        imports = dict(self.imports)
        # name -> keys of the declarations that declare it, so a redefinition
        # finds what it replaces without scanning the whole session.
        owners: dict[str, set[str]] = {}
        for key, d in decls.items():
            for n in d.names:
                owners.setdefault(n, set()).add(key)
        body: list[Item] = []
        main: Decl | None = None
        for item in cell.items:
            span = item.text.count("\n") + 1
            source_lines = lines[item.row : item.row + span]
            if item.kind == "import":
                for alias, path, row in item.imports:
                    known = alias is not None or std.name_of(path) is not None
                    name = alias or std.name_of(path) or import_name(path)
                    key = f"{name} {path}" if name in ("_", ".") else name
                    source = lines[row] if row < len(lines) else ""
                    imports[key] = Import(name, alias, path, label, first_line + row, source, known)
                continue
            if item.kind == "stmt":
                body.append(item)
                continue
            decl = Decl(
                key=item.key, kind=item.kind, names=list(item.names), text=item.text,
                name_spans=list(item.name_spans), cell=label,
                first_line=first_line + item.row, col=item.col, lines=source_lines,
                uses=item.uses, declares=item.declares, role=role_of(item, test_cell),
            )  # fmt: skip
            if item.kind == "func" and item.names == ["main"]:
                main = decl  # runs this cell; never kept
                continue
            if not (item.kind == "func" and item.names == ["init"]):
                for name in item.names:
                    for key in owners.pop(name, set()):
                        old = decls.get(key)
                        if old is None:
                            continue
                        kept = old.without(name)
                        if kept is None:
                            del decls[key]
                        else:
                            decls[key] = kept
            if decl.key in decls:  # the same key, names already replaced above
                del decls[decl.key]
            decls[decl.key] = decl
            for n in decl.names:
                owners.setdefault(n, set()).add(decl.key)
        if main is not None and body:
            raise CellError(
                f"line {first_line + body[0].row}: this cell has both func main and "
                "statements outside it; put the statements inside main, or drop main"
            )
        final = body[-1] if body and body[-1].expression else None
        if final is not None and final.call is not None and _STATEMENT_CALLS.match(final.call):
            final = None
        return Plan(
            decls=decls, imports=imports, body=body, body_lines=lines, first_line=first_line,
            label=label, main=main, final=final,
        )  # fmt: skip

    # -- composing -----------------------------------------------------------

    def compose(
        self,
        plan: Plan,
        std: StdIndex,
        show: bool,
        drop: frozenset[str] = frozenset(),
        tests: set[str] | None = None,
    ) -> Program:
        """The program for a plan: main.go (and the value helper when showing a value).

        `drop`: import paths to leave out (go said they were not used).
        `tests`: compose the test file instead, with the test functions of
        these cells (and those of ordinary cells, and every test cell's helpers).
        """
        out = _FileBuilder(plan.label)
        every = list(plan.decls.values())
        if tests is None:
            decls = [d for d in every if d.role == "program"]
        else:
            decls = [d for d in every if d.role in ("helper", "loose test")
                     or (d.role == "test" and d.cell in tests)]  # fmt: skip
        if plan.main is not None and tests is None:
            decls.append(plan.main)
        package_names = {n for d in every for n in d.names if n}
        needed = _needed(decls, plan.body if tests is None else [], package_names)

        imports = [i for i in plan.imports.values() if i.path not in drop]
        named = {i.name for i in imports}
        auto = {}
        for x in sorted(needed.keys() - named):
            path = std.resolve(x, needed[x])
            if path is not None:
                auto[x] = path
        unknown = needed.keys() - named - auto.keys()
        kept = [
            i
            for i in imports
            if i.name in ("_", ".")
            or i.name in needed
            or (not i.known_name and unknown)  # maybe the name we guessed is wrong
        ]

        out.add("package main")
        out.add("")
        if kept or auto:
            out.add("import (")
            for path in sorted(auto.values()):
                out.add(f'\t"{path}"')
            for i in kept:
                spec = f'\t{i.alias} "{i.path}"' if i.alias else f'\t"{i.path}"'
                cell = None if i.cell == plan.label else i.cell
                # Written differently from the cell's line: no caret under it.
                out.add(spec, Origin(i.line, i.source, cell, caret=False))
            out.add(")")
        for d in decls:
            out.add("")
            out.add_source(d.text, d.lines, d.first_line, d.col, d.cell)
        if tests is not None:
            return Program(files={TEST_FILE: out.text()}, table={TEST_FILE: out.origins})
        if plan.main is None:
            out.add("")
            out.add("func main() {")
            for item in plan.body:
                first = plan.first_line + item.row
                span = plan.body_lines[item.row : item.row + item.text.count("\n") + 1]
                if show and item is plan.final:
                    out.add(f"{SHOW}(")
                    out.add_source(item.text + ",", span, first, item.col, plan.label)
                    out.add(")")
                else:
                    out.add_source(item.text, span, first, item.col, plan.label)
            out.add("}")
        files = {"main.go": out.text()}
        table: LineTable = {"main.go": out.origins}
        if show:
            files[VALUE_HELPER] = VALUE_HELPER_SOURCE
            # Ours entirely: an error there is never shown with its file name.
            table[VALUE_HELPER] = [None] * VALUE_HELPER_SOURCE.count("\n")
        return Program(files=files, table=table)

    def compose_tests(
        self, plan: Plan, std: StdIndex, drop: frozenset[str], tests: set[str]
    ) -> Program:
        """A test run: the program's declarations in main.go (with an empty main),
        and the test functions of `tests` (cell labels) in the test file."""
        plan = replace(plan, body=[], main=None, final=None)
        program = self.compose(plan, std, False, drop)
        suite = self.compose(plan, std, False, drop, tests=tests)
        return Program({**program.files, **suite.files}, {**program.table, **suite.table})


def _needed(decls: list[Decl], body: list[Item], package_names: set[str]) -> dict[str, set[str]]:
    """Package names a unit (a declaration, or main's statements together) uses
    as X.Sel where X is not one of its own locals or parameters, nor a
    package-level name: these need imports."""
    body_uses: dict[str, set[str]] = {}
    body_locals: set[str] = set()
    for item in body:
        for x, sels in item.uses.items():
            body_uses.setdefault(x, set()).update(sels)
        body_locals |= item.declares
    needed: dict[str, set[str]] = {}
    for uses, local in [*((d.uses, d.declares) for d in decls), (body_uses, body_locals)]:
        for x, sels in uses.items():
            if x not in local and x not in package_names:
                needed.setdefault(x, set()).update(sels)
    return needed


class _FileBuilder:
    """Lines of a generated file, each with the cell line it came from."""

    def __init__(self, current: str) -> None:
        self.current = current  # the label of the cell being run: its lines need no label
        self.lines: list[str] = []
        self.origins: list[Origin | None] = []

    def add(self, line: str, origin: Origin | None = None) -> None:
        self.lines.append(line)
        self.origins.append(origin)

    def add_source(self, text: str, lines: list[str], first: int, col: int, cell: str) -> None:
        label = None if cell == self.current else cell
        # Pad the first line to its column in the cell, so compiler columns
        # match the cell's and a caret lands under the right character.
        pad = "".join(c if c == "\t" else " " for c in (lines[0][:col] if lines else ""))
        for i, line in enumerate(text.split("\n")):
            source = lines[i] if i < len(lines) else line
            self.add((pad + line) if i == 0 else line, Origin(first + i, source, label))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
