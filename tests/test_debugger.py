"""The Jupyter debug protocol through a real Go kernel, relayed to a real Delve.

The client speaks as JupyterLab does (and as ipykernel's tests/test_debugger.py
do): debug_request on the control channel, debug_event on IOPub; cells are named
by the paths debugInfo's hash method and prefix give (murmur2 of the code).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from goproxy import network_available
from kernel_client import running

from gorun_kernel.debug import cells, delve

pytestmark = pytest.mark.e2e

TIMEOUT = 120.0  # a bound on a hang: a debug build and Delve's start on a loaded machine

DECLS = """type Point struct{ X, Y int }

func double(n int) int {
	m := n * 2
	return m
}
"""

SNIPPET = """n := 21
s := "hi"
p := Point{1, 2}
xs := []int{1, 2, 3}
m := map[string]int{"a": 1}
r := double(n)
fmt.Println(r, s, p, xs, m)
"""


@pytest.fixture(scope="session")
def dlv() -> str:
    return dlv_path()


def dlv_path() -> str:
    """Delve, built once per toolchain with the real module proxy into a cache the
    test runs share (the hermetic proxy serves no Delve); skipped when offline."""
    version = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    home = Path(os.environ.get("GORUN_TEST_TOOLS") or Path.home() / ".cache" / "gorun-tests")
    target = home / f"dlv-{delve.VERSION}-{version}" / "dlv"
    if target.is_file():
        return str(target)
    if not network_available():
        pytest.skip("no network: Delve cannot be built from proxy.golang.org")
    env = {k: v for k, v in os.environ.items() if k not in ("GOFLAGS", "GOOS", "GOARCH")}
    env.update(
        GOPROXY="https://proxy.golang.org",
        GOSUMDB="sum.golang.org",
        GOBIN=str(target.parent),
        GOMODCACHE=str(home / "modcache"),
        GOFLAGS="-buildvcs=false -modcacherw",
    )
    subprocess.run(
        ["go", "install", f"{delve.MODULE}/cmd/dlv@{delve.VERSION}"], env=env, check=True
    )
    return str(target)


class Debug:
    """A JupyterLab-like debug client of one kernel."""

    def __init__(self, kc: Any) -> None:
        self.kc = kc
        self.seq = 0
        self.events: list[dict[str, Any]] = []
        self.iopub: list[tuple[str, dict[str, Any]]] = []

    def request(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        self.seq += 1
        content = {"type": "request", "seq": self.seq, "command": command}
        content["arguments"] = arguments or {}
        msg = self.kc.session.msg("debug_request", content)
        self.kc.control_channel.send(msg)
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self.kc.control_channel.get_msg(timeout=deadline - time.monotonic())
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                return reply["content"]

    def ok(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = self.request(command, arguments)
        assert reply["success"], reply
        return reply.get("body", {})

    def start(self) -> dict[str, Any]:
        arguments = {"clientID": "test", "adapterID": "go", "linesStartAt1": True}
        self.ok("initialize", {**arguments, "supportsVariableType": True})
        self.ok("attach")
        return self.ok("debugInfo")

    def breakpoints(self, code: str, lines: list[int]) -> str:
        path = self.ok("dumpCell", {"code": code})["sourcePath"]
        points = [{"line": n} for n in lines]
        self.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": points})
        self.ok("configurationDone")
        return path

    def wait_event(self, name: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self.kc.get_iopub_msg(timeout=deadline - time.monotonic())
            kind, content = msg["header"]["msg_type"], msg["content"]
            self.iopub.append((kind, content))
            if kind == "debug_event":
                self.events.append(content)
                if content["event"] == name:
                    return content

    def finish(self, msg_id: str) -> dict[str, Any]:
        """The execute reply; the IOPub messages up to the cell's idle status."""
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        while reply["parent_header"].get("msg_id") != msg_id:  # kernel_info's, from the start
            reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError("no idle status after the reply") from None
            kind, content = msg["header"]["msg_type"], msg["content"]
            self.iopub.append((kind, content))
            if (
                kind == "status"
                and content["execution_state"] == "idle"
                and msg["parent_header"].get("msg_id") == msg_id
            ):
                return reply["content"]

    def stdout(self) -> str:
        return "".join(c["text"] for k, c in self.iopub if k == "stream" and c["name"] == "stdout")

    def top(self, thread: int) -> dict[str, Any]:
        frames = self.ok("stackTrace", {"threadId": thread})["stackFrames"]
        return frames[0]

    def locals(self, frame: dict[str, Any]) -> dict[str, dict[str, Any]]:
        scopes = self.ok("scopes", {"frameId": frame["id"]})["scopes"]
        ref = next(s for s in scopes if s["name"].startswith("Locals"))["variablesReference"]
        found = self.ok("variables", {"variablesReference": ref})["variables"]
        return {v["name"]: v for v in found}


@pytest.fixture
def kernel(dlv: str) -> Iterator[tuple[Any, Any]]:
    with running(env={"GORUN_DLV": dlv}) as (km, kc):
        yield km, kc


def run_quietly(kc: Any, code: str) -> None:
    from kernel_client import execute

    result = execute(kc, code)
    assert result.status == "ok", result.messages


def test_kernel_info_says_debugger(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    kc.kernel_info()
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert "debugger" in reply["content"]["supported_features"]


def test_debug_info_names_cells_as_jupyterlab_computes_them(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    dbg = Debug(kc)
    info = dbg.start()
    assert info["hashMethod"] == "Murmur2" and info["tmpFileSuffix"] == ".go"
    path = dbg.ok("dumpCell", {"code": SNIPPET})["sourcePath"]
    assert path == f"{info['tmpFilePrefix']}{cells.murmur2(SNIPPET, info['hashSeed'])}.go"
    assert Path(path).read_text() == SNIPPET


def test_modules_answers_an_empty_list_as_jupyterlab_reads_it(kernel: tuple[Any, Any]) -> None:
    """JupyterLab sends `modules` after every cell run and reads body.modules."""
    _, kc = kernel
    assert Debug(kc).ok("modules", {}) == {"modules": [], "totalModules": 0}


def test_debug_info_says_started_from_the_initialize_reply_on(kernel: tuple[Any, Any]) -> None:
    """JupyterLab's session is started once initialize answers, and any debugInfo reply
    after that sets its started flag; its handlers ask for debugInfo while the bug
    button's start is still between initialize and attach (as ipykernel, started
    must already be true there, or JupyterLab drops the gutter's breakpoints)."""
    _, kc = kernel
    dbg = Debug(kc)
    assert not dbg.ok("debugInfo")["isStarted"]
    dbg.ok("initialize", {"clientID": "jupyterlab", "adapterID": "gorun", "linesStartAt1": True})
    assert dbg.ok("debugInfo")["isStarted"]
    dbg.ok("attach")
    assert dbg.ok("debugInfo")["isStarted"]
    dbg.ok("disconnect")
    assert not dbg.ok("debugInfo")["isStarted"]


def test_snippet_breakpoint_locals_step_into_out_over_and_continue(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    run_quietly(kc, DECLS)  # cell [1]
    dbg = Debug(kc)
    dbg.start()
    decls = dbg.ok("dumpCell", {"code": DECLS})["sourcePath"]
    path = dbg.breakpoints(SNIPPET, [6])
    msg_id = kc.execute(SNIPPET)
    stopped = dbg.wait_event("stopped")
    thread = stopped["body"]["threadId"]
    frame = dbg.top(thread)
    assert (frame["source"]["path"], frame["line"]) == (path, 6)
    found = dbg.locals(frame)
    assert found["n"]["value"] == "21" and found["n"]["type"] == "int"
    assert found["s"]["value"] == '"hi"'
    assert "X: 1" in found["p"]["value"] and found["p"]["variablesReference"] > 0
    assert found["xs"]["value"].endswith("[1,2,3]") and found["xs"]["variablesReference"] > 0
    assert '"a": 1' in found["m"]["value"] and found["m"]["variablesReference"] > 0
    inspected = {v["name"]: v for v in dbg.ok("inspectVariables")["variables"]}
    assert inspected["n"]["value"] == "21"

    dbg.ok("stepIn", {"threadId": thread})
    dbg.wait_event("stopped")
    frame = dbg.top(thread)
    assert frame["source"]["path"] == decls and frame["name"] == "main.double"
    dbg.ok("stepOut", {"threadId": thread})
    dbg.wait_event("stopped")
    frame = dbg.top(thread)
    assert (frame["source"]["path"], frame["line"]) == (path, 6)
    dbg.ok("next", {"threadId": thread})
    dbg.wait_event("stopped")
    assert dbg.top(thread)["line"] == 7
    dbg.ok("continue", {"threadId": thread})
    reply = dbg.finish(msg_id)
    assert reply["status"] == "ok"
    assert dbg.stdout() == "42 hi {1 2} [1 2 3] map[a:1]\n"


PROGRAM = """package main

import "fmt"

func main() {
	x := 5
	fmt.Println("x is", x)
}
"""

TEST_CELL = """%%gotest
func TestAdd(t *testing.T) {
	v := 2 + 3
	if v != 5 {
		t.Fatal(v)
	}
}
"""


def descendants(pid: int) -> set[int]:
    """Every process below pid, from /proc's children lists."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                if kid not in found:
                    found.add(kid)
                    todo.append(kid)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_at(dbg: Debug, code: str, line: int) -> tuple[str, str, int]:
    """Run code with a breakpoint at line: (its path, the request's msg_id, the thread)."""
    path = dbg.breakpoints(code, [line])
    msg_id = dbg.kc.execute(code)
    thread = dbg.wait_event("stopped")["body"]["threadId"]
    frame = dbg.top(thread)
    assert (frame["source"]["path"], frame["line"]) == (path, line)
    return path, msg_id, thread


def test_program_cell_stops_and_finishes_with_its_output(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    dbg = Debug(kc)
    dbg.start()
    _, msg_id, thread = stop_at(dbg, PROGRAM, 7)
    assert dbg.locals(dbg.top(thread))["x"]["value"] == "5"
    dbg.ok("continue", {"threadId": thread})
    assert dbg.finish(msg_id)["status"] == "ok"
    assert dbg.stdout() == "x is 5\n"


def test_test_cell_stops_at_its_line(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    dbg = Debug(kc)
    dbg.start()
    _, msg_id, thread = stop_at(dbg, TEST_CELL, 4)
    assert dbg.locals(dbg.top(thread))["v"]["value"] == "5"
    dbg.ok("continue", {"threadId": thread})
    assert dbg.finish(msg_id)["status"] == "ok"


def test_interrupt_while_stopped_ends_the_run_and_the_kernel_goes_on(
    kernel: tuple[Any, Any],
) -> None:
    km, kc = kernel
    dbg = Debug(kc)
    dbg.start()
    _, msg_id, _ = stop_at(dbg, PROGRAM, 6)
    # Requests are still answered while the program is stopped.
    assert dbg.ok("debugInfo")["stoppedThreads"]
    km.interrupt_kernel()
    reply = dbg.finish(msg_id)
    assert reply["status"] == "error"
    assert "x is" not in dbg.stdout()
    dbg.ok("disconnect")
    from kernel_client import execute

    assert execute(kc, 'fmt.Println("after")').stream() == "after\n"


def test_restart_while_stopped_leaves_no_process(kernel: tuple[Any, Any]) -> None:
    km, kc = kernel
    dbg = Debug(kc)
    dbg.start()
    stop_at(dbg, PROGRAM, 6)
    below = descendants(km.provisioner.process.pid)
    assert len(below) >= 2  # dlv and the program, at least
    km.restart_kernel(now=False)
    deadline = time.monotonic() + TIMEOUT
    while any(alive(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the processes' end: there is nothing to wait on
    assert [p for p in below if alive(p)] == []


def test_debugger_off_again_runs_cells_as_before(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    dbg = Debug(kc)
    dbg.start()
    dbg.breakpoints(PROGRAM, [6])
    dbg.ok("disconnect")
    from kernel_client import execute

    result = execute(kc, PROGRAM)
    assert result.status == "ok" and result.stream() == "x is 5\n"
    assert result.of_type("debug_event") == []
    info = dbg.ok("debugInfo")
    assert not info["isStarted"] and info["breakpoints"] == []


def test_without_delve_the_debugger_says_so_and_cells_run(tmp_path: Path) -> None:
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p)
    with running(env={"GORUN_DLV": "", "PATH": path}) as (_, kc):
        if shutil.which("dlv", path=path):
            pytest.skip("dlv is on PATH here")
        dbg = Debug(kc)
        reply = dbg.request("initialize", {"adapterID": "go"})
        assert not reply["success"]
        assert reply["message"].startswith("The debugger needs Delve (dlv v1.27.2)")
        from kernel_client import execute

        assert execute(kc, 'fmt.Println("still here")').stream() == "still here\n"


EXIT_CELL = 'fmt.Println("before")\nos.Exit(3)\n'
PANIC_CELL = 'xs := []int{1}\ni := 3\nfmt.Println("before")\nfmt.Println(xs[i])\n'


def cell_label(text: str) -> str:
    """text with its cell numbers ([2]) and code offsets (+0x2e8: a debug build's
    code is not an optimised one's) made alike: the same cell, run twice."""
    return re.sub(r"\+0x[0-9a-f]+", "+0x", re.sub(r"\[\d+\]", "[n]", text))


def failure(result: Any) -> tuple[str, str, str]:
    """A failed cell's ename, evalue and traceback text (ANSI colours left in)."""
    content = result.reply["content"]
    errors = result.of_type("error")
    assert len(errors) == 1, result.messages
    return content["ename"], content["evalue"], "\n".join(errors[0]["traceback"])


def test_exit_status_with_the_debugger_on_is_the_programs(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    from kernel_client import execute

    off = execute(kc, EXIT_CELL, stop_on_error=False)
    dbg = Debug(kc)
    dbg.start()
    on = execute(kc, EXIT_CELL, stop_on_error=False)
    assert on.status == "error" and on.stream() == "before\n"
    assert failure(on)[:2] == failure(off)[:2] == ("ExitError", "exit status 3")


def test_a_panic_with_the_debugger_on_reports_as_a_panic_with_cell_lines(
    kernel: tuple[Any, Any],
) -> None:
    _, kc = kernel
    from kernel_client import execute

    off = execute(kc, PANIC_CELL, stop_on_error=False)
    ename, evalue, trace = failure(off)
    assert ename == "GoPanic" and "line 4" in evalue + trace  # the debugger-off baseline
    dbg = Debug(kc)
    dbg.start()
    msg_id = kc.execute(PANIC_CELL, stop_on_error=False)
    # Delve stops at an unrecovered panic (JupyterLab shows where); continue lets it end.
    stopped = dbg.wait_event("stopped")
    assert stopped["body"]["reason"] in ("exception", "panic"), stopped
    dbg.ok("continue", {"threadId": stopped["body"]["threadId"]})
    reply = dbg.finish(msg_id)
    assert reply["status"] == "error"
    assert (reply["ename"], cell_label(reply["evalue"])) == (ename, cell_label(evalue))
    errors = [c for k, c in dbg.iopub if k == "error"]
    assert len(errors) == 1 and cell_label("\n".join(errors[0]["traceback"])) == cell_label(trace)
    assert dbg.stdout() == "before\n"


def test_stdin_with_the_debugger_on_is_asked_for_as_with_it_off(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    from kernel_client import execute

    code = 'var name string\nfmt.Print("Your name? ")\nfmt.Scanln(&name)\nfmt.Println("hi", name)\n'
    off = execute(kc, code, answers=["Ada"])
    assert off.prompts == ["Your name? "] and "hi Ada\n" in off.stream()  # the baseline
    dbg = Debug(kc)
    dbg.start()
    on = execute(kc, code, answers=["Ada"])
    assert on.status == "ok", on.messages
    assert on.prompts == off.prompts and on.stream() == off.stream(), on.messages


class SilentProxy:
    """A module proxy that takes connections and never answers: a Delve build from it
    is under way until the proxy closes (then go fails at once)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.asked = threading.Event()  # a connection came
        self.held: list[socket.socket] = []
        self.closed = False
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn = self.server.accept()[0]
                with self.lock:
                    if self.closed:
                        conn.close()
                        return
                    self.held.append(conn)
                self.asked.set()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.server.close()
            for conn in self.held:
                conn.close()


def test_building_delve_leaves_the_control_channel_served(tmp_path: Path) -> None:
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p)
    if shutil.which("dlv", path=path):
        pytest.skip("dlv is on PATH here: there is no build to wait for")
    proxy = SilentProxy()
    env = {
        "GORUN_DLV": "",
        "PATH": path,
        "GORUN_CACHE": str(tmp_path / "cache"),  # no Delve built before
        "GOMODCACHE": str(tmp_path / "modcache"),  # nor its modules
        "GOPROXY": proxy.url,
    }
    try:
        with running(env=env) as (_, kc):
            dbg = Debug(kc)
            dbg.seq += 1
            content = {"type": "request", "seq": dbg.seq, "command": "initialize"}
            init = kc.session.msg("debug_request", {**content, "arguments": {"adapterID": "go"}})
            kc.control_channel.send(init)
            assert proxy.asked.wait(TIMEOUT)  # go install asks it
            info = kc.session.msg("kernel_info_request")
            kc.control_channel.send(info)
            replies = {}
            while info["header"]["msg_id"] not in replies:  # the build is still waiting
                reply = kc.control_channel.get_msg(timeout=TIMEOUT)
                replies[reply["parent_header"]["msg_id"]] = reply
            assert init["header"]["msg_id"] not in replies
            assert replies[info["header"]["msg_id"]]["content"]["status"] == "ok"
            proxy.close()  # go install fails now
            while init["header"]["msg_id"] not in replies:
                reply = kc.control_channel.get_msg(timeout=TIMEOUT)
                replies[reply["parent_header"]["msg_id"]] = reply
            answer = replies[init["header"]["msg_id"]]["content"]
            assert not answer["success"]
            message = answer["message"]
            assert message.startswith("The debugger needs Delve (dlv v1.27.2)")
            assert message.endswith("cells run as usual without it.") and "\n" not in message
            from kernel_client import execute

            assert execute(kc, 'fmt.Println("still here")').stream() == "still here\n"
    finally:
        proxy.close()
