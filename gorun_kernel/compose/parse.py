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
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

import tree_sitter_go
from tree_sitter import Language, Node, Parser, Tree

from gorun_kernel.errors import CellError

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
    receive: bool = False  # an expression statement that is a receive (`<-done`)
    # Every identifier it refers to (not fields, not names inside other packages),
    # so that the session can tell which declarations use a name.
    idents: set[str] = field(default_factory=set)
    # `p := fmt.Println`, `var p = fmt.Println`: name -> the function it names.
    binds: dict[str, str] = field(default_factory=dict)
    signature: str = ""  # a func or method: its text up to the body
    # import "C": the comment just above it (cgo's preamble), and its first row.
    preamble: str = ""
    preamble_row: int = 0

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
    foreign: set[int] = set()  # `Builder` in strings.Builder is not one of ours
    for n in _walk(node):
        if n.type in ("identifier", "type_identifier") and n.start_byte not in foreign:
            item.idents.add(_text(src, n))
        if n.type == "selector_expression":
            operand, fld = n.child_by_field_name("operand"), n.child_by_field_name("field")
            if operand is not None and fld is not None and operand.type == "identifier":
                item.uses.setdefault(_text(src, operand), set()).add(_text(src, fld))
        elif n.type == "qualified_type":
            pkg, name = n.child_by_field_name("package"), n.child_by_field_name("name")
            if pkg is not None and name is not None:
                item.uses.setdefault(_text(src, pkg), set()).add(_text(src, name))
                foreign.add(name.start_byte)
                item.idents.add(_text(src, pkg))
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
# What a cell may hold. tree-sitter holds the GIL and cannot be interrupted:
# its time must stay short. It reads about 1 MB a second of the worst text
# found (and grows faster than linearly with nesting: 50,000 `x(` took 0.9 s,
# our own code 20 s for 200,000 `(`), so a cell is at most 1 MiB, nested at
# most 1,000 deep (Go's own parser stops at 10,000), before it is parsed,
# and has at most 50,000 top-level items after. Real cells stay far below.
MAX_CELL_BYTES = 1 << 20
MAX_NESTING = 1000
MAX_ITEMS = 50_000
_BRACKETS = re.compile(r"[()\[\]{}]")


def check_size(code: str, first_line: int = 1) -> None:
    """Refuse, quickly and before parsing, a cell too large or too deeply nested."""
    size = len(code.encode("utf-8", errors="replace"))
    if size > MAX_CELL_BYTES:
        raise CellError(
            f"the cell is {size:,} bytes: gorun reads cells of up to {MAX_CELL_BYTES:,} "
            "(put large data in a file the program reads, or run a package with %gorun)"
        )
    depth = 0
    for m in _BRACKETS.finditer(code):
        depth += 1 if m.group() in "([{" else -1
        if depth > MAX_NESTING:
            line = first_line + code.count("\n", 0, m.start())
            raise CellError(
                f"line {line}: brackets nested more than {MAX_NESTING} deep; "
                "gorun does not read a cell nested this deep"
            )


class _Columns:
    """Character columns of byte offsets, for offsets that only increase: linear
    over a cell, even when it is one long line."""

    def __init__(self, src: bytes) -> None:
        self.src = src
        self.line_start = 0
        self.offset = 0  # the last offset asked about
        self.col = 0  # its column

    def __call__(self, offset: int) -> int:
        line_start = self.src.rfind(b"\n", 0, offset) + 1
        if line_start != self.line_start or offset < self.offset:
            self.line_start, self.offset, self.col = line_start, line_start, 0
        self.col += len(self.src[self.offset : offset].decode("utf-8", errors="replace"))
        self.offset = offset
        return self.col


def _tree(src: bytes) -> Tree:
    tree = _parser().parse(src)
    if tree.root_node.child_count > MAX_ITEMS:
        raise CellError(
            f"the cell has more than {MAX_ITEMS:,} statements and declarations: "
            "gorun does not read cells this large"
        )
    return tree


def _imports(node: Node, src: bytes, item: Item, doc: Node | None) -> None:
    """The specs of an import declaration; for import "C", cgo's preamble above it.

    doc: the first comment attached above the declaration, if any."""
    for spec in (n for n in _walk(node) if n.type == "import_spec"):
        path = spec.child_by_field_name("path")
        alias = spec.child_by_field_name("name")
        if path is None:
            continue
        name = _text(src, alias) if alias is not None else None
        item.imports.append((name, _text(src, path)[1:-1], spec.start_point.row))
        if _text(src, path)[1:-1] != "C":
            continue
        # The comment just above the spec (in a group), or above a lone import "C".
        above: list[Node] = []
        prev = spec.prev_sibling
        while prev is not None and prev.type == "comment":
            next_row = above[0].start_point.row if above else spec.start_point.row
            if prev.end_point.row + 1 < next_row:
                break
            above.insert(0, prev)
            prev = prev.prev_sibling
        if not above and doc is not None and spec.parent == node:
            above = [doc]
            end = node.start_byte
        else:
            end = above[-1].end_byte if above else 0
        if above:
            item.preamble = src[above[0].start_byte : end].decode("utf-8", errors="replace")
            item.preamble = item.preamble.rstrip()
            item.preamble_row = above[0].start_point.row
    if any(not p for _, p, _ in item.imports):
        item.kind, item.imports = "stmt", []  # `import ""`: for the compiler to judge


def _binds(node: Node, src: bytes, item: Item) -> None:
    """`p := fmt.Println` or `var p = fmt.Println`: p names that function."""
    if node.type == "var_declaration":
        specs = [c for c in node.children if c.type == "var_spec"]
        if len(specs) != 1:
            return
        names, values = _children(specs[0], "name"), specs[0].child_by_field_name("value")
    elif node.type == "short_var_declaration":
        left, values = node.child_by_field_name("left"), node.child_by_field_name("right")
        names = left.named_children if left is not None else []
    else:
        return
    exprs = values.named_children if values is not None else []
    if (
        len(names) == 1
        and len(exprs) == 1
        and exprs[0].type in ("selector_expression", "identifier")
    ):
        item.binds[_text(src, names[0])] = _text(src, exprs[0])


def parse_cell(code: str) -> Cell:
    check_size(code)
    # A statement needs its terminator: without a final newline tree-sitter
    # reads `f(x)` at the very end as an error, `fmt.Println(x)` as a conversion.
    src = (code + "\n").encode()
    tree = _tree(src)
    column = _Columns(src)
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
        text = src[begin : node.end_byte].decode("utf-8", errors="replace")
        item = Item(kind=kind, text=text, row=start.start_point.row, col=column(begin))
        _uses_and_declares(node, src, item)
        _binds(node, src, item)
        if kind == "import":
            _imports(node, src, item, start if start is not node else None)
        elif kind in ("func", "method"):
            name = node.child_by_field_name("name")
            if name is not None:
                n = _text(src, name)
                item.names = [f"{_receiver_type(node, src)}.{n}" if kind == "method" else n]
                item.name_spans = [(name.start_byte, name.end_byte)]
            body = node.child_by_field_name("body")
            end = body.start_byte if body is not None else node.end_byte
            item.signature = src[begin:end].decode("utf-8", errors="replace").rstrip()
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
            elif expr is not None and expr.type == "unary_expression":
                item.receive = _text(src, expr).startswith("<-")
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
    they reach the compiler, which says what is wrong at that line.

    Linear: a run of items on one line is joined once, at its end."""
    lines = src.split(b"\n")
    semicolon: dict[int, int] = {}  # row -> column of its first `;` (computed once)

    def first_semicolon(row: int) -> int:
        if row not in semicolon:
            line = lines[row].decode("utf-8", errors="replace") if row < len(lines) else ""
            semicolon[row] = line.find(";") if ";" in line else len(line) + 1
        return semicolon[row]

    out: list[Item] = []
    run: list[Item] = []  # items to join into out[-1]
    end_row = -1  # the row where out[-1] (with its run) ends

    def flush() -> None:
        if run:
            first = out[-1]
            joined = Item(
                kind="stmt",
                text=" ".join([first.text, *(i.text for i in run)]),
                row=first.row,
                col=first.col,
            )
            for part in (first, *run):
                joined.declares |= part.declares
                for x, sels in part.uses.items():
                    joined.uses.setdefault(x, set()).update(sels)
            out[-1] = joined
            run.clear()

    for item in items:
        if out and item.row == end_row and first_semicolon(item.row) >= item.col:
            run.append(item)
        else:
            flush()
            out.append(item)
        end_row = item.row + item.text.count("\n")
    flush()
    return out
