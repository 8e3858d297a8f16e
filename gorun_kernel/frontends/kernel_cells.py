"""What the kernel does with an execute_request: the cell's header lines, then its Go.

kernel.py is the kernel as Jupyter sees it (its messages, its start, help,
the debugger, shutdown); this is its cells, made at the first execute_request.
Imported then, not with the kernel: the command line, the session commands,
the presentation and what they import are not on the way to the kernel's
first answer (kernel_info), which a user waits for before any cell can run.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from gorun_kernel import cmdline, spans
from gorun_kernel.build import warm
from gorun_kernel.errors import GorunError, Interrupted
from gorun_kernel.events import WidgetMessage
from gorun_kernel.frontends import cellformat, cellhead, marks, render, session_commands
from gorun_kernel.frontends.presentation import Bundle, Sink, present
from gorun_kernel.gotest import flags as testflags
from gorun_kernel.outcome import Outcome, RunOptions
from gorun_kernel.proc.stdinwatch import stdin_detection_works

if TYPE_CHECKING:
    from gorun_kernel.engine import Engine
    from gorun_kernel.frontends.kernel import GorunKernel
    from gorun_kernel.headstart import Ahead

try:
    from IPython.core.error import StdinNotImplementedError
except ImportError:  # pragma: no cover - ipykernel always brings IPython
    StdinNotImplementedError = RuntimeError  # type: ignore[misc,assignment]


class InternalError(GorunError):
    """A bug in gorun_kernel, reported with its Python traceback."""

    def __init__(self, error: Exception) -> None:
        lines = traceback.format_exception(error)
        super().__init__(
            f"gorun_kernel failed ({type(error).__name__}: {error}); please report this",
            "".join(lines).splitlines(),
        )


class _Publisher:
    """The kernel's Publisher (presentation.py): IOPub messages, as replies to the
    cell's own request: a background program started there keeps sending its
    output to that cell while later cells run."""

    def __init__(self, kernel: GorunKernel, silent: bool, allow_stdin: bool) -> None:
        self.kernel = kernel
        self.silent = silent  # a silent request shows nothing
        self.allow_stdin = allow_stdin
        self.parent = kernel.get_parent()
        self.failure: GorunError | None = None  # the cell's error, for its reply

    def _send(self, msg_type: str, content: dict[str, Any]) -> None:
        if not self.silent:
            self.kernel.publish(self.parent, msg_type, content)

    def stream(self, name: str, text: str) -> None:
        self._send("stream", {"name": name, "text": text})

    def display(self, data: Bundle, metadata: Bundle, display_id: str | None, update: bool) -> None:
        transient = {"display_id": display_id} if display_id else {}
        content = {"data": data, "metadata": metadata, "transient": transient}
        self._send("update_display_data" if update else "display_data", content)

    def clear(self, wait: bool) -> None:
        self._send("clear_output", {"wait": wait})

    def widget(self, event: WidgetMessage) -> None:
        self.kernel.comms.from_program(event)

    def ask(self, prompt: str) -> str | None:
        if not self.allow_stdin:
            return None
        try:
            return self.kernel.raw_input(prompt)
        except (EOFError, StdinNotImplementedError):
            return None  # Ctrl-D, or a frontend that cannot answer: end of input

    def value(self, data: Bundle) -> None:
        content = {"execution_count": self.kernel.execution_count, "data": data, "metadata": {}}
        self._send("execute_result", content)

    def error(self, error: GorunError) -> None:
        self.failure = error
        self._send("error", _error_content(error))


@dataclass(frozen=True)
class _Again:
    """A plain cell (Go, and `%%gorun` flags at most) that ran and succeeded: what its
    next run takes, if the same request comes next (a head start: kernel.py)."""

    params: RequestParams  # the request's, as it ran
    body: str
    cmd: cmdline.Command
    first_line: int


class RequestParams(NamedTuple):
    """What of an execute_request decides its run."""

    code: str
    silent: bool
    store_history: bool
    allow_stdin: bool
    cell_id: str | None


def request_params(content: dict[str, Any], cell_id: str | None) -> RequestParams:
    """An execute_request's params, read from its content as ipykernel reads them."""
    silent = content.get("silent", False)
    store_history = content.get("store_history", not silent)
    code, allow_stdin = content.get("code", ""), content.get("allow_stdin", False)
    return RequestParams(code, silent, store_history, allow_stdin, cell_id)


@dataclass
class _Request:
    """One execute_request: what the cell's lines decided, and what its reply carries."""

    publisher: _Publisher
    sink: Sink
    params: RequestParams  # what of the request decides its run
    quiet: bool = False  # --quiet: no status line
    payload: list[dict[str, Any]] = field(default_factory=list)  # a page for `name?`
    timing: dict[str, object] | None = None  # the reply's metadata: gorun_timing
    marks: list[dict[str, object]] = field(default_factory=list)  # error lines (marks.py)
    again: _Again | None = None  # a plain cell's run


def _error_content(error: GorunError) -> dict[str, Any]:
    return {
        "ename": error.ename,
        "evalue": error.message,
        "traceback": render.traceback_lines(error),
    }


class KernelCells:
    """The kernel's cells: each execute_request's run, and what its reply carries."""

    def __init__(self, kernel: GorunKernel) -> None:
        self.kernel = kernel
        self.settings = session_commands.SessionSettings()  # %goflags, %env, %timeout
        self.requests: dict[str, _Request] = {}  # by msg_id, until their reply is sent
        self.again: _Again | None = None  # the last cell, if it may get a head start
        # Its next run, worked out after its idle status: (the cell, the execution count
        # the request must find, the program): a head start, if that request comes next.
        self.ahead: tuple[_Again, int, Ahead] | None = None

    def execute(
        self, code: str, silent: bool, store_history: bool, allow_stdin: bool, cell_id: str | None
    ) -> dict[str, Any]:
        """do_execute: run the cell, present its outcome; the execute_reply's content."""
        kernel = self.kernel
        warm.WARMER.cancel()  # this cell gets the CPU
        self.again = self.ahead = None  # a cell runs: what the next would do may change
        if store_history and not silent:
            kernel.history.store(kernel.execution_count, code)
        kernel.allow_stdin(allow_stdin)
        publisher = _Publisher(kernel, silent, allow_stdin)
        params = RequestParams(code, silent, store_history, allow_stdin, cell_id)
        request = _Request(publisher, Sink(publisher, progress=allow_stdin), params)
        self.requests[publisher.parent["header"]["msg_id"]] = request
        kernel.cell_codes[f"[{kernel.execution_count}]"] = code
        try:
            spans.mark("execute")
            outcome = self._execute(code, request)
        except GorunError as e:
            outcome = Outcome.failed(e)
        except KeyboardInterrupt:  # an interrupt asking for input, or outside the engine
            outcome = Outcome.failed(Interrupted("stopped by an interrupt"))
        except Exception as e:
            # A bug of ours: still a reply (never a cell stuck at [*]), with the
            # real traceback so that it can be reported.
            kernel.log.exception("gorun_kernel internal error")
            outcome = Outcome.failed(InternalError(e))
        finally:
            if kernel.debugger is not None:
                kernel.debugger.end_run()
        spans.mark("executed")
        if outcome is not None and outcome.ok and request.again is not None:
            self.again = request.again
        if outcome is not None:
            if outcome.run_seconds is not None:
                request.timing = outcome.timing()
            present(outcome, publisher, quiet=request.quiet, timing=self.settings.timing)
            if store_history and not silent and outcome.ok and outcome.value is not None:
                kernel.history.store_output(kernel.execution_count, outcome.value)
        spans.mark("presented")
        if publisher.failure is not None:
            request.marks = marks.error_marks(publisher.failure)
            content = _error_content(publisher.failure)
            return {"status": "error", "execution_count": kernel.execution_count, **content}
        return {
            "status": "ok",
            "execution_count": kernel.execution_count,
            "payload": request.payload,
            "user_expressions": {},
        }

    # -- a head start: an unchanged cell's program, started as its request arrives ---

    @property
    def expecting(self) -> bool:
        """Whether a request may get a head start (start_ahead)."""
        return self.ahead is not None or self.again is not None

    def prepare_ahead(self) -> None:
        """After a plain cell's idle status: work out its next run now (compose, the
        rerun memo's answer), so that if the same request comes next its program can
        start before the request is handled (start_ahead). When a request is already
        waiting, start_ahead does this if it is the same cell's (kernel.py)."""
        again, self.again = self.again, None
        engine = self.kernel.session_start.made()
        if again is None or engine is None or _debugging(self.kernel):
            return
        count = self.kernel.execution_count + (0 if again.params.silent else 1)
        try:
            opts = self._options(again.cmd, again.params.allow_stdin)
        except GorunError:
            return  # (its --stdin-file is gone, say: the request will say so)
        ahead = engine.head_start.next_run(
            again.body,
            again.cmd,
            opts,
            first_line=again.first_line,
            label=f"[{count}]",
            cell_id=again.params.cell_id,
        )
        if ahead is not None:
            self.ahead = (again, count, ahead)

    def start_ahead(self, content: dict[str, Any], cell_id: str | None) -> bool:
        """An execute_request has arrived and is about to be handled: if it is the one
        prepare_ahead worked out, with nothing changed since, its program starts now.
        Whether it started (the engine's run adopts it: runner.py)."""
        if content.get("user_expressions"):
            return False
        params = request_params(content, cell_id)
        if self.ahead is None and self.again is not None and params == self.again.params:
            self.prepare_ahead()  # (it came before the idle time after its cell: now)
        if self.ahead is None:
            return False
        again, count, ahead = self.ahead
        expected = self.kernel.execution_count + (0 if params.silent else 1)
        if params != again.params or expected != count:
            return False
        engine = self.kernel.session_start.made()
        if engine is None or _debugging(self.kernel):
            return False
        try:
            opts = self._options(again.cmd, params.allow_stdin)
        except GorunError:
            return False
        return engine.head_start.start(ahead, opts)

    def end_ahead(self) -> None:
        """The request was handled: a head start its run did not adopt ends here."""
        engine = self.kernel.session_start.made()
        if engine is not None:
            engine.head_start.end()

    def reply_metadata(self, parent: Any, metadata: dict[str, Any]) -> None:
        """The reply's metadata carries the cell's timing: {"build", "run", "cached"},
        and its error marks."""
        request = self.requests.pop(parent["header"]["msg_id"], None)
        if request is not None and request.timing is not None:
            metadata["gorun_timing"] = request.timing
        if request is not None and request.marks:
            metadata[marks.KEY] = request.marks

    def _execute(self, code: str, request: _Request) -> Outcome | None:
        """Run a cell's header lines, then its Go; None when there was no program."""
        sink = request.sink
        if not code.strip():
            return None
        if cellformat.asks_format(code):  # JupyterLab's "Format Go cell", or typed
            toolchain = self._engine().toolchain
            request.payload = cellformat.run(code, toolchain, sink, self.kernel.history.cells)
            return None
        head = cellhead.split(code)
        cell_words: list[str] = []
        test_words: list[str] | None = None
        outcome: Outcome | None = None
        for d in head.directives:
            if d.kind == "cell":
                cell_words = cmdline.split_line(d.words)
            elif d.kind == "testcell":
                test_words = cmdline.split_line(d.words)
            elif d.kind == "tests":
                words = cmdline.split_line(d.words)
                outcome = self._tests("", words, testflags.USAGE_LINE, request)
            elif d.kind == "shell":
                outcome = self._engine().run_shell(
                    d.words,
                    sink,
                    os.getcwd(),
                    self.settings.env,
                    interactive=request.params.allow_stdin and stdin_detection_works(),
                )
            elif d.kind == "package":
                cmd = self._command(cmdline.split_line(d.words), cmdline.USAGE_LINE, request)
                options = self._options(cmd, request.params.allow_stdin)
                outcome = self._engine().run_package(cmd, sink, options)
            else:
                session_commands.run(
                    d.kind, d.words, self.settings, self._engine, sink, f"%{d.kind}"
                )
            if outcome is not None and outcome.error is not None:
                return outcome
        if self.kernel.debugger is not None and (test_words is not None or head.body.strip()):
            debug_words = self.kernel.debugger.begin_run(code)  # the program reads stdin as usual
            if test_words is not None:
                test_words = debug_words + test_words
            else:
                cell_words = debug_words + cell_words
        if test_words is not None:
            return self._tests(head.body, test_words, testflags.USAGE, request, head.first_line)
        if not head.body.strip():
            return outcome
        page = _help_page(self._engine(), head.body)
        if page is not None:
            request.payload = [page]
            return None
        if _asks_exit(self._engine(), head.body):
            request.payload = [{"source": "ask_exit", "keepkernel": False}]
            return None
        cmd = self._command(cell_words, cmdline.USAGE_CELL, request)
        if all(d.kind == "cell" for d in head.directives) and not _debugging(self.kernel):
            request.again = _Again(request.params, head.body, cmd, head.first_line)
        return self._engine().run_cell(
            head.body,
            cmd,
            sink,
            self._options(cmd, request.params.allow_stdin),
            first_line=head.first_line,
            label=f"[{self.kernel.execution_count}]",
            cell_id=request.params.cell_id,
        )

    def _tests(
        self, code: str, words: list[str], usage: str, request: _Request, first_line: int = 1
    ) -> Outcome:
        """%%gotest (code: the cell's tests) or %gotest (code "": the session's)."""
        tcmd = self.settings.test_command(words, usage)
        request.quiet = tcmd.cmd.quiet
        return self._engine().run_tests(
            code,
            tcmd,
            request.sink,
            RunOptions(os.getcwd()),
            first_line=first_line,
            label=f"[{self.kernel.execution_count}]",
        )

    def _engine(self) -> Engine:
        return self.kernel.engine_or_error()

    def _options(self, cmd: cmdline.Command, allow_stdin: bool) -> RunOptions:
        cwd = os.getcwd()
        return RunOptions(
            cwd=cwd,
            stdin=cmdline.stdin_file(cmd, cwd),
            interactive=allow_stdin and stdin_detection_works(),
        )

    def _command(self, words: list[str], usage: str, request: _Request) -> cmdline.Command:
        cmd = self.settings.command(words, usage)
        request.quiet = cmd.quiet
        return cmd


def _debugging(kernel: GorunKernel) -> bool:
    """Whether a cell's run would go under Delve (the debugger is on)."""
    return kernel.debugger is not None and kernel.debugger.started


def _help_page(engine: Engine, body: str) -> dict[str, Any] | None:
    """A cell that is `name?` or `name??`: its documentation, as IPython shows
    it: a page payload, shown in the cell's output (JupyterLab) or a pager
    (jupyter console). None for any other cell."""
    from gorun_kernel.help import untyped as assist  # not before the first cell (start time)

    asked = assist.help_request(body)
    if asked is None:
        return None
    return {"source": "page", "data": {"text/plain": assist.describe(engine, *asked)}, "start": 0}


def _asks_exit(engine: Engine, body: str) -> bool:
    """`exit` or `quit` as the whole cell, when the session declares no such name:
    the way out of jupyter console (which asks the kernel), as in IPython's kernel;
    a notebook ignores the request."""
    word = body.strip()
    return word in ("exit", "quit") and all(n != word for n, _, _ in engine.declarations())
