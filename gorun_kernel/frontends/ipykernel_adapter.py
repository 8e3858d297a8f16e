"""Every use of ipykernel's internals, in one place.

ipykernel's documented surface for a wrapper kernel is the `do_*` methods. The
kernel needs a little more, and this module is the only place that reaches it:

- `execute_request`: to know that a cell is running (help then takes another way);
- `shell_channel_thread_main`: the shell channel's own thread, which answers
  completion and inspection while the main thread is in a cell;
- `session.feed_identities`/`session.deserialize` and their replay check: a
  peek at a message's header does not record its signature, unpacking its
  content does (and ipykernel then refuses the message as a replay);
- `complete_request`/`inspect_request`: run as tasks of their own, so the shell
  channel is free at once;
- `debug_request`: initialize, which may first build Delve (a minute or two,
  once), runs as a task of its own: ipykernel handles one control message at
  a time, and kernel_info, interrupt and shutdown are served meanwhile;
- `process_control`: to know when the shutdown request is fully handled;
- `pre_handler_hook` and `saved_sigint_handler`: our own SIGINT handler while a
  request is handled;
- `_topic`: the IOPub topic of a message sent outside `send_response` (output of
  a background program goes to the cell that started it, not the current one);
- `_allow_stdin`: what `raw_input` checks (the base class never sets it);
- `OutStream._flush_pending` (and `_subprocess_flush_pending`): whether anything was
  written to a stream since its last flush. Before each reply, and again before the
  idle status, ipykernel flushes sys.stdout, then sys.stderr, each a round trip
  through the IOPub thread (0.2-0.5 ms of the main thread's, four a cell); the
  kernel writes neither (its output is published as messages), so each flushes
  only what was written to it. The reply may then reach a client before the last
  outputs the IOPub thread still sends, as the protocol allows (two sockets are
  never in order): clients wait for the `idle` status, which the same thread sends
  after all of them;
- `_execute_sleep`: after those flushes ipykernel sleeps 0.5 ms before each reply
  ("on rare occasions, the flush doesn't seem to make it to the clients"), a tenth
  of an unchanged cell's re-run. The kernel's outputs are on their way to IOPub
  before its reply, and clients wait for the idle status that follows them there:
  no sleep (still configurable, as ipykernel's);
- `kernel_info_request`, `execute_request` and `iopub_thread.schedule`: `after_ready`,
  called once the first kernel_info reply and its idle status are sent, starts the
  kernel's background work (its engine, a warm-up) after the answer a client waits
  for to call the kernel ready, not while it is made and sent; `after_execute`,
  called once each execute_request's idle status is sent, does what a cell leaves
  (its history's commit) after the answer a client waits for;
- `shell_main`, `_main_asyncio_lock`, `_aborting`: `before_dispatch` sees an
  execute_request on the main subshell as it is taken up, before ipykernel's
  handling (its busy status, execute_input, the request's unpacking), when
  nothing else is handled there and the request will not be aborted: the Go
  kernel starts an unchanged cell's program then (a head start), so that the
  program's start overlaps that handling. `after_dispatch` follows the handling.
  The shell thread's forwarded messages and the subshells' taken ones are counted
  (`requests_waiting`), and ipykernel's own "stop aborting" message is told apart;
- `kernel_info`: the base class imports its debugger (debugpy: 0.1-0.4 s, before
  the kernel's first reply) only to list "debugger" among the features; this
  kernel lists it when its subclass has one (`has_debugger`: gorun_kernel/debug);
- the kernel app's logger (traitlets'): at DEBUG, its handler at the app's level,
  so each of ipykernel's debug lines made a record only to drop it;
  `drop_unshown_log_records` sets the logger to its handlers' lowest level;
- for the `%%gorun` magic in a Python notebook: `IPythonKernel.do_inspect` on the
  running kernel instance (the shell's `kernel`), which `inspect_request` calls.

pyproject.toml pins ipykernel to TESTED, and tests/test_ipykernel_contract.py
checks each hook against the installed ipykernel: a release that moves one
fails there, by name, instead of breaking help during a run in silence.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from ipykernel._version import kernel_protocol_version
from ipykernel.jsonutil import json_clean
from ipykernel.kernelbase import Kernel
from traitlets import Float

from gorun_kernel import spans

TESTED = ">=7.1,<8"  # the ipykernel releases these hooks are checked against
HELP_REQUESTS = ("complete_request", "inspect_request")
COMM_REQUESTS = ("comm_open", "comm_msg", "comm_close", "comm_info_request")


class AdaptedKernel(Kernel):
    """ipykernel's Kernel, with the internal hooks the gorun kernel needs as plain methods.

    A subclass gives `answer_help_now` (a help request that arrived while a cell
    runs), `on_sigint` (SIGINT while a request is handled), and may read
    `cell_running`; it calls `publish` and `send_shell_reply` to send messages.
    """

    _execute_sleep = Float(0.0).tag(config=True)  # ipykernel's 0.5 ms (module docstring)
    cell_running = False  # an execute_request is being handled
    _ready_said = False  # the first kernel_info reply is sent (after_ready)
    has_debugger = False  # answers debug_request (do_debug_request)
    control_finished: Callable[[], None] | None = None  # called after each control message

    # -- the hooks -----------------------------------------------------------

    @property
    def kernel_info(self) -> dict[str, Any]:
        """Kernel.kernel_info without debugpy (see the module's docstring)."""
        features = ["kernel subshells"] if self._supports_kernel_subshells else []
        if self.has_debugger:
            features.append("debugger")
        return {
            "protocol_version": kernel_protocol_version,
            "implementation": self.implementation,
            "implementation_version": self.implementation_version,
            "language_info": self.language_info,
            "banner": self.banner,
            "help_links": self.help_links,
            "supported_features": features,
        }

    def after_ready(self) -> None:
        """Called once, on the main thread, when the first kernel_info reply and the
        idle status after it have been sent: what a kernel starts in the background
        belongs here, off the way to the answer a client waits for."""

    def after_execute(self) -> None:
        """Called on the main thread after each execute_request's idle status has been
        sent: work a cell leaves (its history's commit) belongs here, not on the way
        to the cell's reply and idle, which a client waits for."""

    expects_request = False  # before_dispatch has work it may begin (else not called)

    def before_dispatch(self, content: dict[str, Any], cell_id: str | None) -> bool:
        """Called on the main thread with an execute_request's content (and its cell
        id) as it is about to be handled, when nothing else is being handled: work that
        can begin before ipykernel's handling does (a head start). Whether any did:
        then after_dispatch is called once the request has been handled."""
        return False

    def after_dispatch(self) -> None:
        """The request before_dispatch began work for has been handled."""

    @property
    def requests_waiting(self) -> bool:
        """Whether a shell message has come in that the main thread has not taken up
        yet (it is not worth preparing for a request that may not come next)."""
        return self._forwarded > self._dispatched

    async def kernel_info_request(self, stream: Any, ident: Any, parent: Any) -> None:
        await super().kernel_info_request(stream, ident, parent)
        if self._ready_said:
            return
        self._ready_said = True
        self._after_idle(self.after_ready)

    async def execute_request(self, stream: Any, ident: Any, parent: Any) -> None:
        spans.mark("request")
        self.cell_running = True
        try:
            await super().execute_request(stream, ident, parent)
        finally:
            self.cell_running = False
            spans.mark("replied")
            spans.flush()
            self._after_idle(self.after_execute)

    def _after_idle(self, call: Callable[[], None]) -> None:
        """call, on the main thread's loop, once the idle status that ends the request
        being handled has been sent.

        dispatch_shell publishes that status once the handler returns, through the
        IOPub thread's queue of sends; a call queued there after it runs when it is
        sent, and hands `call` back to the main thread's loop."""
        loop = asyncio.get_running_loop()
        later = functools.partial(loop.call_soon_threadsafe, call)
        loop.call_soon(self.iopub_thread.schedule, later)

    _forwarded = 0  # shell messages the shell channel's thread has passed on
    _dispatched = 0  # and those the main thread (or a subshell's) has taken up

    def _next(self, name: str) -> int:
        """The next number of one of the counts above, this kernel's own (next() of a
        count is one step under the GIL: none is lost from any thread; a miscount would
        only cost a head start its preparation in the idle time)."""
        count = self.__dict__.get(name) or self.__dict__.setdefault(name, itertools.count(1))
        return next(count)

    async def shell_main(self, subshell_id: str | None, msg: Any) -> None:
        if not _stop_aborting(msg):  # (ipykernel's own, not passed on by the shell thread)
            self._dispatched = max(self._dispatched, self._next("_dispatch_count"))
        began = subshell_id is None and self._may_begin_early() and self._begin_early(msg)
        try:
            await super().shell_main(subshell_id, msg)
        finally:
            if began:
                self._failsafe(self.after_dispatch)

    def _failsafe(self, call: Callable[[], Any]) -> Any:
        """call(), where a failure of ours must not keep a request from being handled
        (a cell stuck at [*]): logged, and the request taken the usual way."""
        try:
            return call()
        except Exception:
            self.log.exception("gorun_kernel: early work for a request failed")
            return False

    def _may_begin_early(self) -> bool:
        """Nothing is being handled on the main subshell, and a request that comes now
        will be handled, not aborted (ipykernel aborts after a failed cell)."""
        lock = self._main_asyncio_lock
        ready = self.expects_request and lock is not None and not lock.locked()
        return ready and not self._aborting

    def _begin_early(self, msg: Any) -> bool:
        spans.mark("early")
        peeked = peek_execute_request(self, msg)
        if peeked is None:
            return False
        content, metadata = peeked
        cell_id = (metadata or {}).get("cellId")
        return bool(self._failsafe(lambda: self.before_dispatch(content, cell_id)))

    async def shell_channel_thread_main(self, msg: Any) -> None:
        # While a cell runs, the main thread is in it and help requests would wait
        # for its end: the shell channel's own thread answers them.
        if self.cell_running:
            peeked = peek_help_request(self, msg)
            if peeked is not None:
                self.detach(self.answer_help_now(*peeked))
                return
            # Widget events go to the running program now, not after it: from any
            # subshell (JupyterLab's widget manager sends its comm messages on one).
            peeked = peek_request(self, msg, COMM_REQUESTS, any_subshell=True)
            if peeked is not None:
                self.answer_comm_now(*peeked)
                return
        self._forwarded = self._next("_forward_count")
        await super().shell_channel_thread_main(msg)

    async def complete_request(self, stream: Any, ident: Any, parent: Any) -> None:
        # A task of its own: the shell channel is free at once (kernel_help.py).
        self.detach(super().complete_request(stream, ident, parent))

    async def inspect_request(self, stream: Any, ident: Any, parent: Any) -> None:
        self.detach(super().inspect_request(stream, ident, parent))

    async def debug_request(self, stream: Any, ident: Any, parent: Any) -> None:
        # A DAP client sends nothing else before initialize's answer: no reordering.
        if parent["content"].get("command") == "initialize":
            self.detach(super().debug_request(stream, ident, parent))
        else:
            await super().debug_request(stream, ident, parent)

    async def process_control(self, msg: Any) -> None:
        await super().process_control(msg)
        if self.control_finished is not None:
            self.control_finished()

    def pre_handler_hook(self) -> None:
        """While a request is handled, SIGINT goes to `on_sigint`.

        ipykernel installs default_int_handler here: a SIGINT arriving outside
        the engine's own handler (before a cell's run starts, as its reply is
        sent) raised KeyboardInterrupt in the middle of the request, which
        ipykernel swallows without a reply: a cell stuck at [*] forever.
        post_handler_hook puts back what is saved here."""
        self.saved_sigint_handler = signal.signal(signal.SIGINT, self.on_sigint)

    # -- for the subclass ----------------------------------------------------

    def on_sigint(self, signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    async def answer_help_now(self, idents: list[Any], parent: dict[str, Any]) -> None:
        """Answer a completion or inspection request that came while a cell runs."""

    def answer_comm_now(self, idents: list[Any], msg: dict[str, Any]) -> None:
        """Handle a comm message (or comm_info_request) that came while a cell runs."""

    def detach(self, handler: Coroutine[Any, Any, Any]) -> None:
        """Run a request handler as a task of its own (kept until it is done)."""
        tasks: set[asyncio.Task[Any]] = self.__dict__.setdefault("_gorun_tasks", set())
        task = asyncio.ensure_future(handler)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def allow_stdin(self, allowed: bool) -> None:
        """Whether input requests go to the frontend during this request: raw_input
        checks it, and the base class never sets it."""
        self._allow_stdin = allowed

    def publish(self, parent: dict[str, Any], msg_type: str, content: dict[str, Any]) -> None:
        """An IOPub message as a reply to `parent` (not necessarily the current request)."""
        self.session.send(
            self.iopub_socket, msg_type, content, parent=parent, ident=self._topic(msg_type)
        )

    def publish_debug_event(self, event: dict[str, Any]) -> None:
        """A debug_event on IOPub (from any thread: the IOPub socket queues it)."""
        self.session.send(self.iopub_socket, "debug_event", event, ident=self._topic("debug_event"))

    def send_shell_reply(
        self, msg_type: str, content: dict[str, Any], parent: dict[str, Any], idents: list[Any]
    ) -> None:
        """A reply on the shell channel, from any thread's loop."""
        self.session.send(self.shell_stream, msg_type, json_clean(content), parent, idents)


def flush_streams_only_when_written() -> None:
    """sys.stdout's and sys.stderr's flushes, from now on, only when something was
    written to them (the kernel's own streams: set up by the kernel app before the
    kernel is made)."""
    flush_only_what_was_written(sys.stdout)
    flush_only_what_was_written(sys.stderr)


def drop_unshown_log_records(log: logging.Logger) -> None:
    """Debug calls that no handler shows, dropped before their record is made.

    The kernel app's logger is at DEBUG, its one handler at the app's log_level
    (WARNING unless --debug): ipykernel's debug lines made four records a cell,
    each dropped by the handler. With the logger at its handlers' lowest level,
    what is shown is the same, and the rest costs a level test."""
    if log.propagate or not log.handlers:
        return  # its records may go to handlers elsewhere: as it is
    lowest = min(h.level for h in log.handlers)
    if log.level < lowest:
        log.setLevel(lowest)


def flush_only_what_was_written(stream: Any) -> Callable[[], None]:
    """Until the returned function is called, `stream.flush()` (an ipykernel OutStream)
    flushes only when something was written to it since its last flush: not a wait
    for a round trip through the IOPub thread for nothing. Any other stream: as it is."""
    if not hasattr(stream, "_flush_pending") or "flush" in vars(stream):
        return lambda: None
    flush = stream.flush

    def flush_written() -> None:
        if stream._flush_pending or getattr(stream, "_subprocess_flush_pending", False):
            flush()

    stream.flush = flush_written
    return lambda: vars(stream).pop("flush", None)


def _stop_aborting(msg: list[Any]) -> bool:
    """ipykernel's own message to a subshell, that ends the aborting after a failure."""
    return len(msg) == 1 and getattr(msg[0], "buffer", None) == b"stop aborting"


def peek_execute_request(kernel: Kernel, msg: list[Any]) -> tuple[dict, dict] | None:
    """(content, metadata) of an execute_request for the main subshell, its signature
    checked but not recorded (ipykernel records it as it handles the message, and
    would refuse one recorded here as a replay); None for any other message."""
    try:
        _, frames = kernel.session.feed_identities(msg, copy=False)
        peeked = kernel.session.deserialize(frames, content=False, copy=False)
        header = peeked["header"]
        if header["msg_type"] != "execute_request" or header.get("subshell_id"):
            return None
        return kernel.session.unpack(peeked["content"]), peeked["metadata"]
    except Exception:  # not ours to judge: ipykernel says what is wrong with it
        return None


def peek_help_request(kernel: Kernel, msg: list[Any]) -> tuple[list[Any], dict[str, Any]] | None:
    """(identities, message) of a completion or inspection request on the main
    subshell; None for any other message, which must then take the usual way."""
    return peek_request(kernel, msg, HELP_REQUESTS)


def peek_request(
    kernel: Kernel, msg: list[Any], types: tuple[str, ...], any_subshell: bool = False
) -> tuple[list[Any], dict[str, Any]] | None:
    """(identities, message) of a request of one of `types` on the main subshell (or
    on any, with any_subshell)."""
    idents, frames = kernel.session.feed_identities(msg, copy=False)
    # A peek first: unpacking the content records the message's signature, and
    # ipykernel would then refuse any message we leave to it as a replay.
    header = kernel.session.deserialize(frames, content=False, copy=False)["header"]
    if header["msg_type"] not in types or (header.get("subshell_id") and not any_subshell):
        return None
    return idents, kernel.session.deserialize(frames, content=True, copy=False)


def allows_stdin(shell: Any) -> bool:
    """Whether the request running in an IPython shell's kernel takes input (a
    person is watching), as ipykernel set it; False outside a kernel."""
    return bool(getattr(getattr(shell, "kernel", None), "_allow_stdin", False))


Inspector = Callable[[str, int, int], "dict[str, Any] | None"]


def route_inspection(shell: Any, inspector: Inspector) -> bool:
    """Let `inspector(code, cursor_pos, detail_level)` answer the inspection
    requests (Shift-Tab) of the IPython kernel running `shell`, before IPython:
    it returns a reply, or None to leave the request to IPython.

    IPython has no inspection hook for the body of a cell magic: ipykernel's
    inspect_request calls the kernel's do_inspect, which looks up a Python
    name. The running kernel instance's do_inspect is wrapped (not the class's:
    other kernels in the process keep theirs). False when the shell runs in no
    kernel (a terminal IPython); routing twice changes nothing.
    """
    kernel = getattr(shell, "kernel", None)
    if kernel is None or not hasattr(kernel, "do_inspect"):
        return False
    current = kernel.do_inspect
    if getattr(current, "gorun_routed", False):
        return True

    def do_inspect(
        code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> Any:
        reply = inspector(code, cursor_pos, detail_level)
        if reply is not None:
            return reply
        return current(code, cursor_pos, detail_level, omit_sections)

    do_inspect.gorun_routed = True  # type: ignore[attr-defined]
    kernel.do_inspect = do_inspect
    return True
