"""Issue 14, items 4-5: what the cell says while it works, and how long it took.

A status line with build and run times (`· cached` when no go command ran), the
same figures in the reply's metadata; a progress line, updated in place, for a
build or a module download that takes more than half a second; nothing for a
fast cell.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from kernel_client import Result, execute, execute_and_interrupt, running

pytestmark = pytest.mark.e2e

TIMED = re.compile(r"exit status 0 · build \d+\.\d\d s · run \d+\.\d\d s")
CACHED = re.compile(r"exit status 0 · cached · run \d+\.\d\d s")


def status_of(r: Result) -> str:
    return r.of_type("display_data")[-1]["data"]["text/plain"]


def progress_messages(r: Result) -> list[tuple[str, str, str]]:
    """(msg_type, display_id, text) of the progress line's messages."""
    found = []
    for kind, c in r.messages:
        if kind in ("display_data", "update_display_data") and c.get("transient"):
            found.append((kind, c["transient"]["display_id"], c["data"]["text/plain"]))
    return found


def test_the_status_line_says_build_and_run_times_or_cached(kc):
    cell = f'fmt.Println("timed {time.time()}")'  # a new program: go builds it
    first = execute(kc, cell)
    assert TIMED.fullmatch(status_of(first)), status_of(first)
    again = execute(kc, cell)
    assert CACHED.fullmatch(status_of(again)), status_of(again)
    meta = again.reply["metadata"]["gorun_timing"]
    assert meta["cached"] is True and meta["run"] >= 0
    assert first.reply["metadata"]["gorun_timing"]["cached"] is False
    assert first.reply["metadata"]["gorun_timing"]["build"] > 0


def test_timing_off_and_quiet_hide_the_figures(kc):
    assert execute(kc, "%timing off").stream() == "timing: off\n"
    try:
        assert status_of(execute(kc, 'fmt.Println("plain")')) == "exit status 0"
    finally:
        execute(kc, "%timing on")
    r = execute(kc, '%%gorun --quiet\nfmt.Println("quiet")')
    assert r.of_type("display_data") == []


def test_a_declaration_only_cell_says_what_it_declared(kc):
    # Item 10: nothing the user wrote ran, so not "exit status 0".
    r = execute(kc, "type Pt struct{ X, Y int }\nfunc (p Pt) Sum() int { return p.X + p.Y }")
    assert re.fullmatch(
        r"declared: Pt, Pt\.Sum · build \d+\.\d\d s · run \d+\.\d\d s", status_of(r)
    )
    assert status_of(execute(kc, 'import "unicode"')).startswith("imported: unicode · ")
    r = execute(kc, "fmt.Println(Pt{1, 2}.Sum())")  # statements: go's words again
    assert r.stream() == "3\n" and TIMED.fullmatch(status_of(r))
    failed = execute(kc, "func broken() int { return nope }")
    assert failed.status == "error" and failed.of_type("display_data") == []


def test_a_pasted_library_is_not_a_forty_name_status_line(kc):
    cell = "\n".join(f"func lib{i}() int {{ return {i} }}" for i in range(40))
    first_eight = ", ".join(f"lib{i}" for i in range(8))
    assert status_of(execute(kc, cell)).startswith(f"declared: {first_eight} and 32 more · ")
    assert "lib39" in execute(kc, "%list").stream()  # %list names them all


def test_the_magic_says_what_a_declaration_only_cell_declared(run):
    _, out, _ = run('%%gorun\nvar greeting = "hi"')
    assert re.search(r"declared: greeting · build \d", out), out


def test_a_fast_cell_shows_no_progress_line(kc):
    cell = 'fmt.Println("fast")'
    execute(kc, cell)
    assert progress_messages(execute(kc, cell, allow_stdin=True)) == []  # cached: no go


def test_a_long_build_shows_one_progress_line_updated_in_place(kc):
    # -a: seconds of go build; allow_stdin: an interactive frontend, as JupyterLab is
    r = execute(kc, '%%gorun -a\nfmt.Println("rebuilt")', allow_stdin=True)
    assert r.status == "ok"
    progress = progress_messages(r)
    assert len({display_id for _, display_id, _ in progress}) == 1  # one line
    kinds = [kind for kind, _, _ in progress]
    assert kinds[0] == "display_data" and set(kinds[1:]) == {"update_display_data"}
    assert re.fullmatch(r"building… \d+\.\d s", progress[0][2])
    # The line goes when the build is done: the status line has the build time (issue
    # 22 item 2: it was `built in 0.9 s` above the output, repeating the status line).
    assert progress[-1][0] == "update_display_data" and progress[-1][2] == ""
    assert progress[-1][1] == progress[0][1]
    assert r.stream() == "rebuilt\n"
    assert TIMED.fullmatch(status_of(r)), status_of(r)


class _SlowProxy(http.server.SimpleHTTPRequestHandler):
    """The test module proxy over HTTP, answering each request after a delay: a slow
    network, so that a module download takes long enough to be reported."""

    delay = 0.4

    def do_GET(self) -> None:
        time.sleep(self.delay)  # the slowness under test, not a wait for something
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_proxy(hermetic_go: dict[str, str]) -> Iterator[str]:
    root = Path(hermetic_go["GOPROXY"].removeprefix("file://"))
    handler = functools.partial(_SlowProxy, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@contextlib.contextmanager
def kernel_behind(
    proxy: str, modcache: Path, name: str = "gorun"
) -> Iterator[BlockingKernelClient]:
    """A kernel (gorun, or python3 for the magic) whose modules come from proxy."""
    env = {"GOPROXY": proxy, "GOMODCACHE": str(modcache), "GOFLAGS": "-modcacherw -buildvcs=false"}
    with running(env=env, kernel_name=name, now=True) as (_, kc):
        yield kc


GREET = 'import "example.com/greet"\nfmt.Println(greet.Hello("Ada"))'


def test_a_slow_module_download_is_named_while_it_happens(slow_proxy, tmp_path):
    with kernel_behind(slow_proxy, tmp_path / "modcache") as kc:
        r = execute(kc, GREET, allow_stdin=True)
        assert r.status == "ok", r.reply["content"]
        assert r.stream() == "Howdy, Ada!\n"
        texts = [text for _, _, text in progress_messages(r)]
        assert any(t.startswith("downloading example.com/greet v1.2.0…") for t in texts), texts
        assert "downloaded example.com/greet v1.2.0" in texts[-1]


def test_a_batch_run_gets_no_progress_line_however_slow(slow_proxy, tmp_path):
    # nbconvert, papermill and nbval send allow_stdin=False: saved outputs stay the same.
    with kernel_behind(slow_proxy, tmp_path / "modcache") as kc:
        r = execute(kc, GREET)
        assert r.status == "ok", r.reply["content"]
        assert progress_messages(r) == []


def test_the_magic_in_a_python_kernel_shows_progress_and_timing(slow_proxy, tmp_path):
    with kernel_behind(slow_proxy, tmp_path / "modcache", "python3") as kc:
        assert execute(kc, "%load_ext gorun_kernel").status == "ok"
        r = execute(kc, "%%gorun\n" + GREET, allow_stdin=True)
        assert r.status == "ok", r.reply["content"]
        texts = [text for _, _, text in progress_messages(r)]
        assert any(t.startswith("downloading example.com/greet v1.2.0…") for t in texts), texts
        assert texts[-1] == "downloaded example.com/greet v1.2.0"  # not the build time again
        assert TIMED.fullmatch(status_of(r)), status_of(r)


def test_an_interrupt_is_reported_in_words_not_as_interrupted_interrupted(fresh_kernel):
    km, kc = fresh_kernel
    r, _, _ = execute_and_interrupt(km, kc, 'fmt.Println("spinning")\nfor {}', "spinning")
    content = r.reply["content"]
    assert content["ename"] == "Interrupted"
    assert content["evalue"] == "the program was stopped by an interrupt"
    assert "interrupted: interrupted" not in "\n".join(content["traceback"]).lower()
