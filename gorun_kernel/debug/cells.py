"""Cells as source files JupyterLab can name: the names are murmur2 hashes of the code.

JupyterLab's debugger does not ask the kernel where a cell's code lives: it
computes the path itself, `tmpFilePrefix + murmur2(code, hashSeed) +
tmpFileSuffix`, with the hash method, seed, prefix and suffix the kernel gave
in its debugInfo reply, and sets breakpoints on that path. `dumpCell` writes the
code there (so a frontend can show it), as ipykernel's debugger does; the hash
is ipykernel's (the code's UTF-8 bytes, murmur2 32-bit).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

HASH_METHOD = "Murmur2"
HASH_SEED = 0xC70F6907  # ipykernel's seed: any fixed value works, the frontend is told it
SUFFIX = ".go"


def murmur2(text: str, seed: int = HASH_SEED) -> int:
    """MurmurHash2, 32-bit, of the UTF-8 bytes of text (JupyterLab's and ipykernel's)."""
    data = text.encode("utf-8")
    m = 0x5BD1E995
    length = len(data)
    h = (seed ^ length) & 0xFFFFFFFF
    end = length & ~3
    for i in range(0, end, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length & 3
    if rest:
        k = 0
        if rest == 3:
            k |= data[end + 2] << 16
        if rest >= 2:
            k |= data[end + 1] << 8
        k |= data[end]
        h ^= k
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


class CellFiles:
    """Where this kernel's cells are dumped: a directory of the kernel's own."""

    def __init__(self, root: Path | None = None) -> None:
        base = Path(tempfile.gettempdir()) if root is None else root
        self.dir = base / f"gorun_kernel_{os.getpid()}"

    @property
    def prefix(self) -> str:
        return str(self.dir) + os.sep

    def path(self, code: str) -> str:
        """The path JupyterLab computes for a cell of this code."""
        return f"{self.prefix}{murmur2(code)}{SUFFIX}"

    def dump(self, code: str) -> str:
        path = self.path(code)
        self.dir.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(code, encoding="utf-8")
        return path
