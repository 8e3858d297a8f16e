"""A head start: an unchanged cell's program, started as its request arrives.

After a plain cell has run and succeeded, the kernel works out its next run in the
idle time after its idle status (`next_run`: the cell composed, the rerun memo asked,
nothing built). When the next execute_request is that same cell, `start` checks the
memo's stamps and the request again and starts the program before ipykernel handles
the request (frontends/kernel.py, from the adapter's shell_main); its output waits in
its pipes. The request then takes the usual way through the engine, and the runner
adopts the started process only if the run asks for exactly the same start
(run/runner.py: launch_key). `end`, once the request is over, ends a start no run
adopted. The program's start overlaps ipykernel's handling, compose and the memo's
second look (benchmarks/RERUN.md, session 7).

The session is held (the engine's `busy`) from a start to the request's end: no other
thread's cell (a subshell's) changes what the run composes and builds in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gorun_kernel import spans
from gorun_kernel.errors import GorunError
from gorun_kernel.outcome import Where

if TYPE_CHECKING:
    from gorun_kernel.cmdline import Command
    from gorun_kernel.compose.compose import Composed
    from gorun_kernel.engine import Engine
    from gorun_kernel.outcome import RunOptions
    from gorun_kernel.run.request import RunRequest
    from gorun_kernel.run.runner import Program


@dataclass(frozen=True)
class Ahead:
    """A cell's next run, worked out after its last (HeadStart.next_run): its program
    and how it runs, and what start checks again before starting it."""

    cmd: Command
    composed: Composed  # the cell as composed (before the memo's retries)
    program: Program
    request: RunRequest


class HeadStart:
    """A session's head starts: at most one cell's next run, worked out or started."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.holding = False  # a start holds the engine's busy (end lets it go)

    def next_run(
        self,
        code: str,
        cmd: Command,
        opts: RunOptions,
        *,
        first_line: int = 1,
        label: str,
        cell_id: str | None = None,
    ) -> Ahead | None:
        """The program run_cell would run for this cell now, if the rerun memo has it
        (rerun.py: nothing to build, and nothing it depends on changed since): the
        kernel keeps it, after a cell's idle status, for the same cell's next request.
        None for anything else. Changes nothing in the session.
        """
        if cmd.chdir is not None or cmd.wasm or cmd.background or cmd.vet or opts.stdin:
            return None  # (a --stdin-file may be a FIFO: read by a start nobody adopts)
        if not self.engine.busy.acquire(blocking=False):
            return None  # another thread's cell (a subshell's) runs: not now
        where = Where(first_line, label, cell_id)
        try:
            composed = self.engine.compose_cell(code, cmd, opts, where, label)
            if composed.form == "empty" or self.engine.notes_unshown(composed):
                return None
            request = self.engine.request(cmd, opts)
            found = self.engine.cells.remembered(
                composed, *self.engine.build_inputs(cmd, request.env, opts.cwd)
            )
        except (GorunError, KeyboardInterrupt):
            return None
        finally:
            self.engine.busy.release()
        if found is None:
            return None
        built, final = found
        return Ahead(
            cmd, composed, self.engine.program_for(built, final, cmd, label, False), request
        )

    def start(self, ahead: Ahead, opts: RunOptions) -> bool:
        """Start ahead's program now, if run_cell is sure to run exactly it (the same
        request, and its build still the memo's): the run adopts it (runner.py).

        Called as the cell's request arrives, before ipykernel handles it, so that the
        program's start overlaps the handling, compose and the memo's checks. A start
        holds the session (the engine's busy) until end(): no other thread's cell (a subshell's)
        changes what this request's run composes and builds in between."""
        if not self.engine.busy.acquire(blocking=False):
            return False  # (another thread's cell, closing, a help request's go doc)
        started = False
        try:
            request = self.engine.request(ahead.cmd, opts)
            if request != ahead.request:
                return False
            inputs = self.engine.build_inputs(ahead.cmd, request.env, opts.cwd)
            found = self.engine.cells.remembered(ahead.composed, *inputs)
            if found is None or found[0].exe != ahead.program.built.exe:
                return False
            spans.mark("checked")
            started = self.engine.runner.start_ahead(ahead.program, request)
            return started
        except GorunError:
            return False
        finally:
            if started:
                self.holding = True
            else:
                self.engine.busy.release()

    def end(self) -> None:
        """The request a head start was for has been handled: a start its run did not
        adopt (aborted, or a failure before the run) is ended unseen, and the session
        is free for other threads' cells again."""
        try:
            self.engine.runner.end_ahead()
        finally:
            if self.holding:
                self.holding = False
                self.engine.busy.release()
