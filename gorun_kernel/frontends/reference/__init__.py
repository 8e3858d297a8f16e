"""The reference of the kernel and the magic: one text, in Markdown files shipped with the package.

`%help` prints `page("kernel")`, `%%gorun?` and `%%gotest?` show `page("magic")`;
the documentation site includes the same pages (dev/mkdocs_hooks.py),
so what a user reads in the notebook and on the site cannot drift. The parts:

    kernel.md   cell forms; the lines at the top of a kernel cell (%goflags, %env...)
    magic.md    the magics (%%gorun, %gorun, %%gotest, %gotest, %gorun_list...)
    options.md  go build flags and gorun's --options, shared by both front-ends
    gotest.md   go test's flags in a test cell

Markdown is what a notebook renders (text/markdown); `plain` turns it into the
text/plain fallback for consoles and docstrings: headings as lines, tables as two
aligned columns, no backquotes.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

HERE = Path(__file__).parent
PAGES = {
    "kernel": ("kernel", "options", "gotest"),
    "magic": ("magic", "options", "gotest"),
}
WIDTH = 80  # of the plain text
KEY_WIDTH = 20  # the plain text's first column; a longer key puts its meaning below it


def part(name: str) -> str:
    """One Markdown file of the reference."""
    return (HERE / f"{name}.md").read_text(encoding="utf-8")


def page(name: str) -> str:
    """A front-end's whole reference, in Markdown: its parts, one after the other."""
    return "\n".join(part(p) for p in PAGES[name])


def bundle(name: str) -> dict[str, str]:
    """The page as a MIME bundle: Markdown for notebooks, plain text for the rest."""
    markdown = page(name)
    return {"text/markdown": markdown, "text/plain": plain(markdown)}


def _cells(row: str) -> list[str]:
    """A Markdown table row's cells (`\\|` is a pipe inside a cell)."""
    cells = re.split(r"(?<!\\)\|", row.strip().strip("|"))
    return [_inline(c.strip().replace("\\|", "|")) for c in cells]


def _inline(text: str) -> str:
    return text.replace("`", "").replace("**", "")


def _row(key: str, meaning: str) -> list[str]:
    indent = " " * (KEY_WIDTH + 3)
    if len(key) > KEY_WIDTH:
        return [
            f"  {key}",
            *textwrap.wrap(meaning, WIDTH, initial_indent=indent, subsequent_indent=indent),
        ]
    lines = textwrap.wrap(meaning, WIDTH - len(indent)) or [""]
    first = f"  {key.ljust(KEY_WIDTH)} {lines[0]}"
    return [first, *(indent + line for line in lines[1:])]


def plain(markdown: str) -> str:
    """The text/plain form of reference Markdown."""
    out: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            hang = "  " if paragraph[0].startswith("- ") else ""  # a list item's later lines
            text = _inline(" ".join(paragraph))
            out.extend(textwrap.wrap(text, WIDTH, subsequent_indent=hang))
            paragraph.clear()

    table_header = False
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            flush()
            if set(stripped) <= set("|- "):
                continue  # the header's rule
            if not table_header:  # the header itself: the columns' names are not needed
                table_header = True
                continue
            key, meaning = _cells(stripped)[:2]
            out.extend(_row(key, meaning))
            continue
        table_header = False
        if stripped.startswith("#"):
            flush()
            if out and out[-1]:
                out.append("")
            out.append(_inline(stripped.lstrip("#").strip()))
        elif stripped.startswith("- "):
            flush()
            paragraph.append(stripped)
        elif not stripped:
            flush()
            if out and out[-1]:
                out.append("")
        else:
            paragraph.append(stripped)
    flush()
    return "\n".join(out).strip() + "\n"
