"""How outcomes look in a notebook; shared by the magic and the kernel."""

from __future__ import annotations

import html

from .errors import GorunError


def status_bundle(status: str) -> dict[str, str]:
    """The quiet one-line status of a successful run, as a MIME bundle."""
    return {
        "text/plain": status,
        "text/html": f'<pre style="margin:0;color:#888">{html.escape(status)}</pre>',
    }


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


def removed(before: list[tuple[str, str, str]], after: list[tuple[str, str, str]]) -> str:
    """What a %rm took away: each declaration gone between the two listings."""
    gone = [row for row in before if row not in after]
    return "\n".join(f"removed {name} ({kind}, cell {cell})" for name, kind, cell in gone)
