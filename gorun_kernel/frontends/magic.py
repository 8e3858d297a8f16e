"""The IPython front-end: `%%gorun` (the cell is Go), `%gorun` (run a package),
`%%gotest` (the cell is Go tests) and `%gotest` (run the session's tests again).

A thin layer: parse the line, hand the work to the session's Engine, write
output as it streams, and turn the Outcome into IPython's terms (an exception
that renders as a clean message, variables for --out/--err).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from IPython.core import page
from IPython.core.error import StdinNotImplementedError
from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.display import clear_output, display, update_display

from gorun_kernel import cmdline
from gorun_kernel.build import warm
from gorun_kernel.engine import Engine
from gorun_kernel.errors import GorunError, UsageError
from gorun_kernel.frontends import pydata, reference, session_commands
from gorun_kernel.frontends.presentation import Bundle, Sink, present
from gorun_kernel.frontends.session_commands import SessionSettings
from gorun_kernel.gotest import flags as testflags
from gorun_kernel.help import untyped as assist
from gorun_kernel.outcome import Outcome, RunOptions
from gorun_kernel.proc.stdinfeed import StdinSource
from gorun_kernel.proc.stdinwatch import stdin_detection_works


class _Publisher:
    """The magic's Publisher (presentation.py): IPython's streams and display
    machinery; the value and the error are kept for the magic to return or raise."""

    def __init__(self) -> None:
        self.value_data: Bundle | None = None
        self.failure: GorunError | None = None

    def stream(self, name: str, text: str) -> None:
        out = sys.stdout if name == "stdout" else sys.stderr
        out.write(text)
        out.flush()

    def display(self, data: Bundle, metadata: Bundle, display_id: str | None, update: bool) -> None:
        sys.stdout.flush()
        if update:
            update_display(data, raw=True, metadata=metadata, display_id=display_id)
        else:
            display(data, raw=True, metadata=metadata, display_id=display_id)

    def clear(self, wait: bool) -> None:
        clear_output(wait=wait)

    def ask(self, prompt: str) -> str | None:
        # In a Jupyter kernel, input() becomes an input_request to the
        # frontend; a frontend without stdin raises StdinNotImplementedError.
        try:
            return input(prompt)
        except (EOFError, StdinNotImplementedError, OSError, RuntimeError):
            return None

    def value(self, data: Bundle) -> None:
        self.value_data = data

    def error(self, error: GorunError) -> None:
        self.failure = error


def magics_of(shell: Any) -> GorunMagics:
    """The GorunMagics registered in an IPython shell (%load_ext gorun_kernel)."""
    return shell.magics_manager.registry["GorunMagics"]


@magics_class
class GorunMagics(Magics):
    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        # The front-end's id of the cell being run (JupyterLab, nbclient send
        # one): the same cell run again replaces the inits it made.
        self.cell_id: str | None = None
        # The cell being run exactly as typed: IPython's input cleanup hands a cell
        # magic its body with the spaces of whitespace-only lines removed, which
        # changes a Go raw string; pre_run_cell still has every byte.
        self.raw_cell: str | None = None
        self._engine: Engine | None = None  # the session, made on first use
        self.settings = SessionSettings()  # %gorun_timing
        if shell is not None:
            shell.events.register("pre_run_cell", self._remember_cell)

    def _remember_cell(self, info: Any) -> None:
        self.cell_id = getattr(info, "cell_id", None)
        self.raw_cell = getattr(info, "raw_cell", None)

    def _as_typed(self, cell: str) -> str:
        """The cell magic's body as the user typed it, byte for byte: from the raw
        cell IPython ran, when that is this magic's cell (its cleaned form is
        `cell`); else `cell` as given (a magic called from Python code)."""
        raw, self.raw_cell = self.raw_cell, None  # once: never a later call's
        if raw is None:
            return cell
        lines = raw.split("\n")
        while lines and not lines[0].strip():  # IPython drops leading blank lines
            lines.pop(0)
        if not lines or not lines[0].startswith("%%"):
            return cell
        body = "\n".join(lines[1:])
        return body if _cleaned(body) == _cleaned(cell) else cell

    def engine(self) -> Engine:
        """The shell's session, created on first use (finding Go, making the scratch module)."""
        if self._engine is None:
            self._engine = Engine()
        return self._engine

    def close_engine(self) -> None:
        """End the session (its programs, its scratch module); the next cell starts another."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    @line_cell_magic
    def gorun(self, line: str, cell: str | None = None) -> Any:
        warm.WARMER.cancel()  # this cell gets the CPU (the warm-up started at %load_ext)
        usage = cmdline.USAGE_LINE if cell is None else cmdline.USAGE_CELL
        try:
            cmd = cmdline.parse(cmdline.split_line(line), usage)
            stdin = self._stdin(cmd)
        except UsageError as e:
            raise IPythonUsageError(e.message) from None
        if cell is not None:
            cell = self._as_typed(cell)
        engine = self.engine()
        asked = assist.help_request(cell) if cell is not None else None
        if asked is not None:
            page.page(assist.describe(engine, *asked))  # as IPython shows `name?`
            return None
        ns = self.shell.user_ns if self.shell is not None else {}
        try:
            data = pydata.bridge_for(engine).prepare(cmd, cell, ns)  # --in, --export
        except UsageError as e:
            raise IPythonUsageError(e.message) from None
        sink = self._sink()
        capture = bool(cmd.out_var or cmd.err_var)
        opts = RunOptions(
            cwd=os.getcwd(),
            stdin=stdin,
            interactive=stdin is None and stdin_detection_works(),
            capture=capture,
            channels=data.channels if cell is not None else {},
        )
        try:
            if cell is None:
                outcome = engine.run_package(cmd, sink, opts)
            else:
                outcome = engine.run_cell(
                    data.code,
                    cmd,
                    sink,
                    opts,
                    first_line=data.first_line,
                    label=self._label(),
                    cell_id=self.cell_id,
                )
        except UsageError as e:
            raise IPythonUsageError(e.message) from None
        return self._data(data, outcome, self._finish(cmd, outcome))

    def _data(self, data: pydata.Prepared, outcome: Outcome, value: GoValue | None) -> Any:
        """--export's variables, and the final value as Python data (shown as Go's text)."""
        bridge = pydata.bridge_for(self.engine())
        has_final, final, why = bridge.finish(data, outcome)
        exported = bridge.exports(data, outcome)  # all, or a CellError and none
        if self.shell is not None:
            self.shell.user_ns.update(exported)
        if value is None:
            return None
        if not has_final:
            value.note = why
            return value
        if final is None:  # nil: None would show nothing; Go's <nil> stays
            value.note = "a nil value stays Go text (None would show nothing)"
            return value
        return pydata.final_value(self.shell, final, value.text, value.data)

    @line_cell_magic
    def gotest(self, line: str, cell: str | None = None) -> None:
        warm.WARMER.cancel()  # this cell gets the CPU
        usage = testflags.USAGE_LINE if cell is None else testflags.USAGE
        try:
            tcmd = testflags.parse(cmdline.split_line(line), usage)
        except UsageError as e:
            raise IPythonUsageError(e.message) from None
        if cell is not None:
            cell = self._as_typed(cell)
        channels = pydata.bridge_for(self.engine()).session_channels()  # --in values
        try:
            outcome = self.engine().run_tests(
                cell or "",
                tcmd,
                self._sink(),
                RunOptions(os.getcwd(), channels=channels),
                first_line=2,
                label=self._label(),
            )
        except UsageError as e:
            raise IPythonUsageError(e.message) from None
        self._finish(tcmd.cmd, outcome)

    def _label(self) -> str | None:
        """How messages name the cell being run: `[3]` for In [3]. IPython 9 counts a
        cell before running it (execution_count is then one more); the result of the
        cell being run, which the displayhook holds, has its number in 8 and 9."""
        running = getattr(getattr(self.shell, "displayhook", None), "exec_result", None)
        count = getattr(running, "execution_count", None)
        if not isinstance(count, int):  # IPython 8, a cell without history: not counted
            count = getattr(self.shell, "execution_count", None)
        return f"[{count}]" if count is not None else None

    def _sink(self, publisher: _Publisher | None = None) -> Sink:
        # Progress only for people watching a notebook (the frontend takes
        # input): not in a terminal, not in a batch run (nbconvert, nbval).
        # (Imported here: a terminal IPython need not load ipykernel.)
        from gorun_kernel.frontends.ipykernel_adapter import allows_stdin

        return Sink(publisher or _Publisher(), progress=allows_stdin(self.shell))

    def _stdin(self, cmd: cmdline.Command) -> StdinSource:
        from_file = cmdline.stdin_file(cmd, os.getcwd())
        if cmd.stdin_var is None:
            return from_file
        ns = self.shell.user_ns if self.shell is not None else {}
        if cmd.stdin_var not in ns:
            raise UsageError(f"--stdin {cmd.stdin_var}: no variable named {cmd.stdin_var}")
        value = ns[cmd.stdin_var]
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, bytes | bytearray | memoryview):
            return value  # fed from a memoryview of it, never copied
        raise UsageError(
            f"--stdin {cmd.stdin_var}: it is a {type(value).__name__}; give a str or bytes"
        )

    # -- session commands: the kernel's, by the same functions (session_commands.py) --

    @line_magic
    def gorun_list(self, line: str) -> None:
        """List the session's declarations: name, kind, and the cell that made each."""
        self._command("list", line)

    @line_magic
    def gorun_rm(self, line: str) -> None:
        """%gorun_rm [-r] NAME [NAME...]: forget declarations (Type.Method for a method) or
        imports; -r: also the declarations that use them (without it, those are named and
        nothing is removed)."""
        self._command("rm", line)

    @line_magic
    def gorun_timing(self, line: str) -> None:
        """%gorun_timing on | off: build and run times on the status line (on by default)."""
        self._command("timing", line)

    @line_magic
    def gorun_jobs(self, line: str) -> None:
        """List background programs (%%gorun --bg): id, pid, running time, status."""
        self._command("jobs", line)

    @line_magic
    def gorun_kill(self, line: str) -> None:
        """%gorun_kill N | all: stop a background program, or all of them."""
        self._command("kill", line)

    @line_magic
    def gorun_reset(self, line: str) -> None:
        """%gorun_reset [--go-mod]: forget all declarations and kept values, and say how many
        (--go-mod: and fetched modules)."""
        self._command("reset", line)

    def _command(self, kind: str, line: str) -> None:
        sink = Sink(_Publisher(), progress=False)
        try:
            session_commands.run(kind, line, self.settings, self.engine, sink, f"%gorun_{kind}")
        except UsageError as e:
            raise IPythonUsageError(e.message) from None

    def _finish(self, cmd: cmdline.Command, outcome: Outcome) -> GoValue | None:
        ns = self.shell.user_ns if self.shell is not None else {}
        if outcome.job_output is not None:
            # A background job: a live object whose .stdout/.stderr grow as it prints.
            for var in (cmd.out_var, cmd.err_var):
                if var:
                    ns[var] = outcome.job_output
        if cmd.out_var and outcome.stdout is not None:
            ns[cmd.out_var] = outcome.stdout
        if cmd.err_var and outcome.stderr is not None:
            ns[cmd.err_var] = outcome.stderr
        publisher = _Publisher()
        present(outcome, publisher, quiet=cmd.quiet, timing=self.settings.timing)
        if publisher.failure is not None:
            if cmd.raise_error:
                raise publisher.failure
            sys.stderr.write("\n".join(publisher.failure.render()) + "\n")
            sys.stderr.flush()
        if publisher.value_data is None or outcome.value is None:
            return None
        return GoValue(outcome.value, publisher.value_data)


def _cleaned(text: str) -> str:
    """A cell body as IPython's input cleanup leaves it: whitespace-only lines empty,
    no trailing newlines (to tell the raw cell's body from another's)."""
    return "\n".join(line if line.strip() else "" for line in text.split("\n")).rstrip("\n")


class GoValue:
    """The value of a snippet's final expression, formatted by Go, for Out[].

    Its repr is Go's text; a notebook shows its richest form (an image, a table).
    """

    def __init__(self, text: str, data: dict[str, Any] | None = None) -> None:
        self.text = text
        self.data = data or {"text/plain": text}
        self.note: str | None = None  # why it is not Python data (a func cannot cross)

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return dict(self.data)


# `%%gorun?` and `%%gotest?` show the magic's reference, as the documentation does.
GorunMagics.gorun.__doc__ = reference.plain(reference.page("magic"))
GorunMagics.gotest.__doc__ = GorunMagics.gorun.__doc__
