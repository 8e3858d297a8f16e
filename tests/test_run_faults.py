"""Faults of a running program (issue 10): input, values, memory, escapes, streams.

Through a real kernel process (jupyter_client), %%gorun in real IPython and
in a real python3 kernel, with the real Go toolchain. Where a regression
would eat the machine's memory, the process under test gets an RLIMIT_DATA
first, so that it fails instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernel_client import START_TIMEOUT, execute, execute_and_interrupt, start
from test_sessions import running, wait_gone

import gorun_kernel

pytestmark = pytest.mark.e2e


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@contextlib.contextmanager
def data_limit(pid: int, limit: int = 4 << 30) -> Iterator[None]:
    """A safety net: a regression that reads without bound fails with MemoryError."""
    saved = resource.prlimit(pid, resource.RLIMIT_DATA)
    resource.prlimit(pid, resource.RLIMIT_DATA, (limit, saved[1]))
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            resource.prlimit(pid, resource.RLIMIT_DATA, saved)


def kernel_pid(km) -> int:
    return km.provisioner.process.pid


# -- stderr streams like stdout (item 19) --------------------------------------------


@pytest.mark.parametrize("line", ["\\rprogress 1", "\\rcopying /data/a.csv: 1 of 3"])
def test_a_partial_stderr_line_streams_while_the_program_runs(kernel, line):
    """Progress lines without a newline arrive while the program runs, paths and all."""
    km, kc = kernel
    code = f'%%gorun --timeout 10\nfmt.Fprint(os.Stderr, "{line}")\ntime.Sleep(time.Hour)'
    r, _, _ = execute_and_interrupt(km, kc, code, line.replace("\\r", "\r"), "stderr")
    assert r.reply["content"]["ename"] == "Interrupted"  # it arrived before the end
    assert r.stream("stderr").startswith(line.replace("\\r", "\r"))


# -- standard input is streamed, never read whole (items 1-3) -------------------------

READ_A_MEGABYTE = (
    "buf := make([]byte, 1<<20)\nn, err := io.ReadFull(os.Stdin, buf)\n"
    "fmt.Println(n, err, buf[0], buf[n-1])"
)


def test_stdin_from_dev_zero_is_streamed_not_read_whole(fresh_kernel):
    km, kc = fresh_kernel
    pid = kernel_pid(km)
    with data_limit(pid):
        before = status_kb(pid, "VmRSS")
        r = execute(kc, "%%gorun --stdin-file /dev/zero\n" + READ_A_MEGABYTE)
        assert r.status == "ok", r.reply["content"]
        assert r.stream() == "1048576 <nil> 0 0\n"
        assert status_kb(pid, "VmRSS") - before < 64 * 1024


def test_stdin_from_a_huge_file_reads_only_what_the_program_reads(run, tmp_path):
    """A 16 GiB (sparse) file: the magic's own memory never holds it."""
    with open(tmp_path / "huge.bin", "wb") as f:
        f.truncate(16 << 30)
    program = (
        '%%gorun --stdin-file huge.bin\npackage main\nimport ("fmt"; "io"; "os")\n'
        "func main() { buf := make([]byte, 1<<20); n, err := io.ReadFull(os.Stdin, buf)\n"
        "fmt.Println(n, err) }\n"
    )
    used = status_kb(os.getpid(), "VmData") << 10
    with data_limit(os.getpid(), used + (2 << 30)):
        result, out, _ = run(program)
    assert result.success, result.error_in_exec
    assert out.startswith("1048576 <nil>\n")


def test_stdin_from_a_fifo_waits_for_its_writer_and_can_be_interrupted(kernel, tmp_path):
    km, kc = kernel
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    code = (
        f"%%gorun --stdin-file {fifo}\n"
        'fmt.Println("ready")\nvar s string\nfmt.Scanln(&s)\nfmt.Println("got", s)'
    )
    r, _, took = execute_and_interrupt(km, kc, code, "ready")
    assert r.reply["content"]["ename"] == "Interrupted" and took < 2.0

    def write() -> None:
        with open(fifo, "w") as f:  # blocks until the run opens the FIFO
            f.write("hello\n")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    r = execute(kc, code)
    assert r.status == "ok" and r.stream() == "ready\ngot hello\n"
    writer.join(timeout=10)


def test_magic_stdin_from_a_fifo_is_interrupted_cleanly(python_kernel, tmp_path):
    """The magic in a python3 kernel: an interrupt ends the cell, no Python traceback."""
    km, kc = python_kernel
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    code = (
        f"%%gorun --stdin-file {fifo}\npackage main\n"
        'import ("fmt"; "io"; "os")\nfunc main() { fmt.Println("ready")\n'
        "b, _ := io.ReadAll(os.Stdin); fmt.Println(len(b)) }\n"
    )
    r, _, took = execute_and_interrupt(km, kc, code, "ready")
    assert r.status == "error" and r.reply["content"]["ename"] == "Interrupted"
    assert took < 2.0
    assert "KeyboardInterrupt" not in "\n".join(r.reply["content"]["traceback"])
    assert "1\n" in execute(kc, "print(1)").stream()


def test_stdin_through_a_fifo_is_fed_a_chunk_at_a_time(fresh_kernel, tmp_path):
    """64 MB through a FIFO: the kernel's peak memory does not grow with it."""
    km, kc = fresh_kernel
    pid = kernel_pid(km)
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    size = 64 << 20

    def write() -> None:
        with open(fifo, "wb") as f:
            chunk = b"x" * (1 << 20)
            for _ in range(size // len(chunk)):
                f.write(chunk)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with data_limit(pid):
        before = status_kb(pid, "VmHWM")
        r = execute(kc, f"%%gorun --stdin-file {fifo}\nn, _ := io.Copy(io.Discard, os.Stdin)\nn")
        assert r.status == "ok" and r.value == str(size)
        assert status_kb(pid, "VmHWM") - before < 32 * 1024
    writer.join(timeout=10)


def test_magic_stdin_from_a_variable_is_not_copied(python_kernel):
    """--stdin VAR with 64 MB: fed from a view of the variable (peak memory stays)."""
    _, kc = python_kernel
    execute(kc, "import resource\ndata = b'y' * (64 << 20)")
    r = execute(
        kc,
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "get_ipython().run_cell_magic('gorun', '--stdin data --quiet', 'package main\\n"
        'import ("fmt"; "io"; "os")\\nfunc main() { n, _ := io.Copy(io.Discard, os.Stdin); '
        "fmt.Println(n) }\\n')\n"
        "print('grew', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)",
    )
    out = r.stream()
    assert f"{64 << 20}\n" in out, r.messages
    assert int(out.split("grew ")[1]) < 16 * 1024  # KiB: no copy of the 64 MB


# -- a final value is bounded, from a channel the program cannot redirect (item 4) ----


@pytest.mark.parametrize(
    "attack",
    [
        'os.Remove(p); os.Symlink("/dev/zero", p)',  # a device instead of the value file
        "os.Remove(p); syscall.Mkfifo(p, 0o600)",  # a FIFO nobody writes to
    ],
)
def test_a_program_cannot_make_the_value_a_device_or_a_fifo(fresh_kernel, attack):
    km, kc = fresh_kernel
    code = f'if p := os.Getenv("GORUN_VALUE_FILE"); p != "" {{ {attack} }}\n"done"'
    with data_limit(kernel_pid(km)):
        r = execute(kc, code)
    assert r.status == "ok", r.reply["content"]
    assert r.value == '"done"'


def test_a_program_flooding_the_value_channel_is_capped(kernel):
    """A program writing 400 MB of garbage to the value's channel: read, mostly dropped."""
    km, kc = kernel
    before = status_kb(kernel_pid(km), "VmHWM")
    r = execute(
        kc,
        'fd, _ := strconv.Atoi(os.Getenv("GORUN_VALUE_FD"))\n'
        'f := os.NewFile(uintptr(fd), "v")\nchunk := make([]byte, 1<<20)\n'
        "for i := 0; i < 400; i++ { f.Write(chunk) }\n1",
    )
    assert r.status == "ok" and r.value is not None and len(r.value) == 4 << 20
    assert "the value's text is cut at 4,194,304 characters" in r.stream("stderr")
    # 400 MB written; what is kept is bounded (the text's and the displays' limits)
    assert status_kb(kernel_pid(km), "VmHWM") - before < 128 * 1024


# -- an optional memory limit (item 5) ------------------------------------------------

ALLOCATE = (
    "var keep [][]byte\n"
    "for { b := make([]byte, 16<<20); for i := range b { b[i] = 1 }; keep = append(keep, b) }"
)
OVER_256 = "out of memory (exit status 2): over the 256 MiB memory limit"


def test_the_memory_setting_limits_later_programs(kc):
    # --memory on a cell, and the engine's verdict: test_engine_semantics.py's
    # test_memory_limit_ends_a_program_that_allocates_without_bound.
    assert execute(kc, "%memory 256MiB").stream() == "memory: 256 MiB per program\n"
    assert execute(kc, ALLOCATE).reply["content"]["evalue"] == OVER_256
    assert execute(kc, "%memory off").stream() == "memory: no limit\n"
    r = execute(kc, "%memory lots")
    assert r.reply["content"]["ename"] == "UsageError"


def test_gorun_memory_limit_is_the_default_and_the_ceiling(run, monkeypatch):
    monkeypatch.setenv("GORUN_MEMORY_LIMIT", "256MiB")
    program = "package main\nfunc main() {\n" + ALLOCATE + "\n}\n"
    result, _, _ = run("%%gorun\n" + program)
    assert isinstance(result.error_in_exec, gorun_kernel.OverMemoryLimit)
    assert result.error_in_exec.message == OVER_256
    result, _, _ = run("%%gorun --memory 1GiB\n" + program)
    assert "1 GiB is more: only a lower limit can be asked for" in str(result.error_in_exec)


def test_a_memory_limit_over_the_ceiling_is_refused_before_anything_changes(run, monkeypatch):
    # Refused before the build: the cell's declarations do not join the session.
    monkeypatch.setenv("GORUN_MEMORY_LIMIT", "256MiB")
    result, _, _ = run("%%gorun --memory 1GiB\nfunc refusedCell() int { return 1 }")
    assert "(GORUN_MEMORY_LIMIT)" in str(result.error_in_exec)
    _, out, _ = run("%gorun_list")
    assert "refusedCell" not in out
    result, _, _ = run("%%gotest --memory off\nfunc TestRefused(t *testing.T) {}")
    assert "it cannot be turned off" in str(result.error_in_exec)
    _, out, _ = run("%gorun_list")
    assert "TestRefused" not in out


# -- nothing a cell starts outlives it (item 7) ----------------------------------------

ESCAPE = (
    'c := exec.Command("sleep", "1003")\n'
    "c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}\n"
    "if err := c.Start(); err != nil { panic(err) }\n"
    'fmt.Println("escaped", c.Process.Pid)\n'
)


def test_a_child_in_a_new_session_ends_on_interrupt(kernel):
    km, kc = kernel
    r, (child,), _ = execute_and_interrupt(km, kc, ESCAPE + "time.Sleep(time.Hour)", "escaped")
    assert r.reply["content"]["ename"] == "Interrupted"
    assert wait_gone(child)


def test_a_child_in_a_new_session_ends_on_restart_and_shutdown():
    km, kc = start()
    try:
        for how in ("restart", "shutdown"):
            msg_id = kc.execute(ESCAPE + "time.Sleep(time.Hour)")
            child = 0
            while not child:
                msg = kc.get_iopub_msg(timeout=60)
                if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                    child = int(msg["content"]["text"].split()[1])
            if how == "restart":
                km.restart_kernel(now=False)
                kc.wait_for_ready(timeout=START_TIMEOUT)
            else:
                kc.stop_channels()
                km.shutdown_kernel(now=False)
            assert wait_gone(child), f"the escaped child survived the {how}"
    finally:
        if km.is_alive():
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def test_magic_escaped_child_ends_and_ipython_is_no_subreaper(run):
    result, out, _ = run(
        '%%gorun\npackage main\nimport ("fmt"; "os/exec"; "syscall")\nfunc main() {\n'
        + ESCAPE
        + "}\n"
    )
    assert result.success
    assert wait_gone(int(out.split()[1]))
    flag = ctypes.c_int(-1)
    pr_get_child_subreaper = 37
    ctypes.CDLL(None).prctl(pr_get_child_subreaper, ctypes.byref(flag))
    assert flag.value == 0  # the user's own process never collects others' orphans


def test_shell_lines_end_what_they_start_unless_they_say_setsid_or_nohup(kc):
    r = execute(
        kc,
        "!python3 -c 'import subprocess; "
        'print(subprocess.Popen(["sleep", "1004"], start_new_session=True).pid)\'',
    )
    assert r.status == "ok" and wait_gone(int(r.stream()))
    r = execute(kc, "!setsid sleep 1005 >/dev/null 2>&1 & echo $!")
    kept = int(r.stream())
    try:
        assert running(kept)  # asked for: left running
    finally:
        os.kill(kept, signal.SIGKILL)


# -- pathological cells (item 6) -------------------------------------------------------


def test_an_interrupt_while_a_large_cell_is_read_ends_it_at_once(fresh_kernel):
    """20,000 functions (1 MB) take seconds to read and compose: an interrupt ends that."""
    km, kc = fresh_kernel
    code = "".join(f"func f{i}(a, b int) int {{ return a*b + {i} }}\n" for i in range(20_000))
    stop = threading.Event()
    first: list[float] = []

    def interrupt() -> None:
        while not stop.wait(0.1):  # a repeated signal, until the kernel answers
            first.append(first[0] if first else time.monotonic())
            km.interrupt_kernel()

    msg_id = kc.execute(code)
    while True:  # the kernel has the request
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            break
    threading.Thread(target=interrupt, daemon=True).start()
    try:
        reply = kc.get_shell_msg(timeout=120)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=120)
    finally:
        stop.set()
    assert reply["content"]["ename"] == "Interrupted"
    assert time.monotonic() - first[0] < 2.0


def test_interrupts_at_any_moment_never_lose_a_reply(fresh_kernel):
    """A storm of SIGINTs while cells run: every request still gets its reply."""
    km, kc = fresh_kernel
    assert execute(kc, 'fmt.Println("warm")').status == "ok"
    stop = threading.Event()
    pid = kernel_pid(km)

    def storm() -> None:
        while not stop.wait(0.003):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)

    threading.Thread(target=storm, daemon=True).start()
    try:
        for code in ['fmt.Println("warm")', "%env A=1", "1 + 1"] * 10:
            r = execute(kc, code)
            assert r.status == "ok" or r.reply["content"]["ename"] == "Interrupted", (
                code,
                r.reply["content"],
            )
    finally:
        stop.set()
    assert execute(kc, "2 + 2").value == "4"
