"""The Go (gorun) kernel as a real process, driven through jupyter_client."""

from __future__ import annotations

import os
import re
import signal
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import jupyter_kernel_test
import pytest
from kernel_client import (
    START_TIMEOUT,
    complete,
    execute,
    execute_and_interrupt,
    inspect,
    is_complete,
    kernel_info,
    reply_to,
    start,
)
from test_sessions import go_builds_started_by, running, wait_gone

from gorun_kernel.frontends import reference

pytestmark = pytest.mark.e2e


def test_snippets_across_cells(kc):
    assert execute(kc, "func sq(x int) int { return x*x }").status == "ok"
    r = execute(kc, "fmt.Println(sq(7))")
    assert r.stream() == "49\n"
    status = r.of_type("display_data")[0]["data"]["text/plain"]
    # build or cached: another test file may have built this same program before
    assert re.fullmatch(r"exit status 0 · (build \d+\.\d\d s|cached) · run \d+\.\d\d s", status)
    execute(kc, "func sq(x int) int { return x*x*x }")
    assert execute(kc, "fmt.Println(sq(2))").stream() == "8\n"
    r = execute(kc, "sq(3)")
    assert r.value == "27"
    assert execute(kc, 'fmt.Println("x")').value is None


def test_output_streams_live_as_stream_messages(kc, tmp_path):
    """The program waits for a file the test creates only when its first line arrived."""
    flag = tmp_path / "go-on"
    code = (
        'fmt.Println("first")\n'
        f'for {{ if _, err := os.Stat("{flag}"); err == nil {{ break }}; '
        "time.Sleep(10 * time.Millisecond) }\n"
        'fmt.Println("second")'
    )

    def on_message(kind, content):
        if kind == "stream" and "first" in content["text"]:
            flag.touch()

    r = execute(kc, "%%gorun --timeout 60\n" + code, on_message=on_message)
    assert r.status == "ok", r.messages
    assert r.stream() == "first\nsecond\n"


def test_error_reply_and_exactly_one_error_message(kc):
    r = execute(kc, "%%gorun\nfmt.Println(1)\nfmt.Println(y)")
    assert r.status == "error"
    assert r.reply["content"]["ename"] == "BuildError"
    assert r.reply["content"]["evalue"] == "line 3: undefined: y"
    assert [t for t, _ in r.messages] == ["error"]  # a build error streams nothing before it
    err = r.of_type("error")[0]
    assert err["ename"] == "BuildError" and "fmt.Println(y)" in "\n".join(err["traceback"])

    r = execute(kc, 'fmt.Println("before"); os.Exit(3)')
    assert r.status == "error" and r.reply["content"]["ename"] == "ExitError"
    assert r.reply["content"]["evalue"] == "exit status 3"
    assert r.stream() == "before\n" and len(r.of_type("error")) == 1

    r = execute(kc, "syscall.Kill(syscall.Getpid(), syscall.SIGKILL)")
    assert r.reply["content"]["ename"] == "SignalError"
    assert r.reply["content"]["evalue"] == "signal: killed"


def test_a_failed_cell_aborts_the_queued_cells(kc):
    first = kc.execute("os.Exit(1)")
    second = kc.execute('fmt.Println("must not run")')
    replies = {msg_id: reply_to(kc, msg_id)["content"]["status"] for msg_id in (first, second)}
    assert replies == {first: "error", second: "aborted"}


def test_stdin_is_asked_for_with_the_programs_prompt(kc):
    code = (
        "var name, city string\n"
        'fmt.Print("Your name? ")\nfmt.Scanln(&name)\n'
        'fmt.Print("Your city? ")\nfmt.Scanln(&city)\n'
        'fmt.Printf("%s from %s\\n", name, city)'
    )
    r = execute(kc, code, answers=["Ada", "London"])
    assert r.status == "ok", r.messages
    assert r.prompts == ["Your name? ", "Your city? "]
    assert r.stream() == "Ada from London\n"


def test_without_stdin_the_program_reads_end_of_input(kc):
    code = 'var s string\nn, err := fmt.Scanln(&s)\nfmt.Println("read", n, err)'
    r = execute(kc, code, allow_stdin=False)
    assert r.status == "ok"
    assert r.stream() == "read 0 EOF\n"


def test_stdin_from_a_file(kc, tmp_path):
    data = tmp_path / "numbers.txt"
    data.write_text("3 4\n")
    r = execute(kc, f"%%gorun --stdin-file {data}\nvar a, b int\nfmt.Scan(&a, &b)\na * b")
    assert r.value == "12"


def test_ctrl_d_reply_is_end_of_input(kc):
    r = execute(kc, "b, err := io.ReadAll(os.Stdin)\nfmt.Println(len(b), err)", answers=[])
    assert r.stream() == "0 <nil>\n" and r.prompts == [""]


def test_session_commands(kc, tmp_path):
    r = execute(kc, "%help")  # the reference: Markdown for notebooks, plain text for consoles
    [shown] = r.of_type("display_data")
    assert shown["data"]["text/markdown"] == reference.page("kernel")
    text = shown["data"]["text/plain"]
    assert "%goflags" in text and "--timeout" in text and "`" not in text
    assert text.count("Go build flags") == 1 and "Magic-only options" in text
    r = execute(kc, '%goflags -ldflags "-X main.version=9.9"')
    assert r.status == "ok"
    assert execute(kc, 'var version = "dev"\nfmt.Println(version)').stream() == "9.9\n"
    execute(kc, "%goflags --clear")
    assert execute(kc, "fmt.Println(version)").stream() == "dev\n"
    execute(kc, "%env GREETING=hello")
    assert execute(kc, 'fmt.Println(os.Getenv("GREETING"))').stream() == "hello\n"
    execute(kc, "%timeout 500ms")
    r = execute(kc, "time.Sleep(time.Hour)")
    assert r.reply["content"]["ename"] == "RunTimeout"
    execute(kc, "%timeout off")
    r = execute(kc, "func gone() {}")
    assert "gone" in execute(kc, "%list").stream()
    count = r.reply["content"]["execution_count"]
    r = execute(kc, "%rm gone nothere")
    assert r.stream() == f"removed gone (func, cell [{count}])\n"
    assert r.reply["content"]["evalue"] == "not declared in this session: nothere"
    assert "gone" not in execute(kc, "%list").stream()
    r = execute(kc, "%nosuchcommand")
    assert r.reply["content"]["ename"] == "UsageError"


def test_shell_lines_run_in_the_notebook_directory(kc):
    r = execute(kc, "!pwd\n!echo two words")
    assert r.stream() == f"{os.getcwd()}\ntwo words\n"
    r = execute(kc, "!exit 4")
    assert r.reply["content"]["evalue"] == "exit status 4"


def test_per_cell_command_line_and_package_runs(kc):
    r = execute(kc, "%%gorun -- one two\nfmt.Println(os.Args[1:])")
    assert r.stream() == "[one two]\n"
    r = execute(kc, "%gorun example.com/hello@v1.0.0 a")
    assert r.stream() == "hello from v1.0.0 [a]\n"
    r = execute(kc, '%%gorun --stdin data\nfmt.Println("x")')
    assert r.reply["content"]["ename"] == "UsageError"


def test_is_complete(kc):
    def check(code: str) -> str:
        return is_complete(kc, code)["status"]

    assert check("fmt.Println(1)") == "complete"
    assert check("func f() {") == "incomplete"
    assert check("x := `raw") == "incomplete"
    assert check("x := 1 +") == "incomplete"
    assert check("}") == "invalid"
    assert is_complete(kc, "func f() {\n\tif true {")["indent"] == " " * 8  # no tab: no ^I
    r = execute(kc, "%%gorun --no-raise-error\nfmt.Println(1)")
    assert "for the %%gorun magic" in r.reply["content"]["evalue"]


def test_completion_and_inspection(kc):
    execute(kc, "func mySessionFunc() {}")
    assert "strings" in complete(kc, 'import "str')["matches"]
    reply = complete(kc, "strings.ToU")
    assert reply["matches"] == ["ToUpper", "ToUpperSpecial"]
    assert reply["cursor_start"] == len("strings.")
    assert "mySessionFunc" in complete(kc, "mySess")["matches"]
    assert "for" in complete(kc, "fo")["matches"]

    reply = inspect(kc, "fmt.Println(1)", 5)
    assert reply["found"] and "Println(a ...any) (n int, err error)" in reply["data"]["text/plain"]
    text = inspect(kc, "strings.Builder", 10)["data"]["text/plain"]
    assert "A Builder is used to efficiently build a string" in text
    reply = inspect(kc, "mySessionFunc()", 3, detail_level=1)  # with the declaration's source
    assert "func mySessionFunc() {}" in reply["data"]["text/plain"]


def test_language_info_and_banner(kc):
    content = kernel_info(kc)
    info = content["language_info"]
    assert info["name"] == "go" and info["file_extension"] == ".go"
    assert info["mimetype"] == "text/x-go" and info["pygments_lexer"] == "go"
    assert info["version"][:1].isdigit()
    assert "go1." in content["banner"]


# -- interrupts, restarts ------------------------------------------------------

SPAWN = """
child := exec.Command("sleep", "1000")
if err := child.Start(); err != nil { panic(err) }
fmt.Println("child", child.Process.Pid)
for {}
"""


@pytest.mark.parametrize("mode", ["signal", "message"])
def test_interrupt_an_infinite_loop_then_run_a_cell(mode):
    km, kc = start(interrupt_mode=mode)
    try:
        r, (child,), took = execute_and_interrupt(km, kc, SPAWN, "child ")
        assert r.status == "error" and r.reply["content"]["ename"] == "Interrupted"
        assert took < 2.0
        assert wait_gone(child)
        assert execute(kc, 'fmt.Println("alive")').stream() == "alive\n"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_interrupt_during_a_build(fresh_kernel):
    km, kc = fresh_kernel
    msg_id = kc.execute('%%gorun -a\nfmt.Println("never")')  # -a: seconds of go build
    builds = go_builds_started_by(km.provisioner.process.pid)
    started = time.monotonic()
    km.interrupt_kernel()
    reply = reply_to(kc, msg_id)
    assert time.monotonic() - started < 2.0
    assert reply["content"]["ename"] == "Interrupted"
    assert all(wait_gone(pid) for pid in builds)
    assert execute(kc, 'fmt.Println("alive")').stream() == "alive\n"


def test_interrupt_while_waiting_for_input(fresh_kernel):
    km, kc = fresh_kernel
    # stop_on_error=False: ipykernel aborts requests that come right after a failed one
    # (Run All stops there); this test is about the kernel being alive after it.
    msg_id = kc.execute(
        'var s string\nfmt.Print("? ")\nfmt.Scanln(&s)', allow_stdin=True, stop_on_error=False
    )
    req = kc.get_stdin_msg(timeout=60)
    assert req["content"]["prompt"] == "? "
    km.interrupt_kernel()
    assert reply_to(kc, msg_id)["content"]["ename"] == "Interrupted"
    assert execute(kc, 'fmt.Println("alive")').stream() == "alive\n"


def _scratch_dirs() -> set[Path]:
    base = Path(os.environ["GORUN_SCRATCH_DIR"])
    return {p for p in base.rglob("session-*") if p.is_dir()}


def test_restart_during_a_running_cell_leaves_nothing_behind():
    before = _scratch_dirs()
    km, kc = start()
    try:
        child: list[int] = []
        msg_id = kc.execute(SPAWN)
        while not child:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                child.append(int(msg["content"]["text"].split()[1]))
        mine = _scratch_dirs() - before
        assert len(mine) == 1
        km.restart_kernel(now=False)
        assert wait_gone(child[0]), "the cell's child process survived the restart"
        assert not any(d.exists() for d in mine)
        kc.wait_for_ready(timeout=START_TIMEOUT)
        assert execute(kc, 'fmt.Println("after restart")').stream() == "after restart\n"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert _scratch_dirs() - before == set()


def test_shutdown_removes_the_scratch_module():
    before = _scratch_dirs()
    km, kc = start()
    execute(kc, 'fmt.Println("hi")')
    assert len(_scratch_dirs() - before) == 1
    kc.stop_channels()
    km.shutdown_kernel(now=False)
    assert _scratch_dirs() - before == set()


def test_a_sigkilled_kernel_leaves_no_program_and_no_directory_behind():
    """Killed outright mid-cell: its program dies with it, and the next start
    removes the scratch module and what the program had started."""
    before = _scratch_dirs()
    km, kc = start()
    code = SPAWN.replace("child.Process.Pid)", "child.Process.Pid, os.Getpid())")
    msg_id = kc.execute(code)
    pids: list[int] = []
    while not pids:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            pids = [int(w) for w in msg["content"]["text"].split()[1:3]]
    child, program = pids
    (mine,) = _scratch_dirs() - before
    pid = km.provisioner.process.pid
    os.kill(pid, signal.SIGKILL)
    km.provisioner.process.wait()
    kc.stop_channels()
    assert wait_gone(program), "the program outlived its kernel"
    assert mine.exists()
    km2, kc2 = start()
    try:
        assert not mine.exists()
        assert wait_gone(child), "the program's child outlived the next kernel start"
    finally:
        kc2.stop_channels()
        km2.shutdown_kernel(now=False)
    assert not running(pid)


# -- the Jupyter project's conformance suite -----------------------------------


class TestConformance(jupyter_kernel_test.KernelTests):
    kernel_name = "gorun"
    language_name = "go"
    file_extension = ".go"

    code_hello_world = 'fmt.Println("hello, world")'
    code_stderr = 'fmt.Fprintln(os.Stderr, "to stderr")'
    code_generate_error = 'var x int = "not an int"'
    completion_samples: ClassVar[list[Any]] = [
        {"text": "strings.Repl", "matches": {"Replace", "ReplaceAll", "Replacer"}},
        {"text": "fmt.Sprin", "matches": {"Sprint", "Sprintf", "Sprintln"}},
    ]
    complete_code_samples: ClassVar[list[Any]] = [
        'fmt.Println("done")',
        "x := 1\nfmt.Println(x)",
        "%list",
    ]
    incomplete_code_samples: ClassVar[list[Any]] = ["func f() {", "fmt.Println(1,", "s := `multi"]
    invalid_code_samples: ClassVar[list[Any]] = ["}", 'fmt.Println("unterminated)']
    code_inspect_sample = "fmt.Println"
    code_execute_result: ClassVar[list[Any]] = [
        {"code": "6 * 7", "result": "42"},
        {"code": 'strings.Repeat("ab", 2)', "result": '"abab"'},
    ]
    code_display_data: ClassVar[list[Any]] = [
        {"code": 'fmt.Println("shown")', "mime": "text/plain"}
    ]
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "strings.*"  # a glob, as IPython's %history -g

    @classmethod
    def setUpClass(cls) -> None:
        # A history file of its own: its search (unique) expects its own cells alone,
        # not the cells of the tests before it in the session's shared file.
        cls.history_dir = tempfile.TemporaryDirectory(prefix="gorun-conformance-history-")
        saved = os.environ.get("GORUN_HISTORY")
        os.environ["GORUN_HISTORY"] = os.path.join(cls.history_dir.name, "history.sqlite")
        try:
            super().setUpClass()
        finally:
            if saved is None:
                os.environ.pop("GORUN_HISTORY")
            else:
                os.environ["GORUN_HISTORY"] = saved
        # The first build of a fresh machine compiles fmt and the runtime:
        # let it happen here, not inside the suite's 15-second limits.
        execute(cls.kc, 'fmt.Println("warm")', timeout=300)

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        cls.history_dir.cleanup()
