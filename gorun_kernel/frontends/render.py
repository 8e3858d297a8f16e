"""How outcomes look in a notebook; shared by the magic and the kernel."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from gorun_kernel.errors import GorunError

if TYPE_CHECKING:
    from gorun_kernel.engine import Forgotten

# The status line as HTML, quiet and in line with the program's output above it.
# JupyterLab indents stream text by 1ch of the code font (13px) and renders an HTML
# <pre> at the content font size (14px) with no indent: match the stream's font size
# and indent, in the theme's secondary text colour (light and dark themes alike).
# Each property is given twice: first in values JupyterLab's sanitizer keeps (a
# saved notebook opened untrusted keeps only those), then in the exact form (theme
# variables, `ch`), which wins wherever the output is trusted. A front-end without
# JupyterLab's variables gets the fallback grey.
_STATUS_STYLE = ";".join(
    [
        "margin:0",
        "padding-left:0.6em",
        "padding-left:1ch",
        "font-size:13px",
        "font-size:var(--jp-code-font-size,inherit)",
        "color:#888",
        "color:var(--jp-content-font-color2,#888)",
    ]
)


def status_bundle(status: str) -> dict[str, str]:
    """The quiet one-line status of a successful run, as a MIME bundle."""
    return {
        "text/plain": status,
        "text/html": f'<pre style="{_STATUS_STYLE}">{html.escape(status)}</pre>',
    }


def progress_bundle(text: str) -> dict[str, str]:
    """A line about work under way (`building… 3.1 s`), shown as quietly as the status;
    "" (the work is over) draws nothing: the line is gone."""
    return status_bundle(text) if text else {"text/plain": ""}


def traceback_lines(error: GorunError) -> list[str]:
    """The error as traceback lines: a red headline, then the details."""
    _, *rest = error.render()
    return [f"\x1b[0;31m{error.ename}\x1b[0m: {error.message}", *rest]


def listing(rows: list[tuple[str, str, str]]) -> str:
    """The session's declarations as an aligned table: name, kind, cell."""
    if not rows:
        return "no declarations in this session"
    width = max(len(name) for name, _, _ in rows)
    return "\n".join(f"{name:<{width}}  {kind:<6}  cell {cell}" for name, kind, cell in rows)


def forgotten(what: Forgotten) -> str:
    """What a %reset forgot, in the user's terms: `forgot 5 declarations and 2 imports`."""
    counts = [
        (what.declarations, "declaration"),
        (what.imports, "import"),
        (what.values, "kept value"),
    ]
    parts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts if n]
    text = "forgot " + _joined(parts) if parts else "nothing to forget"
    if what.go_mod:
        text += "; the modules fetched are forgotten too (go.mod is back to its start)"
    return text


def _joined(parts: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def removed(before: list[tuple[str, str, str]], after: list[tuple[str, str, str]]) -> str:
    """What a %rm took away: each declaration gone between the two listings."""
    gone = [row for row in before if row not in after]
    return "\n".join(f"removed {name} ({kind}, cell {cell})" for name, kind, cell in gone)
