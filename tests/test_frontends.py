"""Other front-ends on the same kernel and magic: nbconvert, jupyter console, ipykernel."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pexpect
import pytest
from kernel_client import START_TIMEOUT, execute, execute_and_interrupt
from test_sessions import wait_gone

pytestmark = pytest.mark.e2e


def test_nbconvert_executes_a_go_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "gorun", "display_name": "Go (gorun)", "language": "go"}
    nb.cells = [
        nbformat.v4.new_code_cell("func sq(x int) int { return x * x }"),
        nbformat.v4.new_code_cell("fmt.Println(sq(12))"),
        nbformat.v4.new_code_cell("sq(5)"),
        nbformat.v4.new_code_cell(
            'var s string\n_, err := fmt.Scanln(&s)\nfmt.Println("stdin:", err)'
        ),
    ]
    path = tmp_path / "go.ipynb"
    nbformat.write(nb, path)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--output", "done.ipynb", str(path)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    done = nbformat.read(tmp_path / "done.ipynb", as_version=4)
    outputs = [c.outputs for c in done.cells]
    assert outputs[1][0]["text"] == "144\n"
    assert next(o for o in outputs[2] if o["output_type"] == "execute_result")["data"] == {
        "text/plain": "25"
    }
    assert outputs[3][0]["text"] == "stdin: EOF\n"  # nbconvert has no stdin: end of input


# jupyter console gives up on the kernel after 60 s at start, and on is_complete after
# 1 s: from then on it decides continuation lines itself, and a loaded machine would
# fail the test, not the kernel. The kernel's answers still decide, only later.
PATIENT_CONSOLE = [
    f"--ZMQTerminalInteractiveShell.kernel_timeout={START_TIMEOUT}",
    f"--ZMQTerminalInteractiveShell.kernel_is_complete_timeout={START_TIMEOUT}",
]


def _console(tmp_path: Path) -> pexpect.spawn:
    """jupyter console on a gorun kernel, as a user starts it (plus patience)."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "jupyter", "console", "--kernel", "gorun", *PATIENT_CONSOLE],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=120,
        dimensions=(40, 200),
    )


def test_jupyter_console_runs_go_and_continues_lines(tmp_path):
    console = _console(tmp_path)
    try:
        console.expect(r"In \[.*1.*\]")
        console.send('fmt.Println("from" + " console")\r')
        console.expect("from console")
        console.expect(r"In \[.*2.*\]")
        console.send("func twice(x int) int {\r")
        console.expect(r"\.\.\.:")  # is_complete said incomplete: the console continues
        console.send("return 2 * x }\r")
        console.expect(r"In \[.*3.*\]")
        # The continuation line was pre-indented with spaces, not a tab shown as ^I.
        shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.before)  # no colours, moves
        assert "^I" not in shown, shown
        console.send("twice(21)\r")
        console.expect("42")
        console.expect(r"In \[.*4.*\]")
        console.sendeof()
        console.expect("exit")
        console.send("y\r")
        console.expect(pexpect.EOF)
    finally:
        console.close(force=True)


def test_exit_and_quit_leave_jupyter_console(tmp_path):
    # jupyter console says `exit` and `quit` always leave; it asks the kernel, which
    # answers with IPython's ask_exit payload (a Go BuildError before).
    for word in ("exit", "quit"):
        console = _console(tmp_path)
        try:
            console.expect(r"In \[.*1.*\]")
            console.send(word + "\r")
            console.expect(pexpect.EOF)
            assert "BuildError" not in console.before, console.before
        finally:
            console.close(force=True)


def test_exit_is_a_go_name_once_the_session_declares_it(kc):
    r = execute(kc, "exit")
    assert r.status == "ok" and r.reply["content"]["payload"] == [
        {"source": "ask_exit", "keepkernel": False}
    ]
    execute(kc, "var quit = 3")
    r = execute(kc, "quit")
    assert r.value == "3" and r.reply["content"]["payload"] == []
    execute(kc, "%rm quit")


def test_magic_in_a_python_kernel_asks_the_frontend_for_stdin(python_kernel):
    _, kc = python_kernel
    code = (
        '%%gorun\npackage main\nimport "fmt"\n'
        'func main() { var a, b string; fmt.Print("a? "); fmt.Scanln(&a); '
        'fmt.Print("b? "); fmt.Scanln(&b); fmt.Println(a + b) }\n'
    )
    r = execute(kc, code, answers=["go", "pher"])
    assert r.status == "ok", r.messages
    assert r.prompts == ["a? ", "b? "]
    assert "gopher\n" in r.stream()
    r = execute(kc, code, allow_stdin=False)
    assert r.status == "ok" and "\n" in r.stream()


def test_magic_in_a_python_kernel_is_interrupted(python_kernel):
    km, kc = python_kernel
    code = (
        '%%gorun\npackage main\nimport ("fmt"; "os/exec")\n'
        'func main() { c := exec.Command("sleep", "1000"); c.Start()\n'
        'fmt.Println("child", c.Process.Pid); for {} }\n'
    )
    r, (child,), took = execute_and_interrupt(km, kc, code, "child ")
    assert r.status == "error" and r.reply["content"]["ename"] == "Interrupted"
    assert took < 2.0 and wait_gone(child)
    assert "1\n" in execute(kc, "print(1)").stream()


def test_magic_error_renders_without_a_python_traceback(python_kernel):
    _, kc = python_kernel
    r = execute(kc, "%%gorun\npackage main\nfunc main() { undefinedName() }\n")
    err = r.of_type("error")[0]
    assert err["ename"] == "BuildError" and err["evalue"] == "line 3: undefined: undefinedName"
    text = "\n".join(err["traceback"])
    assert "Traceback" not in text and ".py" not in text
    assert Path(os.getcwd()).exists()
