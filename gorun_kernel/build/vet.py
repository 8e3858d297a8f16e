"""go vet on a cell, alongside its build: `--vet` for one cell, `%vet on` for the session.

The Go Playground vets every program before running it. Here vet is asked
for, and it costs little: it starts as soon as the cell's files are written
and runs while go builds them, in a thread of its own with its own Control
(so the session's interrupt reaches the build, and the build's end stops
vet). Its findings about the cell's own lines are shown above the program's
output, at cell lines, as build errors are. An unchanged cell's findings are
remembered with its binary's cache key, so a re-run starts no go command.

vet reads go.mod without changing it (-mod=readonly): the build, which runs
at the same time, is the one that adds a module a cell imports for the first
time; when it did, vet runs again after it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from gorun_kernel import diagnostics
from gorun_kernel.build.gobuild import Builder, flag_names
from gorun_kernel.diagnostics import LineTable
from gorun_kernel.errors import GorunError
from gorun_kernel.proc.control import Control

_MEMORY = 512  # findings remembered, by cache key


class VetRun:
    """One `go vet` of the files written in cwd (the build's packages), in a thread of its own."""

    def __init__(
        self,
        builder: Builder,
        cwd: str,
        flags: list[str],
        env: Mapping[str, str],
        packages: list[str] | None = None,
    ) -> None:
        self.builder = builder
        self.cwd = cwd
        self.args = ["vet", "-mod=readonly", *_vet_flags(flags), "--", *(packages or ["."])]
        self.env = env
        self.control = Control()
        self.result: tuple[int, str] | None = None
        self.thread = threading.Thread(target=self._run, name="gorun-vet", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.builder.go(self.args, self.cwd, self.env, control=self.control)
        except GorunError as e:  # interrupted, or go could not start
            self.result = (-1, e.message)

    def stop(self) -> None:
        """The build failed or was interrupted: vet's findings are not wanted."""
        self.control.interrupt()
        self.thread.join()
        self.control.close()

    def wait(self) -> tuple[int, str]:
        self.thread.join()
        self.control.close()
        assert self.result is not None
        return self.result

    def again(self) -> tuple[int, str]:
        """Run vet once more, in this thread (go.mod changed under it)."""
        self.control = Control()
        self._run()
        self.control.close()
        assert self.result is not None
        return self.result


def findings(code: int, output: str, table: LineTable, roots: list[str]) -> list[str]:
    """vet's findings about the cell's own lines, as lines to show.

    Findings about earlier cells' code are left out (they were vetted with
    their cell); a vet that failed without a finding says what went wrong.
    """
    diags = diagnostics.map_output(output, table, roots)
    own = [d for d in diags if d.headline.startswith("line ")]
    if code != 0 and not any(d.quote for d in diags):
        own = [d for d in diags if not d.headline.startswith("# ")]
    return [
        f"go vet: {line}" if i == 0 else line
        for d in own
        for i, line in enumerate([d.headline, *d.quote])
    ]


class VetMemory:
    """Findings by the cache key of the build they go with."""

    def __init__(self) -> None:
        self.known: dict[str, list[str]] = {}

    def get(self, key: str | None) -> list[str] | None:
        return self.known.get(key) if key is not None else None

    def put(self, key: str | None, lines: list[str]) -> None:
        if key is None:
            return
        if len(self.known) >= _MEMORY:
            self.known.pop(next(iter(self.known)))
        self.known[key] = lines


def _vet_flags(flags: list[str]) -> list[str]:
    """The build flags that change what vet sees: build tags."""
    names = flag_names(flags)
    return [f for f in flags if f.startswith("-tags")] if "tags" in names else []
