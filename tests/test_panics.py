"""A panic in the user's words (issue 22 item 3): the error is the panic, where it
happened, with the runtime's trace under it; a panicking test says its note once.

Through a real kernel and real IPython, with the real go toolchain.
"""

from __future__ import annotations

import re
import textwrap

import pytest
from kernel_client import Result, execute

import gorun_kernel

pytestmark = pytest.mark.e2e


def cell(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def plain(lines: list[str]) -> list[str]:
    return [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines]


def everything_shown(r: Result) -> str:
    """All the text a notebook shows for a cell: streams, displays, the error."""
    parts = [c["text"] for t, c in r.messages if t == "stream"]
    parts += [c["data"]["text/plain"] for t, c in r.messages if t == "display_data"]
    parts += ["\n".join(plain(c["traceback"])) for t, c in r.messages if t == "error"]
    return "\n".join(parts)


def test_a_panic_is_the_cells_error_with_its_trace_below(kc):
    r = execute(kc, 'x := 1\nif x > 0 {\n\tpanic("not implemented")\n}\n')
    n = r.reply["content"]["execution_count"]
    content = r.reply["content"]
    assert content["ename"] == "GoPanic"
    assert content["evalue"] == f"panic: not implemented (cell [{n}], line 3)"
    headline, *trace = plain(content["traceback"])
    assert headline == f"GoPanic: panic: not implemented (cell [{n}], line 3)"
    assert "goroutine 1 [running]:" in trace and "main.main()" in trace
    assert any(re.fullmatch(r"\tcell:3 \+0x[0-9a-f]+", line) for line in trace), trace
    assert trace[-1] == "exit status 2"
    # Said once, under the headline: not also as stderr above it.
    assert "panic:" not in r.stream("stderr")
    assert everything_shown(r).count("not implemented") == 1


def test_a_runtime_panic_in_an_earlier_cells_function_names_that_cell(kc):
    first = execute(kc, 'func putGp(m map[string]int) {\n\tm["a"] = 1\n}\n')
    assert first.status == "ok"
    k = first.reply["content"]["execution_count"]
    r = execute(kc, "var m map[string]int\nputGp(m)\n")
    assert r.reply["content"]["ename"] == "GoPanic"
    assert r.reply["content"]["evalue"] == (
        f"panic: assignment to entry in nil map (cell [{k}], line 2)"
    )


def test_a_program_that_prints_panic_itself_is_not_a_panic(kc):
    r = execute(kc, 'fmt.Fprintln(os.Stderr, "panic: just words")\nfmt.Println("still here")\n')
    assert r.status == "ok"
    assert r.stream("stderr") == "panic: just words\n"
    assert r.stream("stdout") == "still here\n"
    # ... nor is one that says it and then exits with status 2 without a trace.
    r = execute(kc, 'fmt.Fprintln(os.Stderr, "panic: words")\nos.Exit(2)\n')
    assert r.reply["content"]["ename"] == "ExitError"
    assert r.stream("stderr") == "panic: words\n"


def test_a_panicking_test_says_its_note_once(kc):
    r = execute(
        kc,
        cell("""
            %%gotest
            func TestGpPanic(t *testing.T) {
                panic("boom")
            }
        """),
    )
    assert r.reply["content"]["ename"] == "TestFailure"
    assert everything_shown(r).count("TestGpPanic panicked at line 3: boom") == 1


def test_the_magic_raises_the_panic(run):
    result, _, err = run("%%gorun\nvar s []int\n_ = s[5]\n")
    error = result.error_in_exec
    assert isinstance(error, gorun_kernel.GoPanic)
    assert isinstance(error, gorun_kernel.ExitError) and error.returncode == 2
    assert str(error).startswith("panic: runtime error: index out of range [5] with length 0")
    # The magic's cells count from the %%gorun line, and are named as In [N].
    assert re.search(r" \(cell \[\d+\], line 3\)$", str(error)), str(error)
    assert "goroutine 1 [running]:" in error.details
    assert "panic:" not in err.split("GoPanic:")[0]  # nothing of it above the error
