"""The debug session JupyterLab talks to, relayed to Delve for each run.

JupyterLab speaks DAP to the kernel (debug_request on the control channel,
debug_event on IOPub) as to one long session: initialize and attach when the
debugger is switched on, dumpCell and setBreakpoints on cells, then requests
about a stopped program. Delve, though, debugs one process: each cell run with
the debugger on is built with `-gcflags=all=-N -l` (through the fast path,
build/direct.py, like any edited cell) and run through launch.py (-exec),
which starts `dlv dap --client-addr`: Delve dials the socket this session
listens on for the run, the session sends `launch` (mode exec, the program
just built), replays the breakpoints and lets the program go. While it runs,
requests are forwarded and Delve's events published; between runs the session
answers by itself. The program's exit code (Delve's `exited` event) goes back
to launch.py, which ends with it: the run's status is the program's.

Cells are named by the `//line` directives (compose/linedirs.py): the cell
being run is `cell`, an earlier cell [3] is `cell[3]`. The relay maps those
names to JupyterLab's paths (cells.py) and back, by the code of each cell.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gorun_kernel import spans
from gorun_kernel.build.toolchain import Toolchain
from gorun_kernel.compose.linedirs import CURRENT, cell_file
from gorun_kernel.debug import cells, delve
from gorun_kernel.debug.dap import DapClient, DapClosed, Message

LAUNCHER = Path(__file__).with_name("launch.py")
TELEMETRY = "GO_TELEMETRY_CHILD"  # launch.py's: dlv without Go telemetry's side process
DEBUG_GCFLAGS = "-gcflags=all=-N -l"  # no optimisation, no inlining: every line and variable
# Keep DWARF (go run's defaults strip it), uncompressed: the linker does not spend
# ~0.1 s compressing it, nor Delve ~20 ms inflating it, for a file read once.
DEBUG_LDFLAGS = "-ldflags=-s=false -w=false -compressdwarf=false"
CONNECT_TIMEOUT = 60.0  # dlv starts and dials the session (a loaded machine)
REQUEST_TIMEOUT = 30.0
NOT_RUNNING = "No Go program is being debugged: run a cell to stop at its breakpoints."

# Forwarded to Delve while a program runs (JupyterLab's requests about it).
FORWARDED = {
    "threads", "stackTrace", "scopes", "variables", "continue", "next", "stepIn", "stepOut",
    "pause", "evaluate", "setVariable", "exceptionInfo", "source",
}  # fmt: skip
RESUMING = {"continue", "next", "stepIn", "stepOut"}

CAPABILITIES = {
    "supportsConfigurationDoneRequest": True,
    "supportsConditionalBreakpoints": True,
    "supportsEvaluateForHovers": True,
    "supportsSetVariable": True,
    "supportsDelayedStackTraceLoading": True,
    "supportTerminateDebuggee": True,
    "exceptionBreakpointFilters": [],
}


class Run:
    """One program under Delve."""

    def __init__(self, current: str) -> None:
        self.current = current  # JupyterLab's path of the cell being run
        # dlv dials this (launch.py's --client-addr): listening before dlv starts,
        # the session meets it at once, with no port to poll and none to race for.
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=1)
        self.port = self.listener.getsockname()[1]
        self.tmp = Path(tempfile.mkdtemp(prefix="gorun-dlv-"))
        self.client: DapClient | None = None
        self.ready = threading.Event()  # configured (or failed): requests may go to Delve
        self.ended = threading.Event()
        self.targets: list[int] = []  # the debugged processes (Delve's `process` events)

    def accept(self, timeout: float) -> socket.socket | None:
        """dlv's connection; None if it does not come within timeout or the run ends."""
        deadline = time.monotonic() + timeout
        self.listener.settimeout(0.1)  # to see the run's end (an interrupt before dlv dials)
        try:
            while time.monotonic() < deadline and not self.ended.is_set():
                try:
                    conn, _ = self.listener.accept()
                except TimeoutError:
                    continue
                conn.settimeout(None)
                return conn
            return None
        finally:
            self.listener.close()

    def target(self) -> dict[str, Any]:
        """A DAP launch of the program, its arguments and directory, as launch.py wrote them."""
        cwd, telemetry, program, *args = (self.tmp / "target").read_bytes().split(b"\0")
        # The program's environment is the run's: launch.py set the telemetry variable
        # for dlv alone (null in a launch's env: unset).
        env = {TELEMETRY: os.fsdecode(telemetry[1:]) if telemetry else None}
        return {
            "mode": "exec",
            "program": os.fsdecode(program),
            "args": [os.fsdecode(a) for a in args],
            "cwd": os.fsdecode(cwd),
            "env": env,
        }

    def exited(self, code: int) -> None:
        """The program's exit code, for launch.py to end with."""
        part = self.tmp / "exit.part"
        part.write_text(str(code))
        part.replace(self.tmp / "exit")

    def failed(self, message: str) -> None:
        """Delve could not start the program: launch.py says so and ends with status 1."""
        with contextlib.suppress(OSError):
            (self.tmp / "failed").write_text(message)
            self.exited(1)


class Debugger:
    """The kernel's debug session. `handle` runs on the control thread; `begin_run`
    and `end_run` on the thread that runs cells."""

    def __init__(
        self,
        publish: Callable[[Message], None],
        toolchain: Callable[[], Toolchain | None],
        labels: dict[str, str],
    ) -> None:
        self.publish_event = publish
        self.toolchain = toolchain
        self.files = cells.CellFiles()
        self.started = False  # initialize/attach came; disconnect ends it
        self.dlv: str | None = None
        self.breakpoints: dict[str, list[dict[str, Any]]] = {}  # JupyterLab path -> its DAP list
        self.labels = labels  # the kernel's: cell label ([3]) -> its code
        self.stopped: set[int] = set()
        self.client_args: dict[str, Any] = {}  # the frontend's initialize: Delve gets it too
        self.run: Run | None = None
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    # -- the kernel's side -------------------------------------------------------

    def begin_run(self, code: str, test: bool = False) -> list[str]:
        """The words a cell's command line gets for a debugged run ([] when off)."""
        if not self.started or self.dlv is None:
            return []
        self.end_run()
        run = Run(self.files.path(code))
        self.run = run
        prefix = [sys.executable, "-S", "-E", str(LAUNCHER), self.dlv, str(run.port)]
        prefix += [str(run.tmp / "dlv.log"), str(run.tmp)]
        threading.Thread(target=self._connect, args=(run,), name="gorun-dlv", daemon=True).start()
        spans.mark("debug-begun")
        return [DEBUG_GCFLAGS, DEBUG_LDFLAGS, "-exec", shlex.join(prefix)]

    def end_run(self) -> None:
        """After the run (its processes have ended, or are ended here)."""
        run, self.run = self.run, None
        if run is None:
            return
        run.ended.set()
        run.ready.wait(5)
        with contextlib.suppress(OSError):
            run.listener.close()
        if run.client is not None:
            with contextlib.suppress(DapClosed, TimeoutError, Exception):
                run.client.call("disconnect", {"terminateDebuggee": True}, timeout=2)
            run.client.close()
        for pid in run.targets:  # a dlv killed outright leaves its tracee behind
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            for f in run.tmp.iterdir():
                f.unlink()
            run.tmp.rmdir()
        if self.stopped:
            self.stopped.clear()
        self._event("continued", {"threadId": 1, "allThreadsContinued": True})
        spans.mark("debug-ended")

    def close(self) -> None:
        delve.cancel()  # a first initialize may be building Delve
        self.end_run()

    # -- JupyterLab's requests ---------------------------------------------------

    def handle(self, request: Message) -> Message:
        command = request.get("command", "")
        args = request.get("arguments") or {}
        try:
            body = self._answer(command, args)
        except delve.DelveUnavailable as e:
            return self._response(request, False, message=e.message)
        except _Failed as e:
            return self._response(request, False, message=str(e))
        if isinstance(body, _Forwarded):
            reply = body.reply
            out = self._response(request, bool(reply.get("success")), body=reply.get("body"))
            if not reply.get("success"):
                out["message"] = reply.get("message", "")
            return out
        return self._response(request, True, body=body)

    def _answer(self, command: str, args: dict[str, Any]) -> Any:
        if command == "initialize":
            self.dlv = delve.find(self.toolchain())  # the first time: a build
            self.client_args = {**args, "adapterID": "go", "pathFormat": "path"}
            self.client_args["supportsRunInTerminalRequest"] = False  # the run's own stdio
            # Started from here on, as ipykernel's is: JupyterLab counts its session as
            # started once initialize answers, and takes isStarted from any debugInfo
            # reply after that; one answered between initialize and attach (its other
            # handlers ask while the bug button's start is under way) said false, and
            # JupyterLab dropped the breakpoints clicked into the gutter.
            self.started = True
            return CAPABILITIES
        if command == "attach":
            return {}
        if command == "disconnect":
            self.started = False
            self.breakpoints.clear()
            return {}
        if command == "debugInfo":
            return self._debug_info()
        if command == "dumpCell":
            return {"sourcePath": self.files.dump(args.get("code", ""))}
        if command == "setBreakpoints":
            return self._set_breakpoints(args)
        if command == "configurationDone":
            return {}
        if command == "inspectVariables":
            return {"variables": self._inspect()}
        if command == "setExceptionBreakpoints":
            return {}
        if command == "modules":
            # JupyterLab asks after every cell run, debugger on or off, for its Kernel
            # Sources panel, and reads body.modules: a Go program's packages are not
            # source files the panel could open, so none (never a failed reply it
            # would trip over).
            return {"modules": [], "totalModules": 0}
        if command in FORWARDED:
            return self._forward(command, args)
        raise _Failed(f"The Go kernel's debugger does not support {command!r}.")

    def _debug_info(self) -> dict[str, Any]:
        return {
            "isStarted": self.started,
            "hashMethod": cells.HASH_METHOD,
            "hashSeed": cells.HASH_SEED,
            "tmpFilePrefix": self.files.prefix,
            "tmpFileSuffix": cells.SUFFIX,
            "breakpoints": [{"source": s, "breakpoints": b} for s, b in self.breakpoints.items()],
            "stoppedThreads": sorted(self.stopped),
            "richRendering": False,
            "exceptionPaths": [],
        }

    def _set_breakpoints(self, args: dict[str, Any]) -> dict[str, Any]:
        path = (args.get("source") or {}).get("path", "")
        wanted = list(args.get("breakpoints") or [])
        with self._lock:
            if wanted:
                self.breakpoints[path] = wanted
            else:
                self.breakpoints.pop(path, None)
        run = self.run
        if run is not None and run.ready.is_set() and run.client is not None:
            name = self._delve_name(path, run)
            if name is not None:
                with contextlib.suppress(DapClosed, TimeoutError):
                    run.client.call("setBreakpoints", self._delve_breakpoints(name, wanted))
        source = {"path": path, "name": os.path.basename(path)}
        return {
            "breakpoints": [{"verified": True, "line": b["line"], "source": source} for b in wanted]
        }

    def _forward(self, command: str, args: dict[str, Any]) -> Any:
        run = self.run
        if run is None or run.client is None or not run.ready.is_set():
            if command == "threads":
                return {"threads": []}
            if command == "stackTrace":
                return {"stackFrames": [], "totalFrames": 0}
            raise _Failed(NOT_RUNNING)
        if command == "source":
            path = (args.get("source") or {}).get("path", "")
            with contextlib.suppress(OSError):
                return {"content": Path(path).read_text()}
        if command in RESUMING:
            self.stopped.clear()
        try:
            reply = run.client.call(command, args, timeout=REQUEST_TIMEOUT)
        except (DapClosed, TimeoutError) as e:
            raise _Failed(f"The debugger did not answer {command!r} ({e}).") from None
        if command == "stackTrace" and reply.get("success"):
            for frame in reply.get("body", {}).get("stackFrames", []):
                src = frame.get("source") or {}
                if "path" in src:
                    src["path"] = self._jupyter_path(src["path"], run)
                    src["name"] = os.path.basename(src["path"])
        return _Forwarded(reply)

    def _inspect(self) -> list[dict[str, Any]]:
        """The variables explorer: the locals of the innermost frame, when stopped."""
        run = self.run
        if run is None or run.client is None or not self.stopped:
            return []
        thread = min(self.stopped)
        try:
            frames = run.client.call("stackTrace", {"threadId": thread, "levels": 1})
            frame = frames["body"]["stackFrames"][0]["id"]
            scopes = run.client.call("scopes", {"frameId": frame})["body"]["scopes"]
            out: list[dict[str, Any]] = []
            for scope in scopes:
                ref = scope["variablesReference"]
                got = run.client.call("variables", {"variablesReference": ref})
                out += got.get("body", {}).get("variables", [])
            return out
        except (DapClosed, TimeoutError, KeyError, IndexError):
            return []

    # -- names ---------------------------------------------------------------------

    def _delve_name(self, path: str, run: Run) -> str | None:
        if path == run.current:
            return CURRENT
        for label, code in self.labels.items():
            if self.files.path(code) == path:
                return cell_file(label)
        return None

    def _jupyter_path(self, name: str, run: Run) -> str:
        if name == CURRENT:
            return run.current
        for label, code in self.labels.items():
            if cell_file(label) == name:
                return self.files.path(code)
        return name

    @staticmethod
    def _delve_breakpoints(name: str, wanted: list[dict[str, Any]]) -> dict[str, Any]:
        keep = ("line", "condition", "hitCondition", "logMessage")
        points = [{k: b[k] for k in keep if k in b} for b in wanted]
        return {"source": {"path": name, "name": name}, "breakpoints": points}

    # -- the run's Delve -----------------------------------------------------------

    def _connect(self, run: Run) -> None:
        try:
            conn = run.accept(CONNECT_TIMEOUT)
            if conn is None:
                return
            client = DapClient(conn, lambda event: self._delve_event(event, run))
            run.client = client
            client.call("initialize", {"linesStartAt1": True, **self.client_args})
            target = run.target()
            launched = client.call("launch", target, timeout=CONNECT_TIMEOUT)
            if not launched.get("success"):  # the cell says why (launch.py); dlv leaves
                run.failed(_launch_failed(launched))
                client.request("disconnect", {"terminateDebuggee": True})
                return
            with self._lock:
                wanted = dict(self.breakpoints)
            for path, points in wanted.items():
                name = self._delve_name(path, run)
                if name is not None:
                    client.call("setBreakpoints", self._delve_breakpoints(name, points))
            run.ready.set()
            client.call("configurationDone")
        except (DapClosed, TimeoutError, OSError, ValueError):
            pass
        finally:
            run.ready.set()

    def _delve_event(self, event: Message, run: Run) -> None:
        kind = event.get("event")
        body = event.get("body") or {}
        if kind == "process" and isinstance(body.get("systemProcessId"), int):
            run.targets.append(body["systemProcessId"])  # ended with the run, whatever dlv does
            return
        if kind == "exited" and isinstance(body.get("exitCode"), int):
            with contextlib.suppress(OSError):
                run.exited(body["exitCode"])
            return
        if kind == "terminated" and run.client is not None:
            # The program has ended; dlv waits for its client to leave, and the
            # run waits for dlv. (Sent, not awaited: this is the reader thread.)
            run.client.request("disconnect", {"terminateDebuggee": True})
            return
        if kind == "stopped":
            if body.get("allThreadsStopped") or "threadId" not in body:
                self.stopped.add(body.get("threadId", 1))
            else:
                self.stopped.add(body["threadId"])
            self._event("stopped", body)
        elif kind in ("continued", "thread") or (kind == "output" and _relayed_output(body)):
            self._event(kind, body)

    # -- messages --------------------------------------------------------------------

    def _event(self, kind: str, body: dict[str, Any]) -> None:
        self.publish_event({"seq": next(self._seq), "type": "event", "event": kind, "body": body})

    def _response(
        self, request: Message, success: bool, body: Any = None, message: str | None = None
    ) -> Message:
        out: Message = {
            "seq": next(self._seq),
            "type": "response",
            "request_seq": request.get("seq", 0),
            "success": success,
            "command": request.get("command", ""),
        }
        if body is not None:
            out["body"] = body
        if message is not None:
            out["message"] = message
        return out


def _launch_failed(reply: Message) -> str:
    why = ((reply.get("body") or {}).get("error") or {}).get("format") or reply.get("message")
    return f"The debugger could not start the program: {why or 'Delve did not say why'}.\n"


def _relayed_output(body: dict[str, Any]) -> bool:
    """Whether an output event goes to JupyterLab: not Delve's console messages ("Type
    'dlv help'"), nor the program's output (which streams to the cell as usual)."""
    return body.get("category") not in ("console", "stdout", "stderr")


class _Forwarded:
    def __init__(self, reply: Message) -> None:
        self.reply = reply


class _Failed(Exception):
    pass
