"""--wasm cells, the pure parts (issue 28): the option, what a page cannot do, the page's HTML.

The builds, the kernel and the magic: test_wasm_cells.py; the browser: test_wasm_browser.py.
"""

from __future__ import annotations

import base64
import gzip
import json
import re

import pytest

from gorun_kernel import cmdline
from gorun_kernel.build import wasm
from gorun_kernel.errors import BuildError, UsageError
from gorun_kernel.run.wasm import page_html


def test_the_option_is_two_dashes_and_takes_no_value():
    assert cmdline.parse(["--wasm"]).wasm
    assert not cmdline.parse([]).wasm
    with pytest.raises(UsageError, match="takes no value"):
        cmdline.parse(["--wasm=yes"])
    with pytest.raises(UsageError, match="did you mean --wasm"):
        cmdline.parse(["-wasm"])


@pytest.mark.parametrize("words", [["--bg"], ["--stdin-file", "x"], ["-exec", "echo"],
                                   ["--out", "v"], ["--err", "v"], ["--stdin", "v"],
                                   ["--in", "xs"], ["--export", "ys"]])  # fmt: skip
def test_options_about_a_local_process_are_refused(words):
    with pytest.raises(UsageError, match="not for a --wasm cell"):
        wasm.check_command(cmdline.parse(["--wasm", *words]))


def test_timeout_and_memory_from_the_session_do_not_refuse_the_cell():
    wasm.check_command(cmdline.parse(["--wasm", "--timeout", "5", "--memory", "1GiB"]))


def test_the_target_is_js_wasm_and_another_one_is_a_usage_error():
    assert wasm.target_env({"PATH": "/bin"}) == {"PATH": "/bin", "GOOS": "js", "GOARCH": "wasm"}
    with pytest.raises(UsageError, match="--env GOOS=linux"):
        wasm.target_env({"GOOS": "linux"})


@pytest.mark.parametrize(
    ("code", "line", "what"),
    [
        ('import "os/exec"\nfmt.Println(1)', 2, '"os/exec" starts programs'),
        ('x := 1\nout, _ := exec.Command("ls").Output()', 3, "os/exec starts programs"),
        ('package main\n\nimport "C"\n\nfunc main() {}', 4, 'import "C": cgo'),
        ('ln, err := net.Listen("tcp", ":8080")', 2, "a listener in the page"),
        ('\thttp.ListenAndServe(":80", nil)', 2, "a listener in the page"),
    ],
)
def test_what_a_page_cannot_do_is_an_error_at_the_cells_line_with_a_hint(code, line, what):
    with pytest.raises(BuildError) as info:
        wasm.check_cell(code, first_line=2)
    e = info.value
    assert e.message.startswith(f"line {line}: {what}"), e.message
    quoted = code.split("\n")[line - 2]
    assert e.details[0] == f"    {quoted}"
    assert e.details[-1] == wasm.HINT


def test_comments_and_other_names_are_not_flagged():
    wasm.check_cell('// exec.Command("ls") would not work here\nx := myexec.Commands', 1)
    wasm.check_cell('fmt.Println("os")\nvar listen = 1', 1)


def test_gos_errors_about_the_target_get_the_hint_and_others_do_not():
    target = BuildError("line 2: undefined: syscall.Setsid", ["    syscall.Setsid()"],
                        "./cell:2:10: undefined: syscall.Setsid")  # fmt: skip
    assert wasm.with_hint(target).details == ["    syscall.Setsid()", wasm.HINT]
    other = BuildError("line 2: undefined: y", ["    y++"], "./cell:2:1: undefined: y")
    assert wasm.with_hint(other) is other


def _holder(page: str, name: str) -> str:
    m = re.search(rf'<script type="text/plain" data-gorun="{name}">(.*?)</script>', page, re.S)
    assert m, name
    return m.group(1)


def test_the_page_holds_the_module_and_go_glue_gzipd_and_the_settings():
    module = b"\0asm" + bytes(range(256)) * 40
    exec_js = b"globalThis.Go = class {};"
    page = page_html(module, exec_js, ["a b", "</script>"], {"K": "v"})
    assert gzip.decompress(base64.b64decode(_holder(page, "module"))) == module
    assert gzip.decompress(base64.b64decode(_holder(page, "exec"))) == exec_js
    settings = _holder(page, "settings")
    assert "</script>" not in settings  # an argument cannot end the script early
    assert json.loads(settings) == {"args": ["a b", "</script>"], "env": {"K": "v"}}
    # The same module gives the same text (gzip without a timestamp): saved outputs
    # compare equal when nothing changed.
    assert page_html(module, exec_js, [], {}) == page_html(module, exec_js, [], {})


def test_where_scripts_do_not_run_the_reader_is_told_why():
    page = page_html(b"\0asm", b"", [], {})
    status = re.search(r'<pre class="gorun-wasm-status"[^>]*>(.*?)</pre>', page, re.S)
    assert status and "trust the notebook" in status.group(1)


def test_page_builds_are_trimpath_unless_the_cell_says_otherwise():
    assert wasm.for_page(cmdline.parse(["--wasm", "-race"])).build_flags == ["-trimpath", "-race"]
    assert wasm.for_page(cmdline.parse(["-trimpath=false"])).build_flags == ["-trimpath=false"]
