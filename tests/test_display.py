"""Rich output from Go in both front-ends: the Go (gorun) kernel and %%gorun in a Python kernel.

Every display function, live updates, clearing, rich final values and the value
cache, each through a real kernel process (jupyter_client), with real go.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from kernel_client import Result, execute

pytestmark = pytest.mark.e2e


@dataclass
class Front:
    """One front-end: how to run a Go cell and how to reset the session."""

    name: str
    run: Callable[[str], Result]
    reset: Callable[[], Result]


@pytest.fixture(params=["kernel", "magic"])
def front(request) -> Front:
    if request.param == "kernel":
        kc = request.getfixturevalue("kernel")[1]
        return Front("kernel", lambda code: execute(kc, code), lambda: execute(kc, "%reset"))
    kc = request.getfixturevalue("python_kernel")[1]
    return Front(
        "magic",
        lambda code: execute(kc, "%%gorun\n" + code),
        lambda: execute(kc, "%gorun_reset"),
    )


def flat(r: Result) -> list[tuple[str, Any]]:
    """The cell's output in order: stdout lines, displays (by their MIME types), the rest."""
    out: list[tuple[str, Any]] = []
    for kind, c in r.messages:
        if kind == "stream":
            out += [(c["name"], line) for line in c["text"].splitlines()]
        elif kind == "display_data" and c["data"].get("text/plain", "").startswith("exit status"):
            continue  # the status line
        elif kind in ("display_data", "update_display_data", "execute_result"):
            out.append((kind, c))
        elif kind == "clear_output":
            out.append((kind, c["wait"]))
    return out


def png_size(b64: str) -> tuple[int, int]:
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


EVERY_FUNCTION = r"""
type displayRow struct {
	Name string
	N    int
}
img := image.NewRGBA(image.Rect(0, 0, 4, 3))
img.Set(1, 1, color.RGBA{255, 0, 0, 255})
var pngData, jpegData bytes.Buffer
png.Encode(&pngData, img)
jpeg.Encode(&jpegData, img, nil)
fmt.Println("start")
display.HTML("<b>html</b>")
fmt.Println("between")
display.Markdown("**md**")
display.SVG(`<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">
<rect width="8" height="8"/></svg>`)
display.PNG(pngData.Bytes())
display.JPEG(jpegData.Bytes())
display.Image(img)
display.JSON(map[string]int{"a": 1})
display.LaTeX(`$x^2$`)
display.Text("plain")
display.Bundle(map[string]any{"text/csv": "a,b\n1,2\n"})
display.Show([]displayRow{{"a", 1}})
fmt.Println("end")
"""


def test_every_display_function_in_order_with_stdout(front):
    r = front.run(EVERY_FUNCTION)
    assert r.status == "ok", r.messages
    out = flat(r)
    shape = [(k, v if k == "stdout" else sorted(v["data"])) for k, v in out]
    rich = [
        ["text/html"], ["text/markdown"], ["image/svg+xml"], ["image/png"], ["image/jpeg"],
        ["image/png"], ["application/json"], ["text/latex"], [], ["text/csv"], ["text/html"],
    ]  # fmt: skip
    assert shape == [
        ("stdout", "start"),
        ("display_data", ["text/html", "text/plain"]),
        ("stdout", "between"),
        *[("display_data", sorted([*mimes, "text/plain"])) for mimes in rich[1:]],
        ("stdout", "end"),
    ]
    data = [v["data"] for k, v in out if k == "display_data"]
    assert data[0] == {"text/html": "<b>html</b>", "text/plain": "html"}
    assert png_size(data[3]["image/png"]) == (4, 3)
    assert png_size(data[5]["image/png"]) == (4, 3)
    assert base64.b64decode(data[4]["image/jpeg"])[:2] == b"\xff\xd8"
    assert data[6]["application/json"] == {"a": 1}
    assert data[8] == {"text/plain": "plain"}
    assert "<td>a</td><td>1</td>" in data[10]["text/html"]


PROGRESS = r"""
bar := display.New()
for i := 1; i <= 100000; i++ {
	bar.HTML(fmt.Sprintf("<progress value=%d max=100000></progress>", i))
}
fmt.Println("done")
"""


def test_a_progress_bar_updated_100000_times_sends_few_messages_and_ends_full(front):
    r = front.run(PROGRESS)
    assert r.status == "ok", r.messages
    out = flat(r)
    kinds = [k for k, _ in out]
    assert kinds[0] == "display_data" and kinds[-1] in ("stdout", "update_display_data")
    first = out[0][1]
    display_id = first["transient"]["display_id"]
    assert first["data"] == {"text/plain": ""}
    updates = [v for k, v in out if k == "update_display_data"]
    assert 1 <= len(updates) <= 200  # 100,000 updates from the program
    assert {u["transient"]["display_id"] for u in updates} == {display_id}
    assert updates[-1]["data"]["text/html"] == "<progress value=100000 max=100000></progress>"
    assert ("stdout", "done") in out


def test_update_and_clear(front):
    r = front.run(
        'fmt.Println("gone")\nd := display.New()\nd.Markdown("*one*")\nd.Update(42)\n'
        'display.Clear()\nfmt.Println("kept")\n'
    )
    out = flat(r)
    assert out[0] == ("stdout", "gone")
    assert out[1][0] == "display_data"
    i = out.index(("clear_output", True))
    updates = [v["data"] for k, v in out[:i] if k == "update_display_data"]
    assert updates[-1] == {"text/plain": "42"}
    assert out[i + 1 :] == [("stdout", "kept")]


def test_rich_final_values(front):
    r = front.run('type finalRow struct{ Name string; N int }\n[]finalRow{{"a", 1}, {"b<", 2}}')
    (value,) = r.of_type("execute_result")
    assert value["data"]["text/plain"] == "[{a 1} {b< 2}]"
    assert "<td>b&lt;</td><td>2</td>" in value["data"]["text/html"]
    r = front.run("image.NewRGBA(image.Rect(0, 0, 5, 4))")
    (value,) = r.of_type("execute_result")
    assert value["data"]["text/plain"] == "[*image.RGBA 5x4]"
    assert png_size(value["data"]["image/png"]) == (5, 4)
    r = front.run(
        "type badge string\n"
        'func (b badge) HTML() string { return "<mark>" + string(b) + "</mark>" }\n'
        'badge("new")'
    )
    (value,) = r.of_type("execute_result")
    assert value["data"] == {"text/plain": '"new"', "text/html": "<mark>new</mark>"}
    r = front.run("42")
    assert r.of_type("execute_result")[0]["data"] == {"text/plain": "42"}


CACHED = """
n := cache.Value("answer", func() []int { fmt.Println("computing"); return []int{4, 2} })
fmt.Println(n)
"""


def test_cached_values_survive_cells_until_forget_or_reset(front):
    front.reset()
    assert flat(front.run(CACHED)) == [("stdout", "computing"), ("stdout", "[4 2]")]
    assert flat(front.run(CACHED)) == [("stdout", "[4 2]")]
    front.run('cache.Forget("answer")')
    assert flat(front.run(CACHED))[0] == ("stdout", "computing")
    front.reset()
    assert flat(front.run(CACHED))[0] == ("stdout", "computing")


def test_a_type_that_cannot_be_cached_is_a_clear_error_before_computing(front):
    r = front.run(
        "type secretRow struct{ name string }\n"
        'cache.Value("s", func() []secretRow { fmt.Println("computing"); return nil })\n'
    )
    assert r.status == "error"
    assert "computing" not in r.stream()
    (error,) = r.of_type("error")
    assert error["ename"] == "GoPanic"  # the panic is the error, its words the headline
    assert (
        'panic: cache.Value("s"): cannot store a []main.secretRow: field name of '
        "main.secretRow is unexported, and gob stores only exported fields (name it Name)"
    ) in error["evalue"]


GARBAGE = r"""
fd, _ := strconv.Atoi(os.Getenv("GORUN_DISPLAY_FD"))
os.NewFile(uintptr(fd), "raw").Write([]byte("not a frame\n"))
display.HTML("<i>as text</i>")
"""


def test_data_that_is_not_frames_is_a_note_and_the_session_goes_on(front):
    r = front.run(GARBAGE)
    assert r.status == "ok"
    assert "[gorun: the display channel carried data that is not display frames" in r.stream(
        "stderr"
    )
    assert r.stream() == "as text\n"
    assert flat(front.run('display.Text("again")'))[0][1]["data"] == {"text/plain": "again"}


def test_a_program_cell_imports_the_package_by_path(front):
    r = front.run(
        'package main\n\nimport "gorun.dev/display"\n\n'
        'func main() { display.Markdown("# title") }\n'
    )
    assert flat(r) == [
        ("display_data", {"data": {"text/markdown": "# title", "text/plain": "# title"},
                          "metadata": {}, "transient": {}}),
    ]  # fmt: skip


def test_under_node_with_exec_displays_degrade_to_text(kc):
    import shutil

    if shutil.which("node") is None:
        pytest.skip("no node on PATH: a js/wasm program cannot run here")
    r = execute(
        kc,
        "%%gorun --env GOOS=js --env GOARCH=wasm\n"
        'fmt.Println("before")\ndisplay.HTML("<b>wasm</b>")\nfmt.Println("after")\n',
    )
    assert r.status == "ok", r.messages
    assert r.stream() == "before\nwasm\nafter\n"


# -- the magic in IPython itself (in this process) -----------------------------


def test_the_magic_publishes_through_ipythons_display_machinery(ip):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell(
            '%%gorun\nfmt.Println("hi")\nd := display.New()\nd.Markdown("*x*")\n'
            "image.NewGray(image.Rect(0, 0, 2, 2))\n"
        )
    assert result.success
    # The displayhook prints Out[n]; n is the shell's count, which other tests of this
    # shared IPython may have moved on.
    assert re.fullmatch(r"hi\nOut\[\d+\]: \[\*image\.Gray 2x2\]\n", captured.stdout), (
        captured.stdout
    )
    first, update, status = captured.outputs
    assert first.data == {"text/plain": ""} and first.transient["display_id"].startswith("gorun-")
    assert update.update and update.transient == first.transient
    assert update.data == {"text/markdown": "*x*", "text/plain": "*x*"}
    assert status.data["text/plain"].startswith("exit status 0 · ")
    bundle = result.result._repr_mimebundle_()
    assert bundle["text/plain"] == repr(result.result) == "[*image.Gray 2x2]"
    assert png_size(bundle["image/png"]) == (2, 2)


def test_display_limit_drops_what_is_over_it_with_a_note(ip, run, monkeypatch):
    monkeypatch.setenv("GORUN_DISPLAY_LIMIT", "5000")
    result, out, err = run(
        '%%gorun\ndisplay.PNG(make([]byte, 6000))\nfmt.Println("goes on")\n'
        "type limitRow struct{ N int }\n"
        "rows := make([]limitRow, 500)\n"
        "rows\n"
    )
    assert result.success
    assert out.startswith("goes on\n")
    assert "[gorun: a display of " in err and "over the limit of 5,000 bytes per cell" in err
    assert "[gorun: the value's rich form is over the limit of 5,000 bytes" in err
    assert result.result._repr_mimebundle_() == {"text/plain": repr(result.result)}


def test_a_changed_display_package_is_built_again(tmp_path):
    # A new gorun_kernel (or an edit to its Go package) must not run binaries
    # built with the old package from the executable cache.
    import os

    from gorun_kernel.cmdline import parse
    from gorun_kernel.engine import Engine
    from gorun_kernel.events import BaseSink
    from gorun_kernel.outcome import RunOptions
    from gorun_kernel.paths import GOLIB_DIR

    engine = Engine()
    source = GOLIB_DIR / "display.go"
    st = source.stat()
    try:

        def run() -> bool:
            outcome = engine.run_cell('display.Text("x")', parse([]), BaseSink(),
                                      RunOptions(str(tmp_path)))  # fmt: skip
            assert outcome.ok, outcome.status
            return outcome.cached

        run()
        assert run() is True
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert run() is False
    finally:
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
        engine.close()


# -- frames a program writes behind the package's back (issue 22 items 15, 16) --

RAW_FRAMES = r"""
fd, _ := strconv.Atoi(os.Getenv("GORUN_DISPLAY_FD"))
raw := os.NewFile(uintptr(fd), "raw")
send := func(body string) {
	var h [8]byte
	copy(h[:], "GRD")
	binary.BigEndian.PutUint32(h[4:], uint32(len(body)))
	raw.Write(append(h[:], body...))
}
"""


@pytest.mark.e2e
def test_a_lone_surrogate_in_a_frame_is_a_note_not_an_internal_error(front):
    r = front.run(RAW_FRAMES + 'send(`{"type":"display","data":{"text/plain":"a\\ud800b"}}`)\n')
    assert r.status == "ok", r.messages
    assert "[gorun: a display frame's text held a lone surrogate" in r.stream("stderr")
    shown = [c["data"] for kind, c in flat(r) if kind == "display_data"]
    assert shown == [{"text/plain": "a\ufffdb"}]
    assert front.run('fmt.Println("after")').stream() == "after\n"


def execute_draining(kc, code: str, timeout: float = 120) -> tuple[dict, list[dict], float]:
    """Execute code, reading IOPub as fast as a client can (no waits on other channels,
    unlike kernel_client.execute): the reply, the cell's IOPub messages up to idle, and
    the seconds to idle. queue.Empty if `idle` never comes (ZMQ dropped it: the cell
    would show busy for ever)."""
    import time

    msg_id = kc.execute(code)
    start = time.monotonic()
    deadline = start + timeout
    messages = []
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    elapsed = time.monotonic() - start
    while True:
        reply = kc.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply, messages, elapsed


@pytest.mark.e2e
@pytest.mark.parametrize("which", ["kernel", "magic"])
def test_updates_to_50000_outputs_are_bounded_and_idle_arrives(which, request):
    # 50,000 update frames to distinct ids went out as 50,000 IOPub messages: ZMQ dropped
    # 77% of them, the final `idle` among them, and the cell showed busy for ever.
    kc = request.getfixturevalue("kernel" if which == "kernel" else "python_kernel")[1]
    code = RAW_FRAMES + (
        "for i := 0; i < 50000; i++ {\n"
        '\tsend(fmt.Sprintf(`{"type":"update","id":"id%d","data":{"text/plain":"%d"}}`, i, i))\n'
        "}\n"
    )
    cell = code if which == "kernel" else "%%gorun\n" + code
    reply, messages, elapsed = execute_draining(kc, cell)
    assert reply["content"]["status"] == "ok"
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert 0 < len(updates) <= (elapsed / 0.05 + 2) * 50 + 500
    stderr = "".join(
        m["content"]["text"] for m in messages
        if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
    )  # fmt: skip
    assert "[gorun: updates to more than 500 outputs at once: some were not shown" in stderr
