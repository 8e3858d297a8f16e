"""What every benchmark script does with its table at the end."""

from __future__ import annotations

from pathlib import Path


def report(lines: list[str], out: str | Path | None) -> str:
    """Print the table's lines (Markdown) and, with --out, write them to that file."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)
    return text
