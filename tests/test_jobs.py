"""Background programs (issue 16): a server in one cell, its clients in the next.

Through a real kernel and the real magic: start with --bg, --wait-port, output
arriving in the starting cell, %jobs, %kill, a job that crashes, two jobs at
once, a foreground interrupt that leaves the job running, restart with jobs
running (no process left).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import time
from typing import Any

import pytest
from kernel_client import START_TIMEOUT, execute, execute_and_interrupt
from test_sessions import read_until, start_session, wait_gone

from gorun_kernel.run.jobs import WAIT_LIMIT

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server(port: int, reply: str = "hello") -> str:
    """A Go program serving 127.0.0.1:port, logging each request on stdout."""
    return f"""package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {{
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {{
		fmt.Println("request", r.URL.Path)
		fmt.Fprintf(w, "{reply} %s", r.URL.Path)
	}})
	if err := http.ListenAndServe("127.0.0.1:{port}", nil); err != nil {{
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}}
}}
"""


# A background program that never listens: --wait-port would wait WAIT_LIMIT for it.
NEVER_LISTENS = 'fmt.Println("up", os.Getpid())\ntime.Sleep(time.Hour)'


def client(port: int, path: str) -> str:
    return f"""resp, err := http.Get("http://127.0.0.1:{port}{path}")
if err != nil {{
	panic(err)
}}
body, _ := io.ReadAll(resp.Body)
fmt.Println(string(body))"""


def started(r: Any) -> tuple[int, int]:
    """(job id, pid) from a cell's `[bg 1] started ... (pid 1234)` status line."""
    text = r.of_type("display_data")[-1]["data"]["text/plain"]
    m = re.match(r"\[bg (\d+)\] started .* \(pid (\d+)\)", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


def recording(kc: Any) -> list[dict[str, Any]]:
    """Keep every IOPub message the client reads, whichever cell it belongs to
    (execute() passes over messages of earlier cells)."""
    seen: list[dict[str, Any]] = []
    read = kc.get_iopub_msg

    def get_iopub_msg(*args: Any, **kwargs: Any) -> dict[str, Any]:
        msg = read(*args, **kwargs)
        seen.append(msg)
        return msg

    kc.get_iopub_msg = get_iopub_msg
    return seen


def output_of(
    kc: Any, seen: list[dict[str, Any]], msg_id: str, until: str, within: float = 60
) -> str:
    """The stream text IOPub carried for an earlier cell, until `until` is in it."""
    deadline = time.monotonic() + within
    while True:
        text = "".join(
            m["content"]["text"]
            for m in seen
            if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream"
        )
        if until in text:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{until!r} never arrived in cell {msg_id}: {text!r}")
        try:
            kc.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_server_in_one_cell_its_clients_in_the_next(fresh_kernel):
    _, kc = fresh_kernel
    seen = recording(kc)
    port = free_port()
    start = execute(kc, f"%%gorun --bg --wait-port {port}\n" + server(port))
    assert start.status == "ok", start.reply["content"]
    job, pid = started(start)
    assert job == 1 and alive(pid)
    first = execute(kc, client(port, "/one"))
    assert first.stream() == "hello /one\n"
    # The server's own output arrives in the cell that started it.
    output_of(kc, seen, start.reply["parent_header"]["msg_id"], "request /one")
    listing = execute(kc, "%jobs").stream()
    assert re.search(rf"\[bg 1\]\s+pid {pid}\s+\S+\s+running\s+cell \[1\]", listing), listing
    assert execute(kc, f"!curl -s http://127.0.0.1:{port}/two").stream() == "hello /two"
    killed = execute(kc, "%kill 1")
    assert killed.stream() == "[bg 1] killed\n"
    assert wait_gone(pid)
    assert re.search(
        r"\[bg 1\]\s+pid \d+\s+\S+\s+killed\s+cell \[1\]", execute(kc, "%jobs").stream()
    )


def test_a_job_that_crashes_says_so_in_its_cell_and_wait_port_fails(fresh_kernel):
    _, kc = fresh_kernel
    seen = recording(kc)
    port = free_port()
    crash = 'fmt.Println("starting")\nos.Exit(3)'
    r = execute(kc, f"%%gorun --bg --wait-port {port}\n{crash}")
    assert r.status == "error"
    evalue = r.reply["content"]["evalue"]
    assert f"ended before 127.0.0.1:{port} answered: exit status 3" in evalue
    r = execute(kc, f"%%gorun --bg\n{crash}")
    assert r.status == "ok"
    said = output_of(kc, seen, r.reply["parent_header"]["msg_id"], "exit status 3")
    assert "[bg 2] cell [2]: exit status 3" in said
    # %kill does not claim to have killed what had ended, nor go quiet when nothing runs.
    assert execute(kc, "%kill 2").stream() == "[bg 2] had already ended: exit status 3\n"
    assert execute(kc, "%kill all").stream() == "no background program is running\n"


def test_two_jobs_and_a_foreground_interrupt_that_leaves_them_running(fresh_kernel):
    km, kc = fresh_kernel
    ports = [free_port(), free_port()]
    pids = []
    for port, word in zip(ports, ["one", "two"], strict=True):
        r = execute(kc, f"%%gorun --bg --wait-port {port}\n" + server(port, word))
        assert r.status == "ok", r.reply["content"]
        pids.append(started(r)[1])
    r, _, _ = execute_and_interrupt(km, kc, 'fmt.Println("spinning")\nfor {}', "spinning")
    assert r.reply["content"]["ename"] == "Interrupted"
    assert all(alive(pid) for pid in pids)
    for port, word in zip(ports, ["one", "two"], strict=True):
        assert execute(kc, client(port, "/x")).stream() == f"{word} /x\n"


def test_an_interrupt_while_waiting_for_the_port_stops_the_wait_and_the_job(fresh_kernel):
    # The program never listens: the wait would last WAIT_LIMIT (60 s); an
    # interrupt must end it at once, the job with it, as for any cell.
    km, kc = fresh_kernel
    cell = f"%%gorun --bg --wait-port {free_port()}\n{NEVER_LISTENS}"
    r, pids, took = execute_and_interrupt(km, kc, cell, "up")
    assert r.reply["content"]["ename"] == "Interrupted", r.reply["content"]
    assert took < WAIT_LIMIT / 2
    assert wait_gone(pids[0])
    assert re.search(r"\[bg 1\].*killed", execute(kc, "%jobs").stream())
    assert execute(kc, 'fmt.Println("next")').stream() == "next\n"


def test_ctrl_c_while_the_magic_waits_for_the_port(tmp_path):
    cell = f"%%gorun --bg --wait-port {free_port()}\n{NEVER_LISTENS}"
    proc = start_session(tmp_path, [cell, "%gorun_jobs"])
    pid = int(read_until(proc, "up ").split()[1])
    os.kill(proc.pid, signal.SIGINT)  # Ctrl-C
    assert "error=Interrupted" in read_until(proc, "--- cell 0 done")
    assert "killed" in read_until(proc, "[bg 1]")
    proc.communicate(timeout=60)
    assert wait_gone(pid)


def test_restart_ends_every_job(fresh_kernel):
    km, kc = fresh_kernel
    port = free_port()
    r = execute(kc, f"%%gorun --bg --wait-port {port}\n" + server(port))
    _, pid = started(r)
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=START_TIMEOUT)
    assert wait_gone(pid)
    assert execute(kc, "%jobs").stream() == "no background programs\n"


def test_bad_background_options_are_refused(kc):
    for line, words in [
        ("%%gorun --wait-port 8080", "add --bg"),
        ("%%gorun --bg --wait-port http", "wants a port number"),
        ("%%gorun --bg --wait-url localhost:1", "http:// or https://"),
        ("%%gotest --bg", "--bg is for %%gorun"),  # it ran in the foreground
        ("%kill 7", "no background program 7"),
        ("%kill", "usage: %kill N | all"),
    ]:
        r = execute(kc, line + ("\nfmt.Println(1)" if line.startswith("%%") else ""))
        assert r.status == "error", line
        assert words in r.reply["content"]["evalue"], (line, r.reply["content"]["evalue"])


def test_the_magic_starts_lists_and_kills_jobs_with_live_output(run, ip):
    port = free_port()
    result, out, err = run(f"%%gorun --bg --wait-port {port} --out srv\n" + server(port))
    assert result.error_in_exec is None, out + err
    m = re.search(r"\[bg 1\] started cell .* \(pid (\d+)\)", out)
    assert m, out
    pid = int(m.group(1))
    result, out, _ = run(f"%%gorun\n{client(port, '/magic')}")
    assert "hello /magic\n" in out  # (a terminal has one stdout: the job's lines are there too)
    srv = ip.user_ns["srv"]
    deadline = time.monotonic() + 30
    while "request /magic" not in srv.stdout:  # the job's thread appends as it reads
        assert time.monotonic() < deadline, srv
        time.sleep(0.05)
    ip.run_line_magic("gorun_jobs", "")
    result, out, _ = run("%gorun_kill all")
    assert "[bg 1] killed" in out
    assert wait_gone(pid)
    assert run("%gorun_kill all")[1] == "no background program is running\n"


@pytest.fixture(autouse=True)
def _no_leftover_servers() -> None:
    yield
    # A killed program may take a moment to be gone (a loaded machine); a leftover stays.
    servers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _is_our_server(int(p))]
    assert all(wait_gone(pid) for pid in servers), f"programs left running: {servers}"


def _is_our_server(pid: int) -> bool:
    """A live program built by this test session's kernels: it runs from their cache
    (GORUN_CACHE, the session's own), whoever else runs programs on the machine."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return exe.startswith(os.path.join(os.environ["GORUN_CACHE"], "exe", "")) and alive(pid)


def test_the_magic_in_a_python_notebook_routes_job_output_to_its_cell(python_kernel):
    _, kc = python_kernel
    seen = recording(kc)
    port = free_port()
    start = execute(kc, f"%%gorun --bg --wait-port {port} --out srv\n" + server(port))
    assert start.status == "ok", start.reply["content"]
    later = execute(kc, f"%%gorun\n{client(port, '/py')}")
    assert later.stream() == "hello /py\n"  # the job's line is not in this cell
    output_of(kc, seen, start.reply["parent_header"]["msg_id"], "request /py")
    assert execute(kc, "print('request /py' in srv.stdout)").stream() == "True\n"
    assert execute(kc, "%gorun_kill all").stream() == "[bg 1] killed\n"
