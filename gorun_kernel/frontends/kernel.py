"""The Jupyter kernel "Go (gorun)": every cell is Go.

A thin wrapper kernel over the same Engine as the magic. The engine runs in
the kernel's main thread, as IPython's cells do; while it runs, SIGINT (the
frontend's interrupt, in either interrupt mode: in "message" mode ipykernel
turns the interrupt_request into a SIGINT to itself) reaches the engine's own
handler, which ends the program's process group and lets the cell return.

This module is the kernel as Jupyter sees it: its messages, its start, help,
the debugger, shutdown. What a cell does is kernel_cells.py's, imported at the
first execute_request; help while typing is kernel_help.py's.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
import threading
from typing import TYPE_CHECKING, Any

from ipykernel.kernelapp import IPKernelApp

from gorun_kernel import __version__, spans
from gorun_kernel.errors import GorunError
from gorun_kernel.frontends import comms, history
from gorun_kernel.frontends.ipykernel_adapter import (
    AdaptedKernel,
    drop_unshown_log_records,
    flush_streams_only_when_written,
)
from gorun_kernel.frontends.session_start import SessionStart

if TYPE_CHECKING:
    from gorun_kernel.debug.adapter import Debugger
    from gorun_kernel.engine import Engine
    from gorun_kernel.frontends.kernel_cells import KernelCells
    from gorun_kernel.frontends.kernel_help import KernelHelp


class GorunKernel(AdaptedKernel):
    implementation = "gorun_kernel"
    implementation_version = __version__
    language = "go"
    has_debugger = True  # the Jupyter debug protocol, relayed to Delve (gorun_kernel/debug)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        flush_streams_only_when_written()  # not 4 round trips to the IOPub thread a cell
        drop_unshown_log_records(self.log)  # not 4 records made and dropped a cell
        # The engine is made in a thread, once the kernel has answered kernel_info.
        self.session_start = SessionStart()
        self._help: KernelHelp | None = None
        self._help_made = threading.Lock()  # help is asked from the shell thread too
        self.shutting_down = False
        self.control_done = threading.Event()  # the shutdown request is fully handled
        self.control_finished = self._control_finished
        atexit.register(_let_control_finish, self)
        self.history = history.History()  # cells for history_request (up-arrow in consoles)
        self._cells: KernelCells | None = None  # made by the first execute_request
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
    def cells(self) -> KernelCells:
        """What execute_requests do (kernel_cells.py), made at the first one: its
        modules are not on the way to the kernel's first answer."""
        if self._cells is None:
            from gorun_kernel.frontends.kernel_cells import KernelCells

            self._cells = KernelCells(self)
        return self._cells

    def after_ready(self) -> None:
        """The kernel has said it is ready (its kernel_info reply and idle status are
        sent): now the engine, and go's build cache warms until the first cell. Not
        before: a warm-up started with the kernel (a Python start, then go and the
        compiler on both cores) made the kernel ready 15-50% later than a python3
        kernel, and the engine's imports, started as the reply was made, held the
        interpreter while it was sent."""
        from gorun_kernel.build import warm

        self.session_start.begin()
        if self._cells is None:  # a cell sent with kernel_info ran first: no warm-up now
            warm.WARMER.start()

    def after_execute(self) -> None:
        """The cell's reply and idle status are sent: its history rows go to the file
        now (a SQLite commit: 0.5 ms of CPU and a wait for the disk, which, made while
        the cell ran, took the interpreter and a core from it)."""
        self.history.release()
        # Its next run, worked out now, in the idle time, unless a request already waits
        # (Run All: most likely another cell's; if the same, start_ahead works it out).
        # (The main subshell's only: a subshell's request ends on its own thread.)
        on_main = threading.current_thread() is threading.main_thread()
        if self._cells is not None and on_main and not self.requests_waiting:
            self._failsafe(self._cells.prepare_ahead)

    @property
    def expects_request(self) -> bool:  # type: ignore[override]
        return self._cells is not None and self._cells.expecting

    def before_dispatch(self, content: dict[str, Any], cell_id: str | None) -> bool:
        """A head start: the request runs the cell that ran last, unchanged, and its
        program is known (prepare_ahead): it starts now, and its run adopts it."""
        return self._cells is not None and self._cells.start_ahead(content, cell_id)

    def after_dispatch(self) -> None:
        assert self._cells is not None
        self._cells.end_ahead()

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
        self.history.hold()  # until after_execute
        return self.cells.execute(code, silent, store_history, allow_stdin, cell_id)

    def finish_metadata(self, parent: Any, metadata: dict, reply_content: dict) -> dict:
        metadata = super().finish_metadata(parent, metadata, reply_content)
        if self._cells is not None:
            self._cells.reply_metadata(parent, metadata)
        return metadata

    def on_sigint(self, signum: int, frame: object) -> None:
        """While a request is handled, an interrupt stops the engine's work, and only that."""
        engine = self.session_start.made()  # not made yet: nothing of it runs
        if engine is not None:
            engine.control.interrupt()
            if engine.control.waiting_for_input:
                raise KeyboardInterrupt

    def engine_or_error(self) -> Engine:
        """The session's engine, or the error that says why there is none."""
        if self.engine is None:
            assert self.start_error is not None
            raise self.start_error
        return self.engine

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
        from gorun_kernel.build import warm

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
