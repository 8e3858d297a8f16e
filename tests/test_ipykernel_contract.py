"""The ipykernel internals the kernel uses (frontends/ipykernel_adapter.py), one test a hook.

Pure checks against the installed ipykernel and jupyter_client: the methods the
adapter overrides or calls exist with the signatures it relies on, and the
behaviour it depends on (the replay check, the IOPub topic) holds. A release
that moves a hook fails here, by name, instead of breaking help during a run
without a word.
"""

from __future__ import annotations

import inspect
import logging
import types
from importlib.metadata import version

import pytest
import zmq
from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelbase import Kernel
from jupyter_client.session import Session
from packaging.specifiers import SpecifierSet

from gorun_kernel.frontends import ipykernel_adapter
from gorun_kernel.frontends.ipykernel_adapter import AdaptedKernel


def params(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def source(function: object) -> str:
    return inspect.getsource(function)  # type: ignore[arg-type]


def test_the_installed_ipykernel_is_in_the_tested_range_and_pinned_to_it():
    assert version("ipykernel") in SpecifierSet(ipykernel_adapter.TESTED)
    from pathlib import Path

    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert f'"ipykernel{ipykernel_adapter.TESTED}"' in pyproject


@pytest.mark.parametrize(
    "name", ["execute_request", "complete_request", "inspect_request", "debug_request"]
)
def test_request_handlers_are_coroutines_taking_stream_ident_parent(name):
    handler = getattr(Kernel, name)
    assert inspect.iscoroutinefunction(handler), f"Kernel.{name} is no longer a coroutine"
    assert params(handler) == ["self", "stream", "ident", "parent"]
    # The kernel's own handlers are found by name through shell_handlers (debug_request:
    # control_handlers).
    assert name in (Kernel.control_msg_types if name == "debug_request" else Kernel.msg_types)


def test_help_handlers_call_the_do_methods_the_kernel_overrides():
    assert "self.do_complete(" in source(Kernel.complete_request)
    assert "self.do_inspect(" in source(Kernel.inspect_request)
    # An awaitable reply is awaited, a plain one taken as it is (the magic's
    # inspection answers without a coroutine, as IPythonKernel.do_inspect does).
    assert "isawaitable" in source(Kernel.inspect_request)


def test_shell_channel_thread_main_receives_every_shell_message():
    handler = Kernel.shell_channel_thread_main
    assert inspect.iscoroutinefunction(handler)
    assert params(handler) == ["self", "msg"]
    assert "on_recv(self.shell_channel_thread_main" in source(Kernel.start)


def test_process_control_is_the_control_channel_handler():
    assert inspect.iscoroutinefunction(Kernel.process_control)
    assert params(Kernel.process_control) == ["self", "msg"]
    assert "self.process_control" in inspect.getsource(Kernel)


def test_pre_handler_hook_saves_the_handler_post_handler_hook_restores():
    assert params(Kernel.pre_handler_hook) == ["self"]
    assert "self.saved_sigint_handler" in source(Kernel.post_handler_hook)
    for name in ("pre_handler_hook()", "post_handler_hook()"):
        assert name in inspect.getsource(Kernel), f"Kernel no longer calls {name}"


def test_allow_stdin_is_what_raw_input_checks():
    assert "_allow_stdin" in Kernel.class_trait_names()
    assert "self._allow_stdin" in source(Kernel.raw_input)


def test_topic_is_the_iopub_prefix_of_a_kernel():
    assert params(Kernel._topic) == ["self", "topic"]
    kernel = types.SimpleNamespace(ident="abc")
    assert Kernel._topic(kernel, "stream") == b"kernel.abc.stream"  # type: ignore[arg-type]


def test_finish_metadata_takes_parent_metadata_and_reply():
    assert params(Kernel.finish_metadata) == ["self", "parent", "metadata", "reply_content"]
    assert "self.finish_metadata(" in source(Kernel.execute_request)


def test_a_peek_at_a_header_leaves_the_message_to_ipykernel():
    """The replay check: deserialize(content=False) does not record the signature,
    content=True does (and a second full read is refused as a replay)."""
    session = Session(key=b"secret")
    msg = session.msg("complete_request", {"code": "fmt.", "cursor_pos": 4})
    frames = session.serialize(msg)[1:]  # after the delimiter: signature, header, ...
    assert params(Session.feed_identities)[:2] == ["self", "msg_list"]
    for _ in range(2):
        peek = session.deserialize(frames, content=False, copy=True)
        assert peek["header"]["msg_type"] == "complete_request"
    full = session.deserialize(frames, content=True, copy=True)
    assert full["content"]["cursor_pos"] == 4
    with pytest.raises(ValueError, match="Duplicate Signature"):
        session.deserialize(frames, content=True, copy=True)


def test_peek_help_request_reads_only_help_requests_in_full():
    session = Session(key=b"secret")
    kernel = types.SimpleNamespace(session=session)
    # As the shell channel's thread receives them: zmq frames, not copied.
    help_msg = [
        zmq.Message(f)
        for f in session.serialize(session.msg("inspect_request", {"code": "x", "cursor_pos": 1}))
    ]
    other = [
        zmq.Message(f) for f in session.serialize(session.msg("execute_request", {"code": "x"}))
    ]
    idents, parent = ipykernel_adapter.peek_help_request(kernel, help_msg)  # type: ignore[misc,arg-type]
    assert idents == []  # sent with no identities
    assert parent["content"]["code"] == "x"
    assert ipykernel_adapter.peek_help_request(kernel, other) is None  # type: ignore[arg-type]
    # Left to ipykernel, the other message still reads (no replay recorded).
    session.deserialize(session.feed_identities(other, copy=False)[1], content=True, copy=False)


def test_peek_execute_request_reads_an_execute_request_and_leaves_it_to_ipykernel():
    session = Session(key=b"secret")
    kernel = types.SimpleNamespace(session=session)
    msg = session.msg("execute_request", {"code": "x := 1", "silent": False})
    msg["metadata"] = {"cellId": "c1"}
    frames = [zmq.Message(f) for f in session.serialize(msg)]
    content, metadata = ipykernel_adapter.peek_execute_request(kernel, frames)  # type: ignore[misc,arg-type]
    assert content["code"] == "x := 1"
    assert metadata == {"cellId": "c1"}
    # ipykernel's own read after the peek: no replay recorded.
    session.deserialize(session.feed_identities(frames, copy=False)[1], content=True, copy=False)
    # Read once by ipykernel, the same message again is a replay: the peek refuses it too.
    assert ipykernel_adapter.peek_execute_request(kernel, frames) is None  # type: ignore[arg-type]
    forged = [zmq.Message(f) for f in Session(key=b"other").serialize(msg)]
    assert ipykernel_adapter.peek_execute_request(kernel, forged) is None  # type: ignore[arg-type]
    other = [zmq.Message(f) for f in session.serialize(session.msg("kernel_info_request", {}))]
    assert ipykernel_adapter.peek_execute_request(kernel, other) is None  # type: ignore[arg-type]
    sub = session.msg("execute_request", {"code": "x"})
    sub["header"]["subshell_id"] = "s1"
    on_subshell = [zmq.Message(f) for f in session.serialize(sub)]
    assert ipykernel_adapter.peek_execute_request(kernel, on_subshell) is None  # type: ignore[arg-type]


def test_a_failure_of_early_work_leaves_the_request_to_ipykernel(caplog):
    """A bug in before_dispatch (or after_dispatch) is logged; the request is then
    handled as any: never a cell left at [*] by work that was only to save time."""
    session = Session(key=b"secret")

    def broken(content: dict, cell_id: str | None) -> bool:
        raise RuntimeError("a bug of ours")

    kernel = types.SimpleNamespace(
        session=session, before_dispatch=broken, log=logging.getLogger("contract")
    )
    kernel._failsafe = lambda call: AdaptedKernel._failsafe(kernel, call)  # type: ignore[arg-type]
    msg = [zmq.Message(f) for f in session.serialize(session.msg("execute_request", {"code": "x"}))]
    with caplog.at_level(logging.ERROR, logger="contract"):
        assert AdaptedKernel._begin_early(kernel, msg) is False  # type: ignore[arg-type]
    assert "a bug of ours" in caplog.text
    # The message is still whole for ipykernel (its signature not recorded).
    session.deserialize(session.feed_identities(msg, copy=False)[1], content=True, copy=False)


def test_shell_main_handles_the_main_subshells_messages_one_at_a_time_under_its_lock():
    """before_dispatch is called from shell_main when the main subshell's lock is free:
    nothing else is being handled there, and the message is the next one handled."""
    assert params(Kernel.shell_main) == ["self", "subshell_id", "msg"]
    text = source(Kernel.shell_main)
    assert "asyncio_lock = self._main_asyncio_lock" in text
    assert "async with asyncio_lock:" in text
    assert "await self.dispatch_shell(msg, subshell_id=subshell_id)" in text


def test_dispatch_aborts_execute_requests_while_aborting_and_says_when_to_stop():
    """A request that arrives while ipykernel aborts (after a failed cell) is not run:
    no head start then. ipykernel's own message that ends the aborting is recognised."""
    text = source(Kernel.dispatch_shell)
    assert 'msg[0].buffer == b"stop aborting"' in text
    assert "aborting = self._aborting" in text
    assert ipykernel_adapter._stop_aborting([zmq.Message(b"stop aborting")])
    assert not ipykernel_adapter._stop_aborting([zmq.Message(b"x"), zmq.Message(b"y")])


def test_execute_request_counts_a_cell_unless_silent_and_reads_its_cell_id():
    """The execution count a head start expects (kernel_cells.start_ahead), and the
    request's fields it compares, are read as ipykernel reads them."""
    text = source(Kernel.execute_request)
    assert "if not silent:\n            self.execution_count += 1" in text
    assert 'store_history = content.get("store_history", not silent)' in text
    assert 'allow_stdin = content.get("allow_stdin", False)' in text
    assert 'cell_id = cell_meta.get("cellId")' in text


def test_ipython_kernel_do_inspect_is_an_instance_overridable_method():
    """The magic's Shift-Tab: the running IPythonKernel's do_inspect is wrapped on
    the instance, which inspect_request reaches through self."""
    assert params(IPythonKernel.do_inspect)[:4] == ["self", "code", "cursor_pos", "detail_level"]
    assert "do_inspect" not in IPythonKernel.class_trait_names()
    from ipykernel.zmqshell import ZMQInteractiveShell

    assert "kernel" in ZMQInteractiveShell.class_trait_names()


def test_route_inspection_answers_first_and_falls_back():
    class FakeKernel:
        def do_inspect(self, code, cursor_pos, detail_level=0, omit_sections=()):
            return {"python": code}

    kernel = FakeKernel()
    shell = types.SimpleNamespace(kernel=kernel)
    go = {"found": True}
    assert ipykernel_adapter.route_inspection(shell, lambda c, p, d: go if c == "go" else None)
    assert ipykernel_adapter.route_inspection(shell, lambda c, p, d: None)  # once only
    assert kernel.do_inspect("go", 1) is go
    assert kernel.do_inspect("py", 1) == {"python": "py"}
    assert FakeKernel().do_inspect("go", 1) == {"python": "go"}  # the class is untouched
    assert not ipykernel_adapter.route_inspection(types.SimpleNamespace(), lambda *a: None)


def test_the_adapter_overrides_exactly_the_listed_hooks():
    overridden = {
        name
        for name, value in vars(AdaptedKernel).items()
        if callable(value) and hasattr(Kernel, name)
    }
    assert overridden == {
        "execute_request",
        "shell_channel_thread_main",
        "complete_request",
        "inspect_request",
        "process_control",
        "pre_handler_hook",
        "debug_request",
        "kernel_info_request",
        "shell_main",
    }


def test_kernel_info_is_the_base_classes_without_the_debugger():
    # Kernel.kernel_info imports ipykernel.debugger (debugpy: 0.1-0.4 s before the
    # kernel's first reply) to list a "debugger" feature; ours lists it when the
    # subclass has one (has_debugger: the Go kernel's, relayed to Delve).
    fields = dict(
        implementation="gorun_kernel", implementation_version="1", language_info={"name": "go"},
        banner="b", help_links=[], _supports_kernel_subshells=True, has_debugger=False,
    )  # fmt: skip
    base = Kernel.kernel_info.fget(types.SimpleNamespace(**fields))  # type: ignore[attr-defined]
    ours = AdaptedKernel.kernel_info.fget(types.SimpleNamespace(**fields))  # type: ignore[attr-defined]
    assert set(ours) == set(base)
    assert {k: v for k, v in ours.items() if k != "supported_features"} == {
        k: v for k, v in base.items() if k != "supported_features"
    }
    assert ours["supported_features"] == [f for f in base["supported_features"] if f != "debugger"]
    assert "kernel subshells" in ours["supported_features"]
    assert "from .debugger import" in source(Kernel.kernel_info.fget)  # why ours exists
    with_debugger = types.SimpleNamespace(**{**fields, "has_debugger": True})
    ours = AdaptedKernel.kernel_info.fget(with_debugger)  # type: ignore[attr-defined]
    assert ours["supported_features"] == ["kernel subshells", "debugger"]


def test_the_reply_flushes_stdout_then_stderr_and_a_write_marks_a_flush_pending():
    # flush_only_what_was_written: each flushes only what was written to it (the idle
    # status, after the reply, is what orders a cell's outputs for clients).
    from ipykernel.iostream import OutStream

    body = source(Kernel.execute_request)
    assert 0 < body.index("sys.stdout.flush()") < body.index("sys.stderr.flush()")
    assert "self._schedule_flush()" in source(OutStream.write)
    assert "self._flush_pending = True" in source(OutStream._schedule_flush)
    assert "self._flush_pending = False" in source(OutStream._flush)
    assert "self._subprocess_flush_pending = True" in source(OutStream.write)


def test_flush_only_what_was_written_then_as_before():
    class Stream:
        _flush_pending = False
        _subprocess_flush_pending = False
        flushes = 0

        def flush(self) -> None:
            self.flushes += 1

    stream = Stream()
    restore = ipykernel_adapter.flush_only_what_was_written(stream)
    stream.flush()
    assert stream.flushes == 0  # nothing written: no round trip
    stream._flush_pending = True
    stream.flush()
    assert stream.flushes == 1
    restore()
    stream._flush_pending = False
    stream.flush()
    assert stream.flushes == 2  # put back: every flush flushes
    other = types.SimpleNamespace(flush=lambda: None)  # not an OutStream: left alone
    ipykernel_adapter.flush_only_what_was_written(other)()


def test_the_reply_waits_no_sleep_of_ipykernels():
    # ipykernel sleeps _execute_sleep (0.5 ms) before each execute_reply; the adapter
    # sets it to 0, as a configurable trait still (a tenth of a cell's re-run).
    body = source(Kernel.execute_request)
    assert "time.sleep(self._execute_sleep)" in body
    assert body.index("sys.stderr.flush()") < body.index("time.sleep(self._execute_sleep)")
    assert Kernel.class_traits()["_execute_sleep"].default_value > 0
    trait = AdaptedKernel.class_traits()["_execute_sleep"]
    assert trait.default_value == 0 and trait.metadata.get("config") is True


def test_the_idle_status_follows_a_handler_through_the_iopub_threads_queue_of_sends():
    # after_ready and after_execute are queued on the IOPub thread once the handler
    # has returned: they run after the idle status only if dispatch_shell publishes
    # that status after the handler, synchronously, and IOPub sends go through the
    # same ordered queue.
    from ipykernel.iostream import IOPubThread

    assert params(Kernel.kernel_info_request) == ["self", "stream", "ident", "parent"]
    dispatch = source(Kernel.dispatch_shell)
    assert dispatch.index("await result") < dispatch.rindex('_publish_status_and_flush("idle"')
    assert "self.schedule(" in source(IOPubThread.send_multipart)
    assert "self._events.append(f)" in source(IOPubThread.schedule)
    assert "iopub_thread" in Kernel.class_traits()


def test_the_app_logger_makes_records_its_handler_drops():
    # drop_unshown_log_records: traitlets' app logger is at DEBUG, not propagating,
    # its one handler at the app's level; the logger is raised to that level, and
    # what is shown stays the same.
    import logging

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp()
    log = app.log
    assert log.level == logging.DEBUG and not log.propagate
    assert [h.level for h in log.handlers] == [logging.WARNING]
    made = []

    def record(r: logging.LogRecord) -> bool:  # a record was made
        made.append(r)
        return False  # (and not shown: the test's own output stays clean)

    log.addFilter(record)
    try:
        log.debug("unshown")
        assert len(made) == 1
        ipykernel_adapter.drop_unshown_log_records(log)
        log.debug("unshown")
        log.warning("shown")
        assert [r.getMessage() for r in made] == ["unshown", "shown"]
        assert log.isEnabledFor(logging.WARNING) and not log.isEnabledFor(logging.INFO)
    finally:  # the app's logger is the process's: as it was for other tests
        log.removeFilter(record)
        log.setLevel(logging.DEBUG)
