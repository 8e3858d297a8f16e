"""Go emission: a plan -> main.go (or a test run's files) and its line table.

A free function of the plan: string work over the declarations it holds, no
session and no go command. Every generated line carries the cell line it came
from, and linedirs.annotate turns that into //line directives.
"""

from __future__ import annotations

import re
from dataclasses import replace

from gorun_kernel.compose.decls import Decl, Emitted, Import, Plan
from gorun_kernel.compose.final import SHOW, SHOW_CALL, SHOW_WRITE
from gorun_kernel.compose.linedirs import annotate, merge
from gorun_kernel.compose.parse import Item
from gorun_kernel.compose.stdlib import StdIndex
from gorun_kernel.diagnostics import Origin
from gorun_kernel.paths import DISPLAY_MODULE

VALUE_HELPER = "gorun_value.go"
STARTED_HELPER = "gorun_started.go"  # main's first call: the program got past init
TEST_FILE = "gorun_test.go"  # a test run's test functions and their helpers

# The final expression's value goes to the descriptor named by GORUN_VALUE_FD (a
# pipe the run reads, run.py: the program cannot make it a device or a FIFO),
# from a file of its own (its imports cannot clash with the user's): its text
# in Go's own formatting, and a richer form when it has one, as JSON (see
# golib/value: light, so showing a value costs little link time). The code is
# in golib/value, reached through variables: package main has none of ours for
# -gcflags=-m or -S to talk about. Which helper shows it: final.py.
VALUE_HELPER_SOURCE = f"""package main

import gorunǂvalue "{DISPLAY_MODULE}/value"

var (
	{SHOW} = gorunǂvalue.Show
	{SHOW_CALL} = gorunǂvalue.ShowCall
	{SHOW_WRITE} = gorunǂvalue.ShowWrite
)
"""

# A final print call's (n, err) shown by the kernel alone (Plan.shown_only): the
# light golib/printed instead, the same tuple as value's, for what fmt links
# already (value's image, base64 and bufio: 13-14 ms of linking a hello cell).
PRINTED_HELPER_SOURCE = f"""package main

import gorunǂprinted "{DISPLAY_MODULE}/printed"

var {SHOW_WRITE} = gorunǂprinted.ShowWrite
"""
_PRINT_CALLS = re.compile(r"fmt\.(Fprint|Print)(f|ln)?")

# A snippet's main calls this first: the run then knows the program got past its
# initialization (its variables' initializers and its inits ran), the point
# after which the cell's declarations join the session (engine.py). A variable,
# as for the value: nothing of ours in package main for -gcflags=-m or -S.
STARTED = "gorunǂstarted"
STARTED_HELPER_SOURCE = f"""package main

import gorunǂstart "{DISPLAY_MODULE}/started"

var {STARTED} = gorunǂstart.Report
"""


# --export NAME: main's last statements send the names' values to Python (golib/pydata).
EXPORT_HELPER = "gorun_export.go"
EXPORT = "gorunǂexport"
EXPORT_HELPER_SOURCE = f"""package main

import gorunǂpydata "{DISPLAY_MODULE}/pydata"

var {EXPORT} = gorunǂpydata.Export
"""


def emit(
    plan: Plan,
    std: StdIndex,
    show: bool,
    drop: frozenset[str] = frozenset(),
    tests: set[str] | None = None,
) -> Emitted:
    """The program for a plan: main.go (and the value helper when showing a value).

    `drop`: import paths to leave out (go said they were not used).
    `tests`: compose the test file instead, with the test functions of
    these cells (and those of ordinary cells, and every test cell's helpers).
    """
    every = list(plan.decls.values())
    if tests is None:
        decls = [d for d in every if d.role == "program"]
    else:
        decls = [
            d
            for d in every
            if d.role in ("helper", "loose test") or (d.role == "test" and d.cell in tests)
        ]
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
        return Emitted(files={TEST_FILE: text}, table=table, notes=notes)
    if plan.main is None:
        _main(out, plan, show)
    text, table = annotate("main.go", out.lines, out.origins, head)
    files = {"main.go": text, STARTED_HELPER: STARTED_HELPER_SOURCE}
    table[STARTED_HELPER] = [None] * STARTED_HELPER_SOURCE.count("\n")
    if show:
        printed = _printed(plan, package_names)
        files[VALUE_HELPER] = PRINTED_HELPER_SOURCE if printed else VALUE_HELPER_SOURCE
        # Ours entirely: an error there is never shown with its file name.
        table[VALUE_HELPER] = [None] * files[VALUE_HELPER].count("\n")
    if plan.exports and plan.main is None:
        files[EXPORT_HELPER] = EXPORT_HELPER_SOURCE
        table[EXPORT_HELPER] = [None] * EXPORT_HELPER_SOURCE.count("\n")
    return Emitted(files=files, table=table, notes=notes)


def _printed(plan: Plan, package_names: set[str]) -> bool:
    """Whether golib/printed shows the final value: the standard fmt's print call
    (two results, a tuple: all value would show of them), for the kernel alone."""
    final = plan.final
    return (
        plan.shown_only
        and plan.show_with == SHOW_WRITE
        and final is not None
        and final.call is not None
        and _PRINT_CALLS.fullmatch(final.call) is not None
        and "fmt" not in package_names  # no declaration of the session's named fmt
        and all(i.path == "fmt" for i in plan.imports.values() if i.name == "fmt")
    )


def emit_tests(plan: Plan, std: StdIndex, drop: frozenset[str], tests: set[str]) -> Emitted:
    """A test run: the program's declarations in main.go (with an empty main),
    and the test functions of `tests` (cell labels) in the test file."""
    plan = replace(plan, body=[], main=None, final=None)
    program = emit(plan, std, False, drop)
    suite = emit(plan, std, False, drop, tests=tests)
    table = dict(program.table)
    merge(table, suite.table)  # a cell's lines may be in both files
    notes = list(dict.fromkeys(program.notes + suite.notes))
    return Emitted({**program.files, **suite.files}, table, notes)


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
    for name in plan.exports:
        out.add(f'\t{EXPORT}("{name}", {name})')
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
