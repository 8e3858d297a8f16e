"""Go text's brackets, outside comments, strings and runes: one scanner for two users.

jupyter console asks whether a line is complete (assist.is_complete), and help
while typing closes what a half-typed cell left open (helpsource.repair). Both
need the same reading of Go's lexical rules: `//` and `/* */` comments, raw
strings that may span lines, interpreted strings and runes that end on their
own line (a backslash escapes the next character).
"""

from __future__ import annotations

from dataclasses import dataclass, field

CLOSER = {"(": ")", "[": "]", "{": "}"}
_OPENER = {v: k for k, v in CLOSER.items()}


@dataclass
class Scan:
    stack: list[str] = field(default_factory=list)  # the brackets left open, innermost last
    stripped: str = ""  # the text without comments, each string or rune shortened to ""
    # What stopped the scan: "comment" or "raw string" left open (more lines may end
    # it), "string" not ended on its line, or "bracket" closing the wrong one.
    problem: str | None = None


def scan(text: str) -> Scan:
    """Read text to its end, or to its first problem."""
    found = Scan()
    out: list[str] = []
    i, n = 0, len(text)
    while i < n and found.problem is None:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            found.problem = "comment" if end < 0 else None
            out.append(" ")
            i = end + 2
        elif c in "`\"'":
            i = _past_string(text, i, found)
            out.append('""')
        else:
            if c in CLOSER:
                found.stack.append(c)
            elif c in _OPENER:
                if not found.stack or found.stack[-1] != _OPENER[c]:
                    found.problem = "bracket"
                else:
                    found.stack.pop()
            out.append(c)
            i += 1
    found.stripped = "".join(out)
    return found


def _past_string(text: str, i: int, found: Scan) -> int:
    """Where the string or rune starting at i ends (just past it); a problem if it does not."""
    c = text[i]
    if c == "`":
        end = text.find("`", i + 1)
        if end < 0:
            found.problem = "raw string"
        return end + 1
    j, n = i + 1, len(text)
    while j < n and text[j] not in (c, "\n"):
        j += 2 if text[j] == "\\" else 1
    if j >= n or text[j] != c:
        found.problem = "string"
    return j + 1
