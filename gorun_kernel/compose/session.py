"""The session store: the declarations and imports snippets made in one session.

The session keeps every declaration a snippet made, keyed by name (methods by
`Type.Method`). A later declaration of a name replaces the earlier one wherever
it was made; in a multi-name declaration (`var a, b = f()`, a const group
with iota) only that name is replaced by `_`, so the rest keeps its meaning
and nothing is declared twice. A cell's statements become `main` for that run.

A cell is planned against the store (plan.py) and its plan committed here once
the program built and started (engine.py). Composing the program from a plan
is emit.py's job: it needs no session.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from gorun_kernel.compose.decls import Decl, Import, Plan
from gorun_kernel.compose.parse import Cell
from gorun_kernel.compose.plan import plan_cell
from gorun_kernel.compose.stdlib import StdIndex


class Listed(NamedTuple):
    """One row of %list: a declared name or an import."""

    name: str
    kind: str  # "import", "func", "var", ...
    cell: str  # the label of the cell that made it


class Session:
    """The declarations and imports that snippets made in one session."""

    def __init__(self) -> None:
        self.decls: dict[str, Decl] = {}
        self.imports: dict[str, Import] = {}
        self.cells = 0  # snippet cells run, for default labels

    def reset(self) -> None:
        self.decls.clear()
        self.imports.clear()

    def listing(self) -> list[Listed]:
        """Every declared name and import, in order."""
        rows = [
            Listed(i.name if i.alias != "_" else f"_ {i.path}", "import", i.cell)
            for i in self.imports.values()
        ]
        for d in self.decls.values():
            rows.extend(Listed(n, d.kind, d.cell) for n in d.names if n)
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
        return plan_cell(
            self.decls,
            self.imports,
            cell,
            code,
            first_line=first_line,
            label=label,
            owner=owner or f"{label} run {self.cells}",
            std=std,
            test_cell=test_cell,
        )


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
