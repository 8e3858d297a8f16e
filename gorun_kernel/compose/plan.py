"""The planner: a snippet cell applied to a copy of the session's declarations.

A plan is made from a cell without touching the session; the engine commits it
only once the program built and got past its initialization (its main calls
STARTED first), so a cell that fails to build, or whose initializer panics,
changes nothing.
"""

from __future__ import annotations

from gorun_kernel.compose.decls import Decl, Import, Plan, import_name, is_init, role_of
from gorun_kernel.compose.final import final_value
from gorun_kernel.compose.parse import Cell, Item
from gorun_kernel.compose.stdlib import StdIndex
from gorun_kernel.diagnostics import Origin
from gorun_kernel.errors import CellError


def plan_cell(
    decls: dict[str, Decl],
    imports: dict[str, Import],
    cell: Cell,
    code: str,
    *,
    first_line: int,
    label: str,
    owner: str,
    std: StdIndex,
    test_cell: bool = False,
) -> Plan:
    """The declarations and imports as they would be after this cell (over the
    session's `decls` and `imports`, which stay untouched), and what its main runs."""
    planner = _Planner(decls, imports, code.split("\n"), first_line, label, owner, std, test_cell)
    for item in cell.items:
        planner.add(item)
    return planner.finish()


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
        self,
        decls: dict[str, Decl],
        imports: dict[str, Import],
        lines: list[str],
        first_line: int,
        label: str,
        owner: str,
        std: StdIndex,
        test_cell: bool,
    ) -> None:
        self.lines = lines
        self.first_line = first_line
        self.label = label
        self.owner = owner
        self.std = std
        self.test_cell = test_cell
        # The inits this cell made when it ran before are replaced by its new ones.
        self.decls = {k: d for k, d in decls.items() if not (is_init(d) and d.owner == owner)}
        self.imports = dict(imports)
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
            key=item.key,
            kind=item.kind,
            names=list(item.names),
            text=item.text,
            name_spans=list(item.name_spans),
            cell=self.label,
            first_line=self.first_line + row,
            col=item.col,
            lines=self.lines[row : row + item.text.count("\n") + 1],
            uses=item.uses,
            declares=item.declares,
            idents=item.idents,
            binds=item.binds,
            signature=item.signature,
            owner=self.owner,
            role=role_of(item, self.test_cell),
        )
        if item.kind == "func" and item.names == ["main"]:
            if self.main is not None:
                raise CellError(
                    f"line {decl.first_line}: main redeclared in this cell "
                    f"(the first func main is at line {self.main.first_line})",
                    [f"    {decl.lines[0]}"],
                )
            self.main = decl  # runs this cell; never kept
            return
        if not is_init(decl):  # Go allows many inits: none replaces another by name
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
            decls=self.decls,
            imports=self.imports,
            body=body,
            body_lines=self.lines,
            first_line=fl,
            label=self.label,
            main=self.main,
            final=final,
            show_with=show_with,
            made=made,
            imported=imported,
        )
