"""Reading a cell with tree-sitter's Go grammar.

tree-sitter-go accepts statements at the top level of a file, which is exactly
what a snippet cell is: declarations mixed with statements. It also recovers
from syntax errors, so a broken cell still splits into items; the Go compiler,
not this module, says what is wrong with them.

The result is a list of `Item`s in source order: imports, declarations (with
the names they declare, and the comments and directives just above them) and
statements, each with the identifiers it uses as `pkg.Name` (for imports) and
the ones it declares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

import tree_sitter_go
from tree_sitter import Language, Node, Parser

# Nodes whose "name" children declare identifiers (locals, parameters, ...).
_NAME_DECLARERS = {
    "var_spec",
    "const_spec",
    "parameter_declaration",
    "variadic_parameter_declaration",
    "type_parameter_declaration",
    "type_spec",
    "type_alias",
    "function_declaration",
    "labeled_statement",
}


@dataclass
class Item:
    """One top-level element of a cell."""

    kind: str  # "import", "func", "method", "type", "var", "const", "stmt"
    text: str  # its source (a declaration: with the comments just above it)
    row: int  # 0-based row of the cell where text starts
    col: int  # column (characters) where text starts on that row
    names: list[str] = field(default_factory=list)  # package-level names declared
    name_spans: list[tuple[int, int]] = field(default_factory=list)  # in text, per name
    # (alias, path, row of the spec in the cell)
    imports: list[tuple[str | None, str, int]] = field(default_factory=list)
    uses: dict[str, set[str]] = field(default_factory=dict)  # X -> {Sel} for X.Sel
    declares: set[str] = field(default_factory=set)  # identifiers declared inside
    expression: bool = False  # an expression statement (a candidate final value)
    call: str | None = None  # for an expression statement that is a call: its callee

    @property
    def key(self) -> str:
        """The session key: a redefinition with the same key replaces this item."""
        if self.kind == "method":
            return f"method {self.names[0]}"
        if (self.kind == "func" and self.names == ["init"]) or not self.names:
            # Go allows many inits and blank declarations (`var _ I = T{}`):
            # none replaces another; the same text is the same declaration.
            return f"{self.kind} {hashlib.sha256(self.text.encode()).hexdigest()[:16]}"
        return f"{self.kind} {' '.join(self.names)}"


@dataclass
class Cell:
    package: str | None  # the package clause's name, if the cell has one
    items: list[Item]


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_go.language()))


def _text(src: bytes, node: Node) -> str:
    return src[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _children(node: Node, name: str) -> list[Node]:
    return [c for c in node.children_by_field_name(name) if c is not None]


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _uses_and_declares(node: Node, src: bytes, item: Item) -> None:
    for n in _walk(node):
        if n.type == "selector_expression":
            operand, fld = n.child_by_field_name("operand"), n.child_by_field_name("field")
            if operand is not None and fld is not None and operand.type == "identifier":
                item.uses.setdefault(_text(src, operand), set()).add(_text(src, fld))
        elif n.type == "qualified_type":
            pkg, name = n.child_by_field_name("package"), n.child_by_field_name("name")
            if pkg is not None and name is not None:
                item.uses.setdefault(_text(src, pkg), set()).add(_text(src, name))
        elif n.type in _NAME_DECLARERS:
            names = _children(n, "name") or _children(n, "label")
            item.declares.update(_text(src, c) for c in names if c.type != "blank_identifier")
        elif n.type in ("short_var_declaration", "range_clause"):
            left = n.child_by_field_name("left")
            if left is not None and (n.type == "short_var_declaration" or ":=" in _text(src, n)):
                item.declares.update(_text(src, c) for c in _walk(left) if c.type == "identifier")
        elif n.type == "type_switch_statement":
            item.declares.update(_text(src, c) for c in _children(n, "alias"))


def _receiver_type(node: Node, src: bytes) -> str:
    """`func (l *List[T]) Push` -> "List"."""
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return "?"
    for n in _walk(receiver):
        if n.type == "type_identifier":
            return _text(src, n)
    return "?"


def _declared_names(node: Node) -> list[Node]:
    """The package-level name nodes of a type/var/const declaration, however grouped.

    Only the declaration's own specs: a `var n` inside a function literal in
    an initialiser is local to it.
    """
    specs = ("type_spec", "type_alias", "var_spec", "const_spec")
    direct = [c for c in node.children if c.type in specs]
    for group in (c for c in node.children if c.type == "var_spec_list"):
        direct.extend(c for c in group.children if c.type in specs)
    return [name for spec in direct for name in _children(spec, "name")]


_KINDS = {
    "import_declaration": "import",
    "function_declaration": "func",
    "method_declaration": "method",
    "type_declaration": "type",
    "var_declaration": "var",
    "const_declaration": "const",
}


def parse_cell(code: str) -> Cell:
    # A statement needs its terminator: without a final newline tree-sitter
    # reads `f(x)` at the very end as an error, `fmt.Println(x)` as a conversion.
    src = (code + "\n").encode()
    tree = _parser().parse(src)
    package: str | None = None
    items: list[Item] = []
    comments: list[Node] = []  # comments waiting to be attached to the next declaration
    last_row = -1  # where the last item ended: a comment starting there trails it
    for node in tree.root_node.children:
        if node.type == "comment":
            if node.start_point.row == last_row:
                continue  # `var n = 3 // how many` documents its own line, not the next one
            if comments and comments[-1].end_point.row + 1 < node.start_point.row:
                comments = []  # a blank line separates it from the earlier ones
            comments.append(node)
            continue
        if node.type == ";":
            continue  # a separator, not a statement
        last_row = node.end_point.row
        if node.type == "package_clause":
            name = next((c for c in node.children if c.type == "package_identifier"), None)
            package = _text(src, name) if name is not None else ""
            comments = []
            continue
        kind = _KINDS.get(node.type, "stmt")
        if kind == "import" and node.has_error:
            kind = "stmt"  # a broken import, left as it is in main: the compiler reports it
        start = node
        if kind != "stmt" and comments and comments[-1].end_point.row + 1 >= node.start_point.row:
            start = comments[0]  # doc comments and //go: directives travel with the decl
        comments = []
        begin = start.start_byte
        line_start = src.rfind(b"\n", 0, begin) + 1
        item = Item(
            kind=kind,
            text=src[begin : node.end_byte].decode("utf-8", errors="replace"),
            row=start.start_point.row,
            col=len(src[line_start:begin].decode("utf-8", errors="replace")),
        )
        _uses_and_declares(node, src, item)
        if kind == "import":
            for spec in (n for n in _walk(node) if n.type == "import_spec"):
                path = spec.child_by_field_name("path")
                alias = spec.child_by_field_name("name")
                if path is not None:
                    name = _text(src, alias) if alias is not None else None
                    item.imports.append((name, _text(src, path)[1:-1], spec.start_point.row))
            if any(not p for _, p, _ in item.imports):
                item.kind, item.imports = "stmt", []  # `import ""`: for the compiler to judge
        elif kind in ("func", "method"):
            name = node.child_by_field_name("name")
            if name is not None:
                n = _text(src, name)
                item.names = [f"{_receiver_type(node, src)}.{n}" if kind == "method" else n]
                item.name_spans = [(name.start_byte, name.end_byte)]
        elif kind != "stmt":
            for name in _declared_names(node):
                if _text(src, name) != "_":  # the blank identifier declares nothing
                    item.names.append(_text(src, name))
                    item.name_spans.append((name.start_byte, name.end_byte))
        else:
            expr = node.children[0] if node.type == "expression_statement" else None
            item.expression = expr is not None
            if expr is not None and expr.type in ("call_expression", "type_conversion_expression"):
                fn = expr.child_by_field_name("function") or expr.child_by_field_name("type")
                item.call = _text(src, fn) if fn is not None else ""
        # Byte offsets in the cell -> character offsets in item.text.
        item.name_spans = [
            (
                len(src[begin:s].decode("utf-8", errors="replace")),
                len(src[begin:e].decode("utf-8", errors="replace")),
            )
            for s, e in item.name_spans
        ]
        items.append(item)
    return Cell(package=package, items=_join_same_line(items, src))


def _join_same_line(items: list[Item], src: bytes) -> list[Item]:
    """Two items on one line without a `;` between them are not Go (`import "a" "b"`):
    tree-sitter splits them anyway. Joined back into one statement, as written,
    they reach the compiler, which says what is wrong at that line."""
    lines = src.split(b"\n")
    out: list[Item] = []
    for item in items:
        if out:
            prev = out[-1]
            end_row = prev.row + prev.text.count("\n")
            line = (
                lines[item.row].decode("utf-8", errors="replace") if item.row < len(lines) else ""
            )
            if item.row == end_row and ";" not in line[: item.col]:
                joined = Item(kind="stmt", text=prev.text + " " + item.text, row=prev.row,
                              col=prev.col, declares=prev.declares | item.declares)  # fmt: skip
                for uses in (prev.uses, item.uses):
                    for x, sels in uses.items():
                        joined.uses.setdefault(x, set()).update(sels)
                out[-1] = joined
                continue
        out.append(item)
    return out
