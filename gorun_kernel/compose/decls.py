"""The compose stage's types: what a snippet declared, imported and runs.

A `Decl` is one top-level declaration kept in the session, an `Import` one
imported package, a `Plan` a snippet cell applied to the session but not yet
committed, an `Emitted` the files composed from a plan and their line table.
Also the rules that sort declarations by role (program, test helper, test
function) and guess a package's name from its path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from gorun_kernel.compose.parse import Item
from gorun_kernel.diagnostics import LineTable, Origin

# What a declaration is for. A program is built from the PROGRAM ones; a test
# run adds, in its _test.go file, the declarations of test cells (HELPER, TEST)
# and test functions written in ordinary cells (LOOSE_TEST), which would make
# an ordinary program import "testing".
Role = Literal["program", "helper", "test", "loose test"]
_TEST_PREFIXES = {"Test": "T", "Benchmark": "B", "Fuzz": "F", "Example": ""}


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
    # Names whose values go to Python at the end of main (%%gorun --export).
    exports: list[str] = field(default_factory=list)
    # The final value goes to the kernel alone: no data channel to Python (the
    # magic's), not a --wasm page. A print call's is then shown by golib/printed.
    shown_only: bool = False

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
class Emitted:
    """A plan composed: the files of a program (or a test file) and their line table."""

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


def is_init(d: Decl) -> bool:
    """An init: Go allows many, so none replaces another by name."""
    return d.kind == "func" and d.names == ["init"]
