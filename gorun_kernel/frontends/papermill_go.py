"""papermill parameters for Go notebooks: `papermill -p n 5 -p name Ada in.ipynb out.ipynb`.

papermill injects a cell after the one tagged `parameters`, written by the
translator registered for the notebook's kernel name or language; this one
writes Go declarations (`var n = 5`), which replace the parameters cell's own
in the session (a later declaration of a name replaces the earlier one).

Loading this module registers the translator; papermill loads it through the
`gorun` engine entry point (papermill_engine.py), papermill having no entry
point group for translators.
"""

from __future__ import annotations

from typing import Any

import tree_sitter_go
from papermill.exceptions import PapermillException
from papermill.models import Parameter
from papermill.translators import Translator, papermill_translators
from tree_sitter import Language, Node, Parser

from gorun_kernel.compose import goliteral

# The type a literal gives a `var name = literal` without a type.
_LITERAL_TYPES = {
    "int_literal": "int",
    "float_literal": "float64",
    "imaginary_literal": "complex128",
    "rune_literal": "rune",
    "interpreted_string_literal": "string",
    "raw_string_literal": "string",
    "true": "bool",
    "false": "bool",
}


class GoTranslator(Translator):
    """Python values as Go `var` declarations; parameters read from `var` lines."""

    @classmethod
    def translate(cls, val: Any) -> str:
        try:
            return goliteral.literal(val).text
        except goliteral.GoLiteralError as e:
            raise PapermillException(f"cannot pass this value to Go: {e}") from None

    @classmethod
    def comment(cls, cmt_str: str) -> str:
        return f"// {cmt_str}".strip()

    @classmethod
    def codify(cls, parameters: dict[str, Any], comment: str = "Parameters") -> str:
        lines = [cls.comment(comment)]
        try:
            lines += [goliteral.declaration(name, value) for name, value in parameters.items()]
        except goliteral.GoLiteralError as e:
            raise PapermillException(f"cannot pass this parameter to Go: {e}") from None
        return "\n".join(lines) + "\n"

    @classmethod
    def inspect(cls, parameters_cell: Any) -> list[Parameter]:
        """The cell's package-level `var`s: name, type, default, and the comment after it."""
        src = parameters_cell["source"].encode()
        params = []
        tree = Parser(Language(tree_sitter_go.language())).parse(src)
        for decl in tree.root_node.named_children:
            if decl.type == "var_declaration":
                for spec in _specs(decl):
                    params += _parameters(spec, decl, src)
        return params


def _specs(decl: Node) -> list[Node]:
    """`var x = 1` has one spec; `var ( ... )` a list of them."""
    specs = []
    for child in decl.named_children:
        if child.type == "var_spec":
            specs.append(child)
        elif child.type == "var_spec_list":
            specs += [s for s in child.named_children if s.type == "var_spec"]
    return specs


def _parameters(spec: Node, decl: Node, src: bytes) -> list[Parameter]:
    def text(node: Node) -> str:
        return src[node.start_byte : node.end_byte].decode()

    after = spec.next_named_sibling or decl.next_named_sibling
    help_text = ""
    if after is not None and after.type == "comment" and after.start_point[0] == spec.end_point[0]:
        help_text = text(after).removeprefix("//").strip()  # `var n = 3 // how many`
    declared = spec.child_by_field_name("type")
    values = spec.child_by_field_name("value")
    exprs = values.named_children if values is not None else []
    params = []
    for i, name in enumerate(spec.children_by_field_name("name")):
        expr = exprs[i] if i < len(exprs) else None
        if declared is not None:
            type_name = text(declared)
        elif expr is not None and expr.type == "composite_literal":
            type_name = text(expr.child_by_field_name("type"))
        else:
            type_name = _LITERAL_TYPES.get(expr.type if expr else "", "None")  # papermill: unknown
        default = text(expr) if expr is not None else "(the zero value)"
        params.append(Parameter(text(name), type_name, default, help_text))
    return params


# Loading this module (papermill does, at start-up) registers the translator: for
# this kernel by name, and for other Go kernels by language.
papermill_translators.register("gorun", GoTranslator)
papermill_translators.register("go", GoTranslator)
