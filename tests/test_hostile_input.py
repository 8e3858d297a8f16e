"""Hostile input and misleading output (issue 22 items 13, 20, 21).

Through a real kernel (jupyter_client) and real IPython, with the real Go
toolchain: a NUL byte in any word of a command line is a UsageError at once
and the session stays healthy; an absurd --memory is a UsageError; under a
memory limit only Go's own out-of-memory failure is called OverMemoryLimit.
"""

from __future__ import annotations

import pytest
from kernel_client import execute

pytestmark = pytest.mark.e2e

NUL_LINES = [
    "%env B=1\x002",
    '%%gorun --env "A=x\x00y"\nfmt.Println("ran")',
    '%%gorun --stdin-file "a\x00b"\nfmt.Println("ran")',
    '%%gorun -- "a\x00b"\nfmt.Println("ran")',
    '%goflags --env "A=x\x00y"',
]


@pytest.mark.parametrize("cell", NUL_LINES, ids=["%env", "--env", "--stdin-file", "arg", "goflags"])
def test_a_nul_byte_is_a_usage_error_and_the_session_stays_healthy(kc, cell):
    r = execute(kc, cell, stop_on_error=False)
    assert r.reply["content"]["ename"] == "UsageError", r.reply["content"]
    assert "NUL byte" in r.reply["content"]["evalue"]
    assert "Traceback" not in "".join(r.reply["content"]["traceback"])
    after = execute(kc, 'fmt.Println("after", os.Getenv("B") == "")')
    assert (after.status, after.stream()) == ("ok", "after true\n")


@pytest.mark.parametrize("line", ['--env "A=x\x00y"', '--stdin-file "a\x00b"', '-- "a\x00b"'])
def test_a_nul_byte_in_the_magic_line_is_a_usage_error(run, line):
    result, _, _ = run(f'%%gorun {line}\nfmt.Println("ran")')
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "NUL byte" in str(result.error_in_exec)
    result, out, _ = run('%%gorun\nfmt.Println("after")')
    assert result.success and out.startswith("after\n")


@pytest.mark.parametrize("size", ["99999999999999T", "9" * 400])
def test_an_absurd_memory_limit_is_a_usage_error(kc, size):
    r = execute(kc, f'%%gorun --memory {size}\nfmt.Println("hi")', stop_on_error=False)
    assert r.reply["content"]["ename"] == "UsageError"
    assert "more than the system can limit" in r.reply["content"]["evalue"]


def test_a_program_saying_out_of_memory_is_not_over_the_limit(kc):
    r = execute(
        kc,
        "%%gorun --memory 1GiB\n"
        'fmt.Fprintln(os.Stderr, "error: database out of memory quota")\n'
        'fmt.Fprintln(os.Stderr, "fatal error: runtime: out of memory (quoted)")\n'
        "os.Exit(1)",
        stop_on_error=False,
    )
    assert (r.reply["content"]["ename"], r.reply["content"]["evalue"]) == (
        "ExitError",
        "exit status 1",
    )
