"""--wasm cells through a real kernel and real IPython, with the real Go toolchain (issue 28).

The program does not run here: the output is a display that carries it to the page. The
module in it is checked with node and Go's own go_js_wasm_exec, so these tests see that what
the page gets is the cell's program; tests/test_wasm_browser.py runs it in Chromium.
"""

from __future__ import annotations

import base64
import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from kernel_client import execute

from gorun_kernel.build import wasm
from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.run.wasm import METADATA_KEY

pytestmark = pytest.mark.e2e


def module_of(html: str) -> bytes:
    m = re.search(r'<script type="text/plain" data-gorun="module">(.*?)</script>', html, re.S)
    assert m, html[:500]
    return gzip.decompress(base64.b64decode(m.group(1)))


def run_under_node(module: bytes, tmp_path: Path) -> str:
    """What the module prints under node, with the toolchain's own runner (no page helpers)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: cannot run the js/wasm module outside a browser")
    runner = Path(find_toolchain().goroot, "lib", "wasm", "go_js_wasm_exec")
    exe = tmp_path / "cell.wasm"
    exe.write_bytes(module)
    return subprocess.run([str(runner), str(exe)], capture_output=True, text=True,
                          timeout=60, check=True).stdout  # fmt: skip


def test_a_wasm_cell_shows_its_program_for_the_page_and_says_where_it_runs(kc, tmp_path):
    r = execute(kc, '%%gorun --wasm\nfmt.Println("hello from", runtime.GOOS+"/"+runtime.GOARCH)')
    assert r.status == "ok", r.reply
    assert r.stream("stdout") == ""  # it did not run here
    shown = r.of_type("display_data")
    page = next(d for d in shown if METADATA_KEY in d["metadata"])
    facts = page["metadata"][METADATA_KEY]
    assert facts["target"] == "js/wasm"
    module = module_of(page["data"]["text/html"])
    assert module.startswith(b"\0asm")
    assert facts["module_bytes"] == len(module)
    assert run_under_node(module, tmp_path) == "hello from js/wasm\n"
    status = shown[-1]["data"]["text/plain"]
    assert status.startswith("built for js/wasm · runs in the page · page weight "), status


def test_session_declarations_reach_a_wasm_cell_and_its_own_join_the_session(kc, tmp_path):
    assert execute(kc, "func twice(n int) int { return 2 * n }").status == "ok"
    r = execute(kc, "%%gorun --wasm\nfunc thrice(n int) int { return 3 * n }\n"
                    "fmt.Println(twice(5), thrice(5))")  # fmt: skip
    assert r.status == "ok", r.reply
    html = next(
        d["data"]["text/html"] for d in r.of_type("display_data") if METADATA_KEY in d["metadata"]
    )
    assert run_under_node(module_of(html), tmp_path) == "10 15\n"
    r = execute(kc, "fmt.Println(thrice(2))")  # an ordinary cell, here in the kernel
    assert r.stream("stdout") == "6\n", r.messages


def test_what_js_wasm_lacks_is_gos_error_at_the_cells_line_with_a_hint(kc):
    r = execute(kc, "%%gorun --wasm\nx := 1\n_, _ = syscall.Setsid()\nfmt.Println(x)")
    assert r.status == "error"
    trace = "\n".join(r.reply["content"]["traceback"])
    assert "line 3: undefined: syscall.Setsid" in trace, trace
    assert "    _, _ = syscall.Setsid()" in trace
    assert trace.rstrip().endswith(wasm.HINT)
    r = execute(kc, '%%gorun --wasm\nout, _ := exec.Command("date").Output()\nfmt.Print(out)')
    assert r.status == "error"
    trace = "\n".join(r.reply["content"]["traceback"])
    assert "line 2: os/exec starts programs" in trace, trace
    # The failed cells changed nothing; the session still works.
    assert execute(kc, 'fmt.Println("still here")').stream() == "still here\n"


def test_a_process_option_is_a_usage_error(kc):
    r = execute(kc, "%%gorun --wasm --bg\nfmt.Println(1)")
    assert r.status == "error"
    assert "--bg: not for a --wasm cell" in r.reply["content"]["evalue"]


def test_the_magic_shows_the_program_for_the_page(run):
    result, out, err = run('%%gorun --wasm\nfmt.Println("hi")')
    assert result.success, (out, err)
    assert "[a Go program that runs in the page: js/wasm" in out
    assert "built for js/wasm · runs in the page" in out
