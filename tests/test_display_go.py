"""The Go display package, built with the real go, talking over a real socket."""

from __future__ import annotations

import base64
import os
import subprocess

import pytest
from display_harness import build, events, run

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.display.frames import Note
from gorun_kernel.events import ClearOutput, Display
from gorun_kernel.paths import GOLIB_DIR

pytestmark = pytest.mark.e2e

PROGRAM = r"""
package main

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"bytes"
	"os"
	"strconv"
	"strings"

	"gorun.dev/display"
)

type row struct {
	Name string
	N    int
}

type badge string

func (b badge) HTML() string { return "<mark>" + string(b) + "</mark>" }

// rawChannel writes to the channel behind the package's back.
func rawChannel() *os.File {
	fd, _ := strconv.Atoi(os.Getenv("GORUN_DISPLAY_FD"))
	return os.NewFile(uintptr(fd), "raw")
}

func main() {
	switch os.Args[1] {
	case "all":
		img := image.NewRGBA(image.Rect(0, 0, 4, 3))
		img.Set(0, 0, color.RGBA{0, 0, 255, 255})
		var jb bytes.Buffer
		jpeg.Encode(&jb, img, nil)
		display.HTML("<b>html</b>")
		display.Markdown("# md")
		display.SVG("<svg xmlns='http://www.w3.org/2000/svg'/>")
		display.PNG([]byte("\x89PNG\r\n\x1a\nnot really"))
		display.JPEG(jb.Bytes())
		display.Image(img)
		display.JSON(map[string]any{"a": []int{1, 2}})
		display.LaTeX("$x^2$")
		display.Text("just text")
		display.Bundle(map[string]any{"text/csv": "a,b\n1,2\n", "application/pdf": []byte("%PDF")})
		display.Show([]row{{"x", 1}})
		display.Show(badge("b"))
		d := display.New()
		d.Markdown("*first*")
		d.Update(42)
		display.Clear()
	case "order":
		for i := 0; i < 200; i++ {
			fmt.Printf("out %d\n", i)
			display.Text("show " + strconv.Itoa(i))
			fmt.Fprintf(os.Stderr, "err %d\n", i)
		}
	case "progress":
		n, _ := strconv.Atoi(os.Args[2])
		bar := display.New()
		for i := 1; i <= n; i++ {
			v := strconv.Itoa(i)
			bar.HTML("<progress value='" + v + "' max='" + os.Args[2] + "'></progress>")
		}
		fmt.Println("done")
	case "png":
		n, _ := strconv.Atoi(os.Args[2])
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		display.PNG(b)
		fmt.Println("after")
	case "cut":
		// Half a frame, then the program ends: the kernel must say so.
		f := rawChannel()
		var h [8]byte
		copy(h[:], "GRD")
		binary.BigEndian.PutUint32(h[4:], 1000)
		f.Write(append(h[:], `{"type":"display"`...))
	case "metadata":
		// Small displays with big metadata, written behind the package's back.
		f := rawChannel()
		pad := strings.Repeat("m", 40000)
		for i := 0; i < 8; i++ {
			body := `{"type":"display","data":{"text/plain":"small"},` +
				`"metadata":{"pad":"` + pad + `"}}`
			var h [8]byte
			copy(h[:], "GRD")
			binary.BigEndian.PutUint32(h[4:], uint32(len(body)))
			f.Write(append(h[:], body...))
		}
		fmt.Println("done")
	case "garbage":
		rawChannel().Write([]byte("this is not a frame at all\n"))
		display.HTML("<i>then text</i>")
		fmt.Println("still running")
	}
}
"""


@pytest.fixture(scope="module")
def prog(tmp_path_factory):
    return str(build(tmp_path_factory.mktemp("display"), PROGRAM))


def test_every_function_shows_its_mime_type(prog):
    evs = events(run([prog, "all"]))
    shown = [e for e in evs if isinstance(e, Display) and not e.update]
    kinds = [sorted(k for k in e.data if k != "text/plain") for e in shown]
    assert kinds == [
        ["text/html"], ["text/markdown"], ["image/svg+xml"], ["image/png"], ["image/jpeg"],
        ["image/png"], ["application/json"], ["text/latex"], [], ["application/pdf", "text/csv"],
        ["text/html"], ["text/html"], [],
    ]  # fmt: skip
    assert all("text/plain" in e.data for e in shown)
    assert shown[6].data["application/json"] == {"a": [1, 2]}
    assert base64.b64decode(shown[9].data["application/pdf"]) == b"%PDF"
    assert shown[5].data["text/plain"].startswith("[image/png 4x3, ")
    assert shown[4].data["text/plain"].startswith("[image/jpeg 4x3, ")
    assert base64.b64decode(shown[5].data["image/png"]).startswith(b"\x89PNG")
    assert "<td>x</td><td>1</td>" in shown[10].data["text/html"]
    assert shown[11].data == {"text/html": "<mark>b</mark>", "text/plain": '"b"'}
    handle = shown[12]
    assert handle.display_id and handle.display_id.startswith("gorun-")
    assert handle.data == {"text/plain": ""}  # New reserves the output's place
    tail = evs[evs.index(handle) + 1 :]
    # Updates may be coalesced (the first went out at once), the latest always shown.
    assert tail[-2:] == [
        Display({"text/plain": "42"}, {}, handle.display_id, update=True),
        ClearOutput(wait=True),
    ]
    assert all(
        isinstance(e, Display) and e.update and e.display_id == handle.display_id for e in tail[:-1]
    )


def test_displays_keep_their_place_among_stdout_and_stderr(prog):
    # Each stream, taken with the displays, is in the program's order. (Between
    # stdout and stderr themselves, two pipes, only arrival order is known.)
    records = run([prog, "order"])
    for stream in ("stdout", "stderr"):
        flat = []
        for kind, value in records:
            if kind == "event":
                flat.append(value.data["text/plain"])
            elif kind == stream:
                flat.extend(value.splitlines())
        word = {"stdout": "out", "stderr": "err"}[stream]
        expected = [line for i in range(200) for line in (f"{word} {i}", f"show {i}")]
        if stream == "stderr":
            expected = [line for i in range(200) for line in (f"show {i}", f"err {i}")]
        assert flat == expected


def test_a_progress_bar_updated_100000_times_is_coalesced_to_its_final_state(prog):
    records = run([prog, "progress", "100000"])
    updates = [e for e in events(records) if isinstance(e, Display) and e.update]
    assert 1 <= len(updates) < 1000
    assert updates[-1].data["text/html"] == "<progress value='100000' max='100000'></progress>"
    assert records[-1] == ("stdout", "done\n") or records[-2] == ("stdout", "done\n")


def test_a_megabyte_png_arrives_whole_and_in_order(prog):
    records = run([prog, "png", str(1 << 20)])
    assert [r[0] for r in records] == ["event", "stdout"]
    data = base64.b64decode(records[0][1].data["image/png"])
    assert data == bytes((i * 7) & 0xFF for i in range(1 << 20))


def test_a_display_over_the_limit_is_a_note_and_the_program_goes_on(prog):
    records = run([prog, "png", str(200_000)], limit=100_000)
    assert records[0][0] == "event"
    assert isinstance(records[0][1], Note)
    assert "over the limit of 100,000 bytes per cell" in records[0][1].text
    assert records[1] == ("stdout", "after\n")


@pytest.mark.e2e
def test_display_metadata_counts_against_the_budget(prog):
    # 8 displays of 5 bytes with 40 KB of metadata each, under a 100 KB budget: the
    # metadata reached the front-end uncounted (168 MB under 32 MB in the review).
    records = run([prog, "metadata"], limit=100_000)
    shown = [e for e in events(records) if isinstance(e, Display)]
    assert len(shown) == 2 and shown[0].data == {"text/plain": "small"}
    assert len(shown[0].metadata["pad"]) == 40_000
    assert [e.text for e in events(records) if isinstance(e, Note)] == [
        "displays not shown: over the limit of 100,000 bytes of displays per cell "
        "(GORUN_DISPLAY_LIMIT)"
    ]
    assert ("stdout", "done\n") in records  # the program went on (frames not sync: any order)


def test_a_frame_cut_short_by_the_program_ending_is_a_note(prog):
    evs = events(run([prog, "cut"]))
    assert evs == [
        Note("a display was cut short (17 of 1,000 bytes): the program ended while writing it")
    ]


def test_garbage_on_the_channel_closes_it_and_displays_become_text(prog):
    records = run([prog, "garbage"])
    assert "not display frames" in records[0][1].text
    assert records[1:] == [("stdout", "then text\nstill running\n")]


def test_outside_a_notebook_displays_are_text_lines(prog):
    res = subprocess.run(
        [prog, "all"], capture_output=True, text=True,
        env={k: v for k, v in os.environ.items() if k != "GORUN_DISPLAY_FD"},
    )  # fmt: skip
    assert res.returncode == 0 and res.stderr == ""
    lines = res.stdout.splitlines()
    jpeg = next(line for line in lines if line.startswith("[image/jpeg 4x3, "))
    png = next(line for line in lines if line.startswith("[image/png 4x3, "))
    assert lines == [
        "html", "# md", "[SVG image, 41 bytes]", "[image/png, 18 bytes]", jpeg, png,
        "{", '  "a": [', "    1,", "    2", "  ]", "}", "$x^2$", "just text",
        "[application/pdf, text/csv]", "[{x 1}]", '"b"',
        "*first*", "42",  # the handle's updates; New and Clear print nothing
    ]  # fmt: skip


def test_an_fd_that_is_not_the_socket_is_not_used(prog, tmp_path):
    # fd 3 is an ordinary file here: frames must not be written into it.
    target = tmp_path / "fd3"
    with open(target, "wb") as f:
        fd = f.fileno()
        res = subprocess.run(
            [prog, "order"], capture_output=True, text=True, pass_fds=[fd],
            env={**os.environ, "GORUN_DISPLAY_FD": str(fd)},
        )  # fmt: skip
    assert res.returncode == 0
    assert target.read_bytes() == b""
    assert res.stdout.splitlines()[:2] == ["out 0", "show 0"]


def test_go_tests_and_vet_of_the_shipped_package_pass():
    go = find_toolchain().go
    env = {**os.environ, "GOWORK": "off", "GOFLAGS": "-mod=mod"}
    for args in (["vet", "./..."], ["test", "./..."]):
        res = subprocess.run([go, *args], cwd=GOLIB_DIR, env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
