"""help/brackets.py and is_complete (jupyter console's continuation lines), pure."""

from __future__ import annotations

import pytest

from gorun_kernel.help import brackets
from gorun_kernel.help.untyped import INDENT, is_complete


@pytest.mark.parametrize(
    ("code", "status", "indent"),
    [
        ("fmt.Println(1)", "complete", None),
        ("func f() {", "incomplete", INDENT),
        ("func f() {\n\tif true {", "incomplete", INDENT * 2),
        ("x := `raw", "incomplete", ""),
        ("/* a comment", "incomplete", ""),
        ("x := 1 +", "incomplete", INDENT),
        ("ok := a &&", "incomplete", INDENT),
        ("ch <-", "incomplete", INDENT),
        ("x++", "complete", None),
        ("x--", "complete", None),
        ('s := "{"', "complete", None),  # a bracket in a string is no bracket
        ("r := '('", "complete", None),
        ("x := 1 // {", "complete", None),
        ("}", "invalid", None),
        ('s := "no end', "invalid", None),  # strings end on their own line
        ("f(]", "invalid", None),
        ("%%gorun --timeout 5s\nfmt.Println(1)", "complete", None),
        ("fmt.Println(1)\n!ls -", "complete", None),  # a shell line is no Go
    ],
)
def test_is_complete(code, status, indent):
    reply = is_complete(code)
    assert reply["status"] == status
    if indent is not None:
        assert reply["indent"] == indent


def test_the_scan_strips_comments_and_strings_and_keeps_the_open_brackets():
    found = brackets.scan("f(a, \"x)\", `y\n(`, /* ( */ '[', [")
    assert found.problem is None
    assert found.stack == ["(", "["]
    assert "x)" not in found.stripped and "y" not in found.stripped


def test_an_escaped_quote_does_not_end_a_string():
    assert brackets.scan('s := "a\\"(" + f(').stack == ["("]
