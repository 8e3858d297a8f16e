"""Snippet cells: declarations that persist across cells, statements that run once.

The session keeps every declaration a snippet made, keyed by name (methods by
`Type.Method`). A later declaration of a name replaces the earlier one wherever
it was made; in a multi-name declaration (`var a, b = f()`, a const group
with iota) only that name is replaced by `_`, so the rest keeps its meaning
and nothing is declared twice. A cell's statements become `main` for that run.

A plan is made from a cell without touching the session; the engine commits it
only once the program built and got past its initialization (its main calls
STARTED first), so a cell that fails to build, or whose initializer panics,
changes nothing.
Composing is string work over stored declarations: no go command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from gorun_kernel.compose.linedirs import annotate, merge
from gorun_kernel.compose.parse import Cell, Item
from gorun_kernel.compose.stdlib import StdIndex
from gorun_kernel.diagnostics import LineTable, Origin
from gorun_kernel.errors import CellError
from gorun_kernel.paths import DISPLAY_MODULE

VALUE_HELPER = "gorun_value.go"
STARTED_HELPER = "gorun_started.go"  # main's first call: the program got past init
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
# golib/value: light, so showing a value costs little link time). The code is
# in golib/value, reached through variables: package main has none of ours for
# -gcflags=-m or -S to talk about.
# A final call's value that nobody asked to see is not shown (README, "Snippet
# rules"): a lone nil error (t.Execute(...)), and what printing and writing
# calls return when they worked ((n, <nil>)). A non-nil error always is.
SHOW_CALL = "gorunǂshowCall"
SHOW_WRITE = "gorunǂshowWrite"
VALUE_HELPER_SOURCE = f"""package main

import gorunǂvalue "{DISPLAY_MODULE}/value"

var (
	{SHOW} = gorunǂvalue.Show
	{SHOW_CALL} = gorunǂvalue.ShowCall
	{SHOW_WRITE} = gorunǂvalue.ShowWrite
)
"""

# A snippet's main calls this first: the run then knows the program got past its
# initialization (its variables' initializers and its inits ran), the point
# after which the cell's declarations join the session (engine.py). A variable,
# as for the value: nothing of ours in package main for -gcflags=-m or -S.
STARTED = "gorunǂstarted"
STARTED_HELPER_SOURCE = f"""package main

import gorunǂstart "{DISPLAY_MODULE}/started"

var {STARTED} = gorunǂstart.Report
"""

# Printing, writing and scanning calls: their byte counts are noise.
_WRITING_CALLS = re.compile(
    r"^(fmt\.(Fprint|Print|Fscan|Scan|Sscan)\w*|.*\.(Write\w*|Close|Flush|Encode))$"
)
# Calls that return nothing (log's): statements, without a build to find out.
_NO_VALUE_CALLS = re.compile(r"^(log\.\w+|.*\.(Print|Fatal|Panic)\w*)$")


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
    idents: set[str] = field(default_factory=set)  # names it refers to
    binds: dict[str, str] = field(default_factory=dict)  # `var p = fmt.Println`
    signature: str = ""  # a func or method: its text up to the body
    owner: str = ""  # the cell it belongs to (an init is replaced when that cell runs again)

    def uses_name(self, name: str) -> bool:
        """Whether this declaration refers to `name` (not a local of that name)."""
        # A method (T.M) is called on values: who calls it cannot be told here.
        if "." in name or name in self.names or name in self.declares:
            return False
        return name in self.idents

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
    preamble: str = ""  # import "C": cgo's preamble, the comment just above it
    preamble_origins: list[Origin] = field(default_factory=list)  # its cell lines


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
    # How the final value is shown (see final_value): SHOW, SHOW_CALL or SHOW_WRITE.
    show_with: str = ""
    # What this cell declared and imported (keys of decls and imports): by
    # identity, not by label, since a label may repeat (the magic's cells run
    # without history keep one execution count; a cell run again).
    made: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)

    def declared(self) -> str | None:
        """`declared: sq, Point; imported: strings` for a cell with no statements
        (what its status line says instead of `exit status 0`: nothing the user
        wrote ran, except initializers); None for a cell that has statements."""
        if self.body or self.main is not None:
            return None
        names = [n for k in self.made if k in self.decls for n in self.decls[k].names]
        names = [n for n in names if n not in ("", "_")]
        imported = [self.imports[k].path for k in self.imported if k in self.imports]
        parts = [f"declared: {_listed(names)}"] if names else []
        parts += [f"imported: {_listed(imported)}"] if imported else []
        return "; ".join(parts) or None


def _listed(names: list[str], most: int = 8) -> str:
    """Names for a status line, the first `most` of a long list (a pasted library of
    40 functions is not a 40-name line; %list shows them all)."""
    if len(names) <= most + 1:
        return ", ".join(names)
    return f"{', '.join(names[:most])} and {len(names) - most} more"


@dataclass
class Program:
    files: dict[str, str]
    table: LineTable = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # which package an ambiguous name is


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

    def dependents(self, names: list[str]) -> list[Decl]:
        """The declarations that use any of `names`, and in turn those that use
        them: what would no longer build if `names` were removed."""
        gone = set(names)
        found: dict[str, Decl] = {}
        changed = True
        while changed:
            changed = False
            for key, d in self.decls.items():
                if key in found:
                    continue
                if gone.intersection(d.names):
                    uses = _uses_own(d, gone)  # var (a = 1; b = a + 1) without a
                else:
                    uses = any(d.uses_name(n) for n in gone)
                if uses:
                    found[key] = d
                    gone.update(n for n in d.names if n)
                    changed = True
        return list(found.values())

    def remove_names(self, names: list[str], dependents: bool = False) -> list[str]:
        """Forget names (and, with dependents, the declarations that use them);
        returns the names that were not there."""
        users = self.dependents(names) if dependents else []
        missing = [n for n in names if not self.remove(n)]
        # By key, not by name: removing the name `init` would take every
        # cell's init, and a blank `var _ = f(x)` has no name at all.
        for d in users:
            self.decls.pop(d.key, None)
        return missing

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
        owner: str | None = None,
        test_cell: bool = False,
    ) -> Plan:
        """The session as it would be after this cell, and what its main runs.

        owner: the cell's identity (the front-end's cell id): running the same
        cell again replaces the inits it made before. Without one, each run is
        a cell of its own (a label may repeat: IPython's count stands still in
        `%run notes.ipynb`). A test cell's declarations are for tests only.
        """
        owner = owner or f"{label} run {self.cells}"
        planner = _Planner(self, code.split("\n"), first_line, label, owner, std, test_cell)
        for item in cell.items:
            planner.add(item)
        return planner.finish()

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
        auto: dict[str, str] = {}
        notes: list[str] = []
        for x in sorted(needed.keys() - named):
            fits = std.candidates(x, needed[x])
            if fits:
                auto[x] = fits[0]
            if len(fits) > 1:
                notes.append(_ambiguity_note(x, fits, needed[x]))
        unknown = needed.keys() - named - auto.keys()
        kept = [
            i
            for i in imports
            if i.name in ("_", ".")
            or i.name in needed
            or (not i.known_name and unknown)  # maybe the name we guessed is wrong
        ]
        # //go:embed needs package embed imported, even where only a string is embedded.
        embedding = any("//go:embed" in d.text for d in decls)
        has_embed = "embed" in auto.values() or any(i.path == "embed" for i in kept)
        blank = ["embed"] if embedding and not has_embed else []
        out = _FileBuilder(plan.label)
        head = _header(out, plan, kept, sorted(auto.values()), blank)
        for d in decls:
            out.add("")
            if d is plan.main:
                _own_main(out, d)
            else:
                out.add_source(d.text, d.lines, d.first_line, d.col, d.cell)
        if tests is not None:
            text, table = annotate(TEST_FILE, out.lines, out.origins, head)
            return Program(files={TEST_FILE: text}, table=table, notes=notes)
        if plan.main is None:
            _main(out, plan, show)
        text, table = annotate("main.go", out.lines, out.origins, head)
        files = {"main.go": text, STARTED_HELPER: STARTED_HELPER_SOURCE}
        table[STARTED_HELPER] = [None] * STARTED_HELPER_SOURCE.count("\n")
        if show:
            files[VALUE_HELPER] = VALUE_HELPER_SOURCE
            # Ours entirely: an error there is never shown with its file name.
            table[VALUE_HELPER] = [None] * files[VALUE_HELPER].count("\n")
        return Program(files=files, table=table, notes=notes)

    def compose_tests(
        self, plan: Plan, std: StdIndex, drop: frozenset[str], tests: set[str]
    ) -> Program:
        """A test run: the program's declarations in main.go (with an empty main),
        and the test functions of `tests` (cell labels) in the test file."""
        plan = replace(plan, body=[], main=None, final=None)
        program = self.compose(plan, std, False, drop)
        suite = self.compose(plan, std, False, drop, tests=tests)
        table = dict(program.table)
        merge(table, suite.table)  # a cell's lines may be in both files
        notes = list(dict.fromkeys(program.notes + suite.notes))
        return Program({**program.files, **suite.files}, table, notes)


def _other(cell: str, plan: Plan) -> str | None:
    """A cell label as an Origin takes it: None for the cell being run."""
    return None if cell == plan.label else cell


def _header(
    out: _FileBuilder, plan: Plan, kept: list[Import], auto: list[str], blank: list[str]
) -> int:
    """package main and the imports; returns how many lines must get no //line
    directive (cgo's preamble and its import "C", written first)."""
    out.add("package main")
    cgo = next((i for i in kept if i.path == "C"), None)
    if cgo is not None:
        # First, before any //line directive: a directive above cgo's
        # preamble would be read as C. Its errors are mapped afterwards.
        out.add("")
        for line, origin in zip(cgo.preamble.split("\n"), cgo.preamble_origins, strict=False):
            out.add(line, origin)
        out.add('import "C"', Origin(cgo.line, cgo.source, _other(cgo.cell, plan), caret=False))
        kept = [i for i in kept if i is not cgo]
    head = len(out.lines)
    out.add("")
    if kept or auto or blank:
        out.add("import (")
        for path in auto:
            out.add(f'\t"{path}"')
        for path in blank:
            out.add(f'\t_ "{path}"')
        for i in kept:
            spec = f'\t{i.alias} "{i.path}"' if i.alias else f'\t"{i.path}"'
            # Written differently from the cell's line: no caret under it. Line 0:
            # an import no cell wrote (help while typing adds one): ours.
            where = Origin(i.line, i.source, _other(i.cell, plan), caret=False)
            out.add(spec, where if i.line > 0 else None)
        out.add(")")
    return head


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


def _main(out: _FileBuilder, plan: Plan, show: bool) -> None:
    """func main: the cell's statements, the final one's value shown when asked."""
    out.add("")
    out.add("func main() {")
    out.add(f"\t{STARTED}()")
    for item in plan.body:
        first = plan.first_line + item.row
        span = plan.body_lines[item.row : item.row + item.text.count("\n") + 1]
        if show and item is plan.final:
            out.add(f"{plan.show_with}(")
            out.add_source(item.text + ",", span, first, item.col, plan.label)
            out.add(")")
        else:
            out.add_source(item.text, span, first, item.col, plan.label)
    out.add("}")


def _own_main(out: _FileBuilder, main: Decl) -> None:
    """A cell's own func main, its first statement the call that says the program got
    past init, on a line of its own after `func main() {`. A main whose body starts
    on its first line (`func main() { f() }`) is left as it is: its cell's
    declarations then join the session only when the run succeeds (engine.py)."""
    first, _, rest = main.text.partition("\n")
    if not rest or first[len(main.signature) :].strip() != "{":
        out.add_source(main.text, main.lines, main.first_line, main.col, main.cell)
        return
    out.add_source(first, main.lines[:1], main.first_line, main.col, main.cell)
    out.add(f"\t{STARTED}()")
    out.add_source(rest, main.lines[1:], main.first_line + 1, 0, main.cell)


def _ambiguity_note(name: str, fits: list[str], sels: set[str]) -> str:
    """Said once: which package a name several standard packages share was taken to be."""
    used = ", ".join(f"{name}.{s}" for s in sorted(sels)) or name
    others = " and ".join(fits[1:])
    return (
        f"[gorun: {name} is {fits[0]} here ({others} also fit {used}); "
        f'import "{fits[1]}" in a cell to use that one]'
    )


class _Planner:
    """One snippet cell applied to a copy of the session's declarations.

    The rules (README, "Cells"): imports and declarations join the session, a
    later declaration of a name replacing any earlier one (an import too),
    except var and const after the cell's first statement: those are local to
    this run, as in a function body, so they may use the cell's variables.
    Types, funcs and methods always join (a method needs a package-level type);
    an init belongs to its cell.
    """

    def __init__(
        self, session: Session, lines: list[str], first_line: int, label: str, owner: str,
        std: StdIndex, test_cell: bool,
    ) -> None:  # fmt: skip
        self.lines, self.first_line, self.label, self.owner = lines, first_line, label, owner
        self.std, self.test_cell = std, test_cell
        # The inits this cell made when it ran before are replaced by its new ones.
        self.decls = {
            k: d for k, d in session.decls.items() if not (_is_init(d) and d.owner == owner)
        }
        self.imports = dict(session.imports)
        # name -> keys of the declarations that declare it, so a redefinition
        # finds what it replaces without scanning the whole session.
        self.owners: dict[str, set[str]] = {}
        for key, d in self.decls.items():
            for n in d.names:
                self.owners.setdefault(n, set()).add(key)
        self.body: list[Item] = []
        self.main: Decl | None = None
        self.made: dict[str, None] = {}  # keys of what this cell declared, in order
        self.imported: dict[str, None] = {}
        self.lines_of: dict[str, int] = {}  # name -> the cell line this cell declared it at

    def add(self, item: Item) -> None:
        if item.kind == "import":
            self._import(item)
        elif item.kind == "stmt" or (self.body and item.kind in ("var", "const")):
            self.body.append(item)  # after the first statement: local to this run
        else:
            self._declare(item)

    def _import(self, item: Item) -> None:
        for alias, path, row in item.imports:
            known = alias is not None or self.std.name_of(path) is not None
            name = alias or self.std.name_of(path) or import_name(path)
            key = f"{name} {path}" if name in ("_", ".") else name
            if key == name:
                self._once(name, self.first_line + row, self.lines[row : row + 1])
                self._forget(name)  # `import s "strings"` replaces an earlier `var s`
            source = self.lines[row] if row < len(self.lines) else ""
            imp = Import(name, alias, path, self.label, self.first_line + row, source, known)
            if path == "C" and item.preamble:
                imp.preamble = item.preamble
                imp.preamble_origins = [  # cgo moves its text: no caret
                    Origin(self.first_line + item.preamble_row + i, text, caret=False)
                    for i, text in enumerate(item.preamble.split("\n"))
                ]
            self.imports[key] = imp
            self.imported[key] = None

    def _declare(self, item: Item) -> None:
        row = item.row
        decl = Decl(
            key=item.key, kind=item.kind, names=list(item.names), text=item.text,
            name_spans=list(item.name_spans), cell=self.label,
            first_line=self.first_line + row, col=item.col,
            lines=self.lines[row : row + item.text.count("\n") + 1],
            uses=item.uses, declares=item.declares, idents=item.idents, binds=item.binds,
            signature=item.signature, owner=self.owner, role=role_of(item, self.test_cell),
        )  # fmt: skip
        if item.kind == "func" and item.names == ["main"]:
            if self.main is not None:
                raise CellError(
                    f"line {decl.first_line}: main redeclared in this cell "
                    f"(the first func main is at line {self.main.first_line})",
                    [f"    {decl.lines[0]}"],
                )
            self.main = decl  # runs this cell; never kept
            return
        if not _is_init(decl):  # Go allows many inits: none replaces another by name
            for name in item.names:
                self._once(name, decl.first_line, decl.lines)
                self._forget(name)
        self.decls.pop(decl.key, None)  # the same key (an identical init): moved here
        self.decls[decl.key] = decl
        self.made[decl.key] = None
        for n in decl.names:
            self.owners.setdefault(n, set()).add(decl.key)

    def _once(self, name: str, line: int, lines: list[str]) -> None:
        """A name is declared once in a cell, as in a Go file: a second declaration
        is a mistake to show (`func a` pasted twice), not an earlier one to replace."""
        if name in ("", "_"):
            return
        if name in self.lines_of:
            raise CellError(
                f"line {line}: {name} redeclared in this cell "
                f"(the first declaration is at line {self.lines_of[name]})",
                [f"    {lines[0]}"] if lines else [],
            )
        self.lines_of[name] = line

    def _forget(self, name: str) -> None:
        """An earlier declaration or import of `name` gives way to a new one."""
        self.imports.pop(name, None)
        for key in self.owners.pop(name, set()):
            old = self.decls.get(key)
            if old is None:
                continue
            kept = old.without(name)
            if kept is None:
                del self.decls[key]
            else:
                self.decls[key] = kept

    def finish(self) -> Plan:
        body, fl = self.body, self.first_line
        if self.main is not None and body:
            raise CellError(
                f"line {fl + body[0].row}: this cell has both func main and "
                "statements outside it; put the statements inside main, or drop main"
            )
        final, show_with = final_value(body, self.decls)
        # What the cell made and still stands (a later line of it may have replaced it).
        made = [k for k in self.made if k in self.decls]
        imported = [k for k in self.imported if k in self.imports]
        return Plan(
            decls=self.decls, imports=self.imports, body=body, body_lines=self.lines,
            first_line=fl, label=self.label, main=self.main, final=final, show_with=show_with,
            made=made, imported=imported,
        )  # fmt: skip


def _uses_own(d: Decl, gone: set[str]) -> bool:
    """Whether a declaration of several names still uses one of `gone` once those
    are blanked: `var (a = 1; b = a + 1)` without `a` would not build. (A word
    match: a mention in a string or comment counts too, which only errs on the
    side of keeping.)"""
    kept: Decl | None = d
    for n in gone.intersection(d.names):
        kept = kept.without(n) if kept is not None else None
    if kept is None:
        return False
    return any(re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", kept.text) for n in gone)


def _is_init(d: Decl) -> bool:
    return d.kind == "func" and d.names == ["init"]


def final_value(body: list[Item], decls: dict[str, Decl]) -> tuple[Item | None, str]:
    """The final expression whose value the cell shows, and the helper that shows it.

    A receive (`<-done`) only waits. A call shows its results unless they are
    noise (SHOW_CALL: a lone nil error; SHOW_WRITE, for printing and writing
    calls, also through a name bound to one such as `p := fmt.Println`: unless
    the error is not nil).
    """
    final = body[-1] if body and body[-1].expression and not body[-1].receive else None
    if final is None:
        return None, ""
    if final.call is None:
        return final, SHOW
    binds = {n: f for d in decls.values() for n, f in d.binds.items()}
    for item in body:
        binds.update(item.binds)
    callee = binds.get(final.call, final.call)
    if _WRITING_CALLS.match(callee):
        return final, SHOW_WRITE
    return (None, "") if _NO_VALUE_CALLS.match(callee) else (final, SHOW_CALL)


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
