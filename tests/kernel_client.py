"""Helpers to drive a real gorun kernel process through jupyter_client."""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

# Seconds a kernel may take to start and answer (a bound on a hang, never a speed
# figure): jupyter_client's 60 have been too few on a loaded 2-core CI machine.
START_TIMEOUT = 180.0


def ipc() -> dict[str, str]:
    """KernelManager arguments for Unix sockets in a directory of the kernel's own.

    Not TCP: jupyter_client picks five free ports and the kernel binds them a moment
    later; on a busy machine another process may take one in between ("Address
    already in use": the kernel dies before it is ready). An absolute path, as the
    kernel may start in another directory; removed when the tests end.
    """
    where = tempfile.mkdtemp(prefix="gorun-test-kernel-")
    atexit.register(shutil.rmtree, where, True)
    return {"transport": "ipc", "ip": os.path.join(where, "kernel")}


@dataclass
class Result:
    reply: dict[str, Any]
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.reply["content"]["status"]

    def stream(self, name: str = "stdout") -> str:
        return "".join(c["text"] for t, c in self.messages if t == "stream" and c["name"] == name)

    def of_type(self, msg_type: str) -> list[dict[str, Any]]:
        return [c for t, c in self.messages if t == msg_type]

    @property
    def value(self) -> str | None:
        results = self.of_type("execute_result")
        return results[0]["data"]["text/plain"] if results else None


def start(
    interrupt_mode: str | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    *,
    kernel_name: str = "gorun",
    argv: list[str] | None = None,
    kernel_spec_manager: KernelSpecManager | None = None,
    ready: bool = True,
) -> tuple[KernelManager, BlockingKernelClient]:
    """Start a kernel on ipc sockets: every test kernel starts here, with one timeout policy.

    env: variables added to this process's environment for it. kernel_name: "python3"
    for the magic in a real IPython kernel. argv: the command instead of the spec's.
    kernel_spec_manager: where the spec is looked up (an installed one, say). ready:
    False returns as soon as the process runs (its client's channels started), for a
    test that watches what a kernel does while it starts.
    """
    spec = {} if kernel_spec_manager is None else {"kernel_spec_manager": kernel_spec_manager}
    km = KernelManager(kernel_name=kernel_name, **spec, **ipc())
    if interrupt_mode is not None:
        km.kernel_spec.interrupt_mode = interrupt_mode
    if argv is not None:
        km.kernel_spec.argv = argv
    extra: dict[str, object] = {}
    if env is not None:
        extra["env"] = {**os.environ, **env}
    if cwd is not None:
        extra["cwd"] = cwd
    km.start_kernel(**extra)
    kc = km.client()
    kc.start_channels()
    if ready:
        try:
            kc.wait_for_ready(timeout=START_TIMEOUT)
        except BaseException:
            stop(km, kc, now=True)
            raise
    return km, kc


def stop(km: KernelManager, kc: BlockingKernelClient, now: bool = False) -> None:
    """Close the client's channels and shut the kernel down (now: kill it, no request)."""
    kc.stop_channels()
    km.shutdown_kernel(now=now)


@contextlib.contextmanager
def running(
    interrupt_mode: str | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    *,
    now: bool = False,
    **options: Any,
) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    """start()'s kernel for a with block, shut down when it ends (now: killed)."""
    km, kc = start(interrupt_mode, env, cwd, **options)
    try:
        yield km, kc
    finally:
        stop(km, kc, now=now)


def execute(
    kc: BlockingKernelClient,
    code: str,
    timeout: float = 120,
    answers: list[str] | None = None,
    allow_stdin: bool = False,
    on_message: Callable[[str, dict[str, Any]], object] | None = None,
    cell_id: str | None = None,
    stop_on_error: bool = True,
) -> Result:
    """Execute code and collect its IOPub output until the kernel is idle again.

    cell_id: sent as JupyterLab does, in the request's metadata (cellId).
    stop_on_error=False: a cell expected to fail, followed at once by another:
    after an error reply ipykernel aborts the requests that arrive before its
    next loop turn ("aborted"), and a fast client's next request can be one.
    """
    stdin = allow_stdin or answers is not None
    if cell_id is None:
        msg_id = kc.execute(code, allow_stdin=stdin, stop_on_error=stop_on_error)
    else:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": stdin, "stop_on_error": stop_on_error}  # fmt: skip
        msg = kc.session.msg("execute_request", content, metadata={"cellId": cell_id})
        kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
    result = Result(reply={})
    pending = list(answers or [])
    deadline = time.monotonic() + timeout
    idle = False
    while not (idle and result.reply):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no reply to {code!r} within {timeout}s")
        if answers is not None:
            try:
                req = kc.get_stdin_msg(timeout=0.01)
            except queue.Empty:
                pass
            else:
                result.prompts.append(req["content"]["prompt"])
                kc.input(pending.pop(0) if pending else "\x04")
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            msg = None
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status":
                idle = content["execution_state"] == "idle"
            elif kind != "execute_input":
                result.messages.append((kind, content))
                if on_message is not None:
                    on_message(kind, content)
        if not result.reply:
            try:
                reply = kc.get_shell_msg(timeout=0.01)
            except queue.Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                result.reply = reply
    return result


def execute_and_interrupt(
    km: KernelManager,
    kc: BlockingKernelClient,
    code: str,
    marker: str,
    stream: str = "stdout",
    timeout: float = 120,
    stop_on_error: bool = True,
) -> tuple[Result, list[int], float]:
    """Execute code; when output on `stream` starts with `marker`, interrupt the kernel.

    Returns the result, the numbers printed on the marker line (pids, say), and
    the seconds from the interrupt to the reply.
    """
    numbers: list[int] = []
    sent: list[float] = []

    def on_message(kind: str, content: dict[str, Any]) -> None:
        matches = kind == "stream" and content["name"] == stream
        if matches and content["text"].startswith(marker) and not sent:
            numbers.extend(int(w) for w in content["text"].split() if w.isdigit())
            sent.append(time.monotonic())
            threading.Thread(target=km.interrupt_kernel).start()

    result = execute(kc, code, timeout=timeout, on_message=on_message, stop_on_error=stop_on_error)
    assert sent, f"the program never printed {marker!r}"
    return result, numbers, time.monotonic() - sent[0]


def reply_to(kc: BlockingKernelClient, msg_id: str, timeout: float = 120) -> dict[str, Any]:
    """The shell reply (the whole message) to msg_id, passing over any other reply.

    Never take "the next shell message" instead: jupyter_client's wait_for_ready
    sends kernel_info again each second until one is answered, so a kernel slow to
    start (a loaded machine) leaves kernel_info replies nobody has read yet. Help
    replies may also come after other replies.
    """
    deadline = time.monotonic() + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


# Help replies: more than the patient tests' time box (GORUN_HELP_TIMEOUT=300), which a
# first build of the typeinfo helper (a new source, a cold cache, a busy machine) may use.
HELP_TIMEOUT = 600.0


def complete(
    kc: BlockingKernelClient, code: str, cursor: int | None = None, timeout: float = HELP_TIMEOUT
) -> dict[str, Any]:
    """A complete_request's reply content (cursor: the end of code by default)."""
    msg_id = kc.complete(code, len(code) if cursor is None else cursor)
    return reply_to(kc, msg_id, timeout)["content"]


def inspect(
    kc: BlockingKernelClient,
    code: str,
    cursor: int,
    detail_level: int = 0,
    timeout: float = HELP_TIMEOUT,
) -> dict[str, Any]:
    return reply_to(kc, kc.inspect(code, cursor, detail_level), timeout)["content"]


def is_complete(kc: BlockingKernelClient, code: str, timeout: float = 120) -> dict[str, Any]:
    return reply_to(kc, kc.is_complete(code), timeout)["content"]


def kernel_info(kc: BlockingKernelClient, timeout: float = 120) -> dict[str, Any]:
    return reply_to(kc, kc.kernel_info(), timeout)["content"]
