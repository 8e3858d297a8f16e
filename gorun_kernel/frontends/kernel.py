"""The Jupyter kernel "Go (gorun)": every cell is Go.

A thin wrapper kernel over the same Engine as the magic. The engine runs in
the kernel's main thread, as IPython's cells do; while it runs, SIGINT (the
frontend's interrupt, in either interrupt mode: in "message" mode ipykernel
turns the interrupt_request into a SIGINT to itself) reaches the engine's own
handler, which ends the program's process group and lets the cell return.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ipykernel.kernelapp import IPKernelApp

from gorun_kernel import __version__, cmdline, spans
from gorun_kernel.build import warm
from gorun_kernel.errors import GorunError, Interrupted
from gorun_kernel.events import WidgetMessage
from gorun_kernel.frontends import (
    cellformat,
    cellhead,
    comms,
    history,
    marks,
    render,
    session_commands,
)
from gorun_kernel.frontends.ipykernel_adapter import AdaptedKernel, flush_streams_only_when_written
from gorun_kernel.frontends.presentation import Bundle, Sink, present
from gorun_kernel.frontends.session_start import SessionStart
from gorun_kernel.gotest import flags as testflags
from gorun_kernel.outcome import Outcome, RunOptions
from gorun_kernel.proc.stdinwatch import stdin_detection_works

if TYPE_CHECKING:
    from gorun_kernel.debug.adapter import Debugger
    from gorun_kernel.engine import Engine
    from gorun_kernel.frontends.kernel_help import KernelHelp

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


@dataclass
class _Request:
    """One execute_request: what the cell's lines decided, and what its reply carries."""

    publisher: _Publisher
    sink: Sink
    allow_stdin: bool
    cell_id: str | None
    quiet: bool = False  # --quiet: no status line
    payload: list[dict[str, Any]] = field(default_factory=list)  # a page for `name?`
    timing: dict[str, object] | None = None  # the reply's metadata: gorun_timing
    marks: list[dict[str, object]] = field(default_factory=list)  # error lines (marks.py)


def _error_content(error: GorunError) -> dict[str, Any]:
    return {
        "ename": error.ename,
        "evalue": error.message,
        "traceback": render.traceback_lines(error),
    }


class GorunKernel(AdaptedKernel):
    implementation = "gorun_kernel"
    implementation_version = __version__
    language = "go"
    has_debugger = True  # the Jupyter debug protocol, relayed to Delve (gorun_kernel/debug)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        flush_streams_only_when_written()  # not 4 round trips to the IOPub thread a cell
        # The engine is made in a thread, once the kernel has answered kernel_info.
        self.session_start = SessionStart()
        self._help: KernelHelp | None = None
        self._help_made = threading.Lock()  # help is asked from the shell thread too
        self.settings = session_commands.SessionSettings()  # %goflags, %env, %timeout
        self.shutting_down = False
        self.control_done = threading.Event()  # the shutdown request is fully handled
        self.control_finished = self._control_finished
        atexit.register(_let_control_finish, self)
        self.history = history.History()  # cells for history_request (up-arrow in consoles)
        self.requests: dict[str, _Request] = {}  # by msg_id, until their reply is sent
        # Comm messages, and the widgets of programs (Interact re-runs them on the engine).
        self.comms = comms.WidgetComms(self, self.session_start.made)
        self.debugger: Debugger | None = None  # made by the first debug_request
        self.cell_codes: dict[str, str] = {}  # by label ("[3]"): how the debugger names cells

    @property
    def engine(self) -> Engine | None:
        """The session (None: start_error says why); waits for it while it starts."""
        return self.session_start.engine()

    @property
    def start_error(self) -> GorunError | None:
        return self.session_start.error()

    @property
    def help(self) -> KernelHelp:
        with self._help_made:
            if self._help is None:
                from gorun_kernel.frontends.kernel_help import KernelHelp

                self._help = KernelHelp(self.engine)
            return self._help

    @property
    def kernel_info(self) -> dict[str, Any]:
        info = super().kernel_info
        self.session_start.begin()  # the kernel says it is ready: now the engine,
        # and go's build cache warms until the first cell. Not before: a warm-up
        # started with the kernel (a Python start, then go and the compiler on both
        # cores) made the kernel itself ready 15-50% later than a python3 kernel.
        warm.WARMER.start()
        return info

    @property
    def language_info(self) -> dict[str, Any]:  # type: ignore[override]
        toolchain = self.session_start.toolchain()  # kernel_info waits for `go env` only
        version = toolchain.version if toolchain else ""
        return {
            "name": "go",
            "version": version.removeprefix("go"),
            "mimetype": "text/x-go",
            "file_extension": ".go",
            "pygments_lexer": "go",
            "codemirror_mode": "go",
        }

    @property
    def banner(self) -> str:  # type: ignore[override]
        tc = self.session_start.toolchain()  # not the engine: kernel_info_reply has this
        if tc is None:
            return f"Go (gorun) kernel {__version__}: {self.start_error}"
        return (
            f"Go (gorun) kernel {__version__}, {tc.version} from {tc.source} ({tc.go}).\n"
            "Every cell is Go; %help for the reference."
        )

    # -- execution -----------------------------------------------------------

    async def do_execute(  # type: ignore[override]
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
        *,
        cell_meta: dict[str, Any] | None = None,
        cell_id: str | None = None,
    ) -> dict[str, Any]:
        spans.mark("do_execute")
        warm.WARMER.cancel()  # this cell gets the CPU
        if store_history and not silent:
            self.history.store(self.execution_count, code)
        self.allow_stdin(allow_stdin)
        publisher = _Publisher(self, silent, allow_stdin)
        request = _Request(publisher, Sink(publisher, progress=allow_stdin), allow_stdin, cell_id)
        self.requests[publisher.parent["header"]["msg_id"]] = request
        self.cell_codes[f"[{self.execution_count}]"] = code
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
            self.log.exception("gorun_kernel internal error")
            outcome = Outcome.failed(InternalError(e))
        finally:
            if self.debugger is not None:
                self.debugger.end_run()
        spans.mark("executed")
        if outcome is not None:
            if outcome.run_seconds is not None:
                request.timing = outcome.timing()
            present(outcome, publisher, quiet=request.quiet, timing=self.settings.timing)
            if store_history and not silent and outcome.ok and outcome.value is not None:
                self.history.store_output(self.execution_count, outcome.value)
        spans.mark("presented")
        if publisher.failure is not None:
            request.marks = marks.error_marks(publisher.failure)
            content = _error_content(publisher.failure)
            return {"status": "error", "execution_count": self.execution_count, **content}
        return {
            "status": "ok",
            "execution_count": self.execution_count,
            "payload": request.payload,
            "user_expressions": {},
        }

    def finish_metadata(self, parent: Any, metadata: dict, reply_content: dict) -> dict:
        """The reply's metadata carries the cell's timing: {"build", "run", "cached"}."""
        metadata = super().finish_metadata(parent, metadata, reply_content)
        request = self.requests.pop(parent["header"]["msg_id"], None)
        if request is not None and request.timing is not None:
            metadata["gorun_timing"] = request.timing
        if request is not None and request.marks:
            metadata[marks.KEY] = request.marks
        return metadata

    def on_sigint(self, signum: int, frame: object) -> None:
        """While a request is handled, an interrupt stops the engine's work, and only that."""
        engine = self.session_start.made()  # not made yet: nothing of it runs
        if engine is not None:
            engine.control.interrupt()
            if engine.control.waiting_for_input:
                raise KeyboardInterrupt

    def _execute(self, code: str, request: _Request) -> Outcome | None:
        """Run a cell's header lines, then its Go; None when there was no program."""
        sink = request.sink
        if not code.strip():
            return None
        if cellformat.asks_format(code):  # JupyterLab's "Format Go cell", or typed
            toolchain = self._engine().toolchain
            request.payload = cellformat.run(code, toolchain, sink, self.history.cells)
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
                    interactive=request.allow_stdin and stdin_detection_works(),
                )
            elif d.kind == "package":
                cmd = self._command(cmdline.split_line(d.words), cmdline.USAGE_LINE, request)
                outcome = self._engine().run_package(cmd, sink, self._options(cmd, request))
            else:
                session_commands.run(
                    d.kind, d.words, self.settings, self._engine, sink, f"%{d.kind}"
                )
            if outcome is not None and outcome.error is not None:
                return outcome
        if self.debugger is not None and (test_words is not None or head.body.strip()):
            debug_words = self.debugger.begin_run(code)  # the program reads stdin as usual
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
        return self._engine().run_cell(
            head.body,
            cmd,
            sink,
            self._options(cmd, request),
            first_line=head.first_line,
            label=f"[{self.execution_count}]",
            cell_id=request.cell_id,
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
            label=f"[{self.execution_count}]",
        )

    def _engine(self) -> Engine:
        if self.engine is None:
            assert self.start_error is not None
            raise self.start_error
        return self.engine

    def _options(self, cmd: cmdline.Command, request: _Request) -> RunOptions:
        cwd = os.getcwd()
        return RunOptions(
            cwd=cwd,
            stdin=cmdline.stdin_file(cmd, cwd),
            interactive=request.allow_stdin and stdin_detection_works(),
        )

    def _command(self, words: list[str], usage: str, request: _Request) -> cmdline.Command:
        cmd = self.settings.command(words, usage)
        request.quiet = cmd.quiet
        return cmd

    # -- help while typing: is_complete, completion, inspection, `name?` cells ---

    async def do_is_complete(self, code: str) -> dict[str, Any]:  # type: ignore[override]
        from gorun_kernel.help import untyped as assist

        return assist.is_complete(code)

    async def do_complete(self, code: str, cursor_pos: int) -> dict[str, Any]:  # type: ignore[override]
        return await self.help.complete(code, cursor_pos)

    async def do_inspect(  # type: ignore[override]
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> dict[str, Any]:
        return await self.help.inspect(code, cursor_pos, detail_level)

    async def answer_help_now(self, idents: list[Any], parent: dict[str, Any]) -> None:
        kind = parent["header"]["msg_type"]
        reply = await self.help.answer(kind, parent["content"])
        self.send_shell_reply(kind.replace("_request", "_reply"), reply, parent, idents)

    def answer_comm_now(self, idents: list[Any], msg: dict[str, Any]) -> None:
        self.comms.handle_now(self.shell_stream, idents, msg)

    async def do_history(  # type: ignore[override]
        self, hist_access_type: str, output: bool, raw: bool, **request: Any
    ) -> dict[str, Any]:
        """history_request: tail, range and search of the user's cells (history.py)."""
        return self.history.reply(hist_access_type, output, raw, **request)

    # -- the debugger (gorun_kernel/debug) ------------------------------------------

    async def do_debug_request(self, msg: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        if self.debugger is None:
            from gorun_kernel.debug.adapter import Debugger

            start = self.session_start
            self.debugger = Debugger(self.publish_debug_event, start.toolchain, self.cell_codes)
        return await asyncio.to_thread(self.debugger.handle, msg)

    # -- shutdown --------------------------------------------------------------

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:  # type: ignore[override]
        warm.WARMER.cancel()
        self.shutting_down = True
        if self.debugger is not None:
            self.debugger.close()  # the debugged program, stopped or not, ends with its run
        engine = self.session_start.cancel()  # not made yet: it never will be
        if engine is not None:
            engine.close()  # ends a running program, removes the scratch module
        return {"status": "ok", "restart": restart}

    def _control_finished(self) -> None:
        if self.shutting_down:
            self.control_done.set()


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


def _let_control_finish(kernel: GorunKernel) -> None:
    """At exit, before ipykernel stops its IOPub thread: let the control thread finish.

    After the shutdown reply, ipykernel's control thread still flushes
    sys.stdout and sys.stderr and publishes its idle status, all through the
    IOPub thread, while the main thread leaves its loop and runs the atexit
    handlers, one of which stops that IOPub thread. When the stop wins the
    race, the control thread blocks in a zmq send (or waits out the 10 s flush
    timeout) and the process never exits by itself. A python3 kernel is saved
    by IPython's own atexit handlers, which happen to run first and take long
    enough. Registered after ipykernel's (so run before them), this makes the
    order certain.
    """
    if kernel.shutting_down:
        kernel.control_done.wait(timeout=2)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    IPKernelApp.launch_instance(kernel_class=GorunKernel, argv=args)
