"""The fault suite: what a program does must never break the notebook.

Through a real kernel process (jupyter_client) and through %%gorun in IPython. What
only the engine decides (crashes in Go's words, timeouts, output caps, children that
are left behind) is tested in process: test_engine_semantics.py.
"""

from __future__ import annotations

import concurrent.futures
import resource
from pathlib import Path

import pytest
from kernel_client import execute, execute_and_interrupt, start
from test_sessions import wait_gone

import gorun_kernel

pytestmark = pytest.mark.e2e


def kernel_rss_kb(km) -> int:
    status = Path(f"/proc/{km.provisioner.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


STUBBORN = """
signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
fmt.Println("ignoring", os.Getpid())
for {}
"""


def test_a_program_ignoring_sigint_and_sigterm_is_killed_on_interrupt(kernel):
    km, kc = kernel
    r, (pid,), took = execute_and_interrupt(km, kc, STUBBORN, "ignoring")
    assert r.reply["content"]["ename"] == "Interrupted"
    assert took < 2.0 and wait_gone(pid)  # SIGINT, SIGTERM ignored: SIGKILL within a second
    assert execute(kc, 'fmt.Println("next")').stream() == "next\n"


def test_output_without_end_is_capped_and_memory_stays_flat(kernel):
    km, kc = kernel
    before = kernel_rss_kb(km)
    r = execute(
        kc,
        "%%gorun --timeout 60\n"
        'line := strings.Repeat("x", 1023) + "\\n"\n'
        "for i := 0; i < 50*1024; i++ { os.Stdout.WriteString(line) }",  # 50 MB
    )
    assert r.status == "ok"
    shown = r.stream()
    assert len(shown) <= 4 << 20
    assert "bytes of output not shown" in r.stream("stderr")
    assert kernel_rss_kb(km) - before < 100 * 1024


def test_many_small_writes_are_batched(kc):
    r = execute(kc, 'for i := 0; i < 5000; i++ { fmt.Print("z") }')
    streams = r.of_type("stream")
    assert "".join(s["text"] for s in streams) == "z" * 5000
    assert len(streams) < 100


def test_a_cell_of_only_comments(kc):
    r = execute(kc, "// nothing here\n/* nor here */\n")
    assert r.status == "ok" and r.messages == []


def test_four_kernels_at_once_each_see_only_their_own(tmp_path):
    kernels = [start() for _ in range(4)]
    try:

        def session(i: int) -> list[str]:
            kc = kernels[i][1]
            execute(kc, f"var who = {i}\nfunc me() int {{ return who * 10 }}")
            outs = []
            for j in range(3):
                outs.append(execute(kc, f"fmt.Println(me() + {j})").stream())
            outs.append(execute(kc, "%list").stream())
            return outs

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(session, range(4)))
        for i, outs in enumerate(results):
            assert outs[:3] == [f"{i * 10 + j}\n" for j in range(3)]
            assert outs[3].count("\n") == 2  # who and me, nothing of the other kernels
    finally:
        for km, kc in kernels:
            kc.stop_channels()
            km.shutdown_kernel(now=False)


# -- the same faults through %%gorun in IPython ----------------------------------


def test_magic_timeout_kills_a_stubborn_program_and_its_children(run):
    src = (
        "%%gorun --timeout 1\npackage main\n"
        'import ("fmt"; "os"; "os/exec"; "os/signal"; "syscall")\n'
        "func main() {\n"
        "signal.Ignore(syscall.SIGINT, syscall.SIGTERM)\n"
        'c := exec.Command("sleep", "1000"); c.Start()\n'
        'fmt.Println("child", c.Process.Pid, os.Getpid())\nfor {}\n}\n'
    )
    result, out, _ = run(src)
    assert isinstance(result.error_in_exec, gorun_kernel.RunTimeout)
    _, child, pid = out.split()[:3]
    assert wait_gone(int(child)) and wait_gone(int(pid))


def test_magic_flood_is_capped(run):
    result, out, err = run(
        '%%gorun --quiet\npackage main\nimport ("os"; "strings")\n'
        'func main() { os.Stdout.WriteString(strings.Repeat("f", 10<<20)) }\n'
    )
    assert result.success
    assert len(out) == 4 << 20 and "bytes of output not shown" in err


def test_magic_crash_reports(run):
    result, _, err = run("%%gorun\nfunc f(n int) int { return f(n+1) + 1 }\nf(0)\n")
    assert isinstance(result.error_in_exec, gorun_kernel.ExitError)
    assert "fatal error: stack overflow" in err


def test_our_own_memory_is_bounded_during_a_flood(run):
    """The magic's process (this test process) also keeps only the capped output."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result, _, _ = run(
        '%%gorun --quiet\npackage main\nimport ("os"; "strings")\n'
        'func main() { s := strings.Repeat("m", 1<<20); for i := 0; i < 100; i++ { '
        "os.Stdout.WriteString(s) } }\n"
    )
    assert result.success
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 80 * 1024
