"""The Jupyter kernel "Go (gorun)": every cell is Go.

A thin wrapper kernel over the same Engine as the magic. The engine runs in
the kernel's main thread, as IPython's cells do; while it runs, SIGINT (the
frontend's interrupt, in either interrupt mode: in "message" mode ipykernel
turns the interrupt_request into a SIGINT to itself) reaches the engine's own
handler, which ends the program's process group and lets the cell return.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import traceback
import uuid
from typing import TYPE_CHECKING, Any

from ipykernel.kernelapp import IPKernelApp

from gorun_kernel import __version__, cmdline
from gorun_kernel.build import warm
from gorun_kernel.errors import GorunError, Interrupted
from gorun_kernel.events import ClearOutput, Display, Event, Progress
from gorun_kernel.frontends import cellformat, cellhead, history, marks, render, session_commands
from gorun_kernel.frontends.ipykernel_adapter import AdaptedKernel
from gorun_kernel.frontends.session_start import SessionStart
from gorun_kernel.gotest import flags as testflags
from gorun_kernel.outcome import Outcome, RunOptions
from gorun_kernel.proc.stdinwatch import stdin_detection_works

if TYPE_CHECKING:
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


class _Sink:
    """Program output to IOPub streams; input requests to the frontend."""

    def __init__(self, kernel: GorunKernel, silent: bool, allow_stdin: bool) -> None:
        self.kernel = kernel
        self.silent = silent
        self.allow_stdin = allow_stdin
        self.progress_id: str | None = None  # the cell's progress line, once shown
        # The cell's request: a background program started here keeps sending
        # its output to this cell while later cells run.
        self.parent = kernel.get_parent()

    def _send(self, msg_type: str, content: dict[str, Any]) -> None:
        self.kernel.publish(self.parent, msg_type, content)

    def _stream(self, name: str, text: str) -> None:
        if not self.silent:
            self._send("stream", {"name": name, "text": text})

    def stdout(self, text: str) -> None:
        self._stream("stdout", text)

    def stderr(self, text: str) -> None:
        self._stream("stderr", text)

    def event(self, event: Event) -> None:
        if self.silent:
            return
        if isinstance(event, Display):
            msg_type = "update_display_data" if event.update else "display_data"
            transient = {"display_id": event.display_id} if event.display_id else {}
            content = {"data": event.data, "metadata": event.metadata, "transient": transient}
            self._send(msg_type, content)
        elif isinstance(event, ClearOutput):
            self._send("clear_output", {"wait": event.wait})
        elif isinstance(event, Progress) and self.allow_stdin:
            # Only for people watching (frontends that take input): a batch run
            # (nbconvert, papermill, nbval) keeps the same outputs however slow
            # a build is.
            # One line per cell, updated in place (display_id), never a new one per tick.
            first = self.progress_id is None
            if first:
                self.progress_id = uuid.uuid4().hex
            content = {
                "data": render.progress_bundle(event.text),
                "metadata": {},
                "transient": {"display_id": self.progress_id},
            }
            msg_type = "display_data" if first else "update_display_data"
            self._send(msg_type, content)

    def input_wanted(self, prompt: str) -> str | None:
        if not self.allow_stdin:
            return None
        try:
            return self.kernel.raw_input(prompt)
        except (EOFError, StdinNotImplementedError):
            return None  # Ctrl-D, or a frontend that cannot answer: end of input


class GorunKernel(AdaptedKernel):
    implementation = "gorun_kernel"
    implementation_version = __version__
    language = "go"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The engine is made in a thread, once the kernel has answered kernel_info.
        self.session_start = SessionStart()
        self._help: KernelHelp | None = None
        self._help_made = threading.Lock()  # help is asked from the shell thread too
        self.settings = session_commands.SessionSettings()  # %goflags, %env, %timeout
        warm.WARMER.start()  # go's build cache warms until the first cell (started in __main__)
        self.shutting_down = False
        self.control_done = threading.Event()  # the shutdown request is fully handled
        self.control_finished = self._control_finished
        atexit.register(_let_control_finish, self)
        self.history = history.History()  # cells for history_request (up-arrow in consoles)

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
        self.session_start.begin()  # the kernel says it is ready: now the engine
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
        warm.WARMER.cancel()  # this cell gets the CPU
        if store_history and not silent:
            self.history.store(self.execution_count, code)
        self.allow_stdin(allow_stdin)
        self._payload = []  # the execute_reply's (a page for `name?`)
        sink = _Sink(self, silent, allow_stdin)
        self._timing: dict[str, object] | None = None
        self._marks: list[dict[str, object]] = []  # the lines the editor marks (marks.py)
        try:
            outcome = self._execute(code, sink, allow_stdin, cell_id)
        except GorunError as e:
            return self._fail(e, silent)
        except KeyboardInterrupt:  # an interrupt asking for input, or outside the engine
            return self._fail(Interrupted("stopped by an interrupt"), silent)
        except Exception as e:
            # A bug of ours: still a reply (never a cell stuck at [*]), with the
            # real traceback so that it can be reported.
            self.log.exception("gorun_kernel internal error")
            return self._fail(InternalError(e), silent)
        if outcome is None:
            return self._ok()
        if outcome.run_seconds is not None:
            self._timing = outcome.timing()
        if outcome.error is not None:
            return self._fail(outcome.error, silent)
        if not silent:
            if not self._quiet and outcome.ran:
                status = outcome.status
                if self.settings.timing:
                    status += outcome.timing_words()
                self.send_response(
                    self.iopub_socket,
                    "display_data",
                    {"data": render.status_bundle(status), "metadata": {}},
                )
            if outcome.value is not None:
                if store_history:
                    self.history.store_output(self.execution_count, outcome.value)
                self.send_response(
                    self.iopub_socket,
                    "execute_result",
                    {
                        "execution_count": self.execution_count,
                        "data": outcome.value_data or {"text/plain": outcome.value},
                        "metadata": {},
                    },
                )
        return self._ok()

    def finish_metadata(self, parent: Any, metadata: dict, reply_content: dict) -> dict:
        """The reply's metadata carries the cell's timing: {"build", "run", "cached"}."""
        metadata = super().finish_metadata(parent, metadata, reply_content)
        if getattr(self, "_timing", None) is not None:
            metadata["gorun_timing"] = self._timing
        if getattr(self, "_marks", None):
            metadata[marks.KEY] = self._marks
        return metadata

    def on_sigint(self, signum: int, frame: object) -> None:
        """While a request is handled, an interrupt stops the engine's work, and only that."""
        engine = self.session_start.made()  # not made yet: nothing of it runs
        if engine is not None:
            engine.control.interrupt()
            if engine.control.waiting_for_input:
                raise KeyboardInterrupt

    def _ok(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "execution_count": self.execution_count,
            "payload": self._payload,
            "user_expressions": {},
        }

    def _fail(self, error: GorunError, silent: bool) -> dict[str, Any]:
        self._marks = marks.error_marks(error)
        content = {
            "ename": error.ename,
            "evalue": error.message,
            "traceback": render.traceback_lines(error),
        }
        if not silent:
            self.send_response(self.iopub_socket, "error", content)
        return {"status": "error", "execution_count": self.execution_count, **content}

    def _execute(
        self, code: str, sink: _Sink, allow_stdin: bool, cell_id: str | None = None
    ) -> Outcome | None:
        """Run a cell's header lines, then its Go; None when there was no program."""
        self._quiet = False
        if not code.strip():
            return None
        if cellformat.asks_format(code):  # JupyterLab's "Format Go cell", or typed
            toolchain = self._engine().toolchain
            self._payload = cellformat.run(code, toolchain, sink, self.history.cells)
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
                outcome = self._tests("", cmdline.split_line(d.words), testflags.USAGE_LINE, sink)
            elif d.kind == "shell":
                outcome = self._engine().run_shell(
                    d.words,
                    sink,
                    os.getcwd(),
                    self.settings.env,
                    interactive=allow_stdin and stdin_detection_works(),
                )
            elif d.kind == "package":
                cmd = self._command(cmdline.split_line(d.words), cmdline.USAGE_LINE)
                outcome = self._engine().run_package(cmd, sink, self._options(cmd, allow_stdin))
            else:
                session_commands.run(d, self.settings, self._engine, sink)
            if outcome is not None and outcome.error is not None:
                return outcome
        if test_words is not None:
            return self._tests(head.body, test_words, testflags.USAGE, sink, head.first_line)
        if not head.body.strip():
            return outcome
        if self._help_page(self._engine(), head.body):
            return None
        if _asks_exit(self._engine(), head.body):
            self._payload = [{"source": "ask_exit", "keepkernel": False}]
            return None
        cmd = self._command(cell_words, cmdline.USAGE_CELL)
        return self._engine().run_cell(
            head.body,
            cmd,
            sink,
            self._options(cmd, allow_stdin),
            first_line=head.first_line,
            label=f"[{self.execution_count}]",
            cell_id=cell_id,
        )

    def _tests(
        self, code: str, words: list[str], usage: str, sink: _Sink, first_line: int = 1
    ) -> Outcome:
        """%%gotest (code: the cell's tests) or %gotest (code "": the session's)."""
        tcmd = self.settings.test_command(words, usage)
        self._quiet = tcmd.cmd.quiet
        return self._engine().run_tests(
            code,
            tcmd,
            sink,
            RunOptions(os.getcwd()),
            first_line=first_line,
            label=f"[{self.execution_count}]",
        )

    def _engine(self) -> Engine:
        if self.engine is None:
            assert self.start_error is not None
            raise self.start_error
        return self.engine

    def _options(self, cmd: cmdline.Command, allow_stdin: bool) -> RunOptions:
        cwd = os.getcwd()
        return RunOptions(
            cwd=cwd,
            stdin=cmdline.stdin_file(cmd, cwd),
            interactive=allow_stdin and stdin_detection_works(),
        )

    def _command(self, words: list[str], usage: str) -> cmdline.Command:
        cmd = self.settings.command(words, usage)
        self._quiet = cmd.quiet
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

    def _help_page(self, engine: Engine, body: str) -> bool:
        """A cell that is `name?` or `name??`: its documentation, as IPython shows
        it: a page payload, shown in the cell's output (JupyterLab) or a pager
        (jupyter console). False for any other cell."""
        from gorun_kernel.help import untyped as assist

        asked = assist.help_request(body)
        if asked is not None:
            text = assist.describe(engine, *asked)
            self._payload = [{"source": "page", "data": {"text/plain": text}, "start": 0}]
        return asked is not None

    async def do_history(self, hist_access_type: str, output: bool, raw: bool,  # type: ignore[override]
                         **request: Any) -> dict[str, Any]:  # fmt: skip
        """history_request: tail, range and search of the user's cells (history.py)."""
        return self.history.reply(hist_access_type, output, raw, **request)

    # -- shutdown --------------------------------------------------------------

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:  # type: ignore[override]
        warm.WARMER.cancel()
        self.shutting_down = True
        engine = self.session_start.cancel()  # not made yet: it never will be
        if engine is not None:
            engine.close()  # ends a running program, removes the scratch module
        return {"status": "ok", "restart": restart}

    def _control_finished(self) -> None:
        if self.shutting_down:
            self.control_done.set()


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
