"""The kernel and the magic in a real JupyterLab, in headless Chromium (issues 12, 14).

One JupyterLab server and one browser page for the module (the `lab` fixture,
tests/browser.py). Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import json
import re
import urllib.parse

import nbformat
import pytest
from browser import KERNELSPECS, Lab
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from gorun_kernel.frontends.render import status_bundle

LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"


def test_input_box_for_scanln_reaches_the_program(lab: Lab):
    path = lab.notebook(
        "stdin.ipynb",
        ['var name string\nfmt.Print("name? ")\nfmt.Scanln(&name)\nfmt.Println("hello,", name)'],
    )
    lab.open(path)
    lab.run_cell(0, wait=False)
    box = lab.wait_for(
        lambda: lab.cell_output(0).find_elements("css selector", "input.jp-Stdin-input"),
        "the input box",
    )[0]
    lab.screenshot("stdin-box", cell=0)
    box.send_keys("Ada", Keys.ENTER)
    assert lab.wait_cell(0) == "ok"
    text = lab.cell_output_text(0)
    assert "hello, Ada" in text, text
    assert "exit status 0" in text, text
    lab.screenshot("stdin-answered", cell=0)


def interrupt_button(lab: Lab) -> WebElement:
    return lab.js(
        "return panel.toolbar.node.querySelector("
        '\'[data-jp-item-name="interrupt"] button, [data-jp-item-name="interrupt"] jp-button\')'
    )


def test_interrupt_button_stops_an_endless_loop(lab: Lab):
    path = lab.notebook(
        "interrupt.ipynb", ['fmt.Println("looping")\nfor {\n}', 'fmt.Println("next cell ran")']
    )
    lab.open(path)
    lab.run_cell(0, wait=False)
    # The program itself is running (not go build): its first line has arrived.
    lab.wait_for(lambda: "looping" in lab.cell_output_text(0), "the loop to start")
    interrupt_button(lab).click()
    assert lab.wait_cell(0) == "error"
    text = lab.cell_output_text(0)
    assert "nterrupted" in text, text
    lab.run_cell(1)
    assert "next cell ran" in lab.cell_output_text(1)
    lab.screenshot("interrupted")


def test_build_error_quotes_the_line(lab: Lab):
    path = lab.notebook("build-error.ipynb", ["x := 1\ny := undefinedName + x\nfmt.Println(y)"])
    lab.open(path)
    lab.run_cell(0, wait=False)
    assert lab.wait_cell(0) == "error"
    text = lab.cell_output_text(0)
    assert "line 2" in text, text
    assert "undefined: undefinedName" in text, text
    assert "y := undefinedName + x" in text, text  # the cell's line, quoted
    lab.screenshot("build-error", cell=0)


# -- the status line -------------------------------------------------------------------


def rgba(css: str) -> tuple[float, float, float, float]:
    """'rgb(1, 2, 3)' or 'rgba(1, 2, 3, 0.5)' as numbers."""
    parts = [float(p) for p in re.findall(r"[\d.]+", css)]
    return (*parts[:3], parts[3] if len(parts) > 3 else 1.0)  # type: ignore[return-value]


def over(fg: tuple[float, ...], bg: tuple[float, ...]) -> tuple[float, float, float]:
    """A translucent colour as drawn on an opaque background."""
    a = fg[3]
    return tuple(fg[k] * a + bg[k] * (1 - a) for k in range(3))  # type: ignore[return-value]


def contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    """WCAG contrast ratio of two opaque colours (1 to 21)."""

    def luminance(c: tuple[float, ...]) -> float:
        lin = [
            (v / 255 / 12.92) if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4
            for v in c[:3]
        ]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted([luminance(fg), luminance(bg)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def measure(lab: Lab, i: int) -> dict[str, dict]:
    """Where and how the program's stdout and the status line of cell i are drawn."""
    outputs = {o.get_attribute("data-mime-type"): o for o in lab.outputs(i)}
    found = {}
    for kind, mime in (("stream", "application/vnd.jupyter.stdout"), ("status", "text/html")):
        pre = outputs[mime].find_element("css selector", "pre")
        style = lab.js(
            """const s = getComputedStyle(arguments[0]);
            let e = arguments[0], bg = 'rgba(0, 0, 0, 0)';
            while (e && /rgba\\(.*, 0\\)|transparent/.test(bg)) {
              bg = getComputedStyle(e).backgroundColor; e = e.parentElement;
            }
            return {color: s.color, size: s.fontSize, background: bg};""",
            pre,
        )
        found[kind] = {**style, **lab.text_rect(pre), "text": pre.text}
    return found


def assert_aligned_and_quiet(m: dict[str, dict], theme: str) -> None:
    stream, status = m["stream"], m["status"]
    assert status["text"].startswith("exit status 0"), m
    assert abs(status["left"] - stream["left"]) <= 1, f"{theme}: not aligned: {m}"
    assert status["size"] == stream["size"], f"{theme}: another font size: {m}"
    bg = rgba(stream["background"])
    loud = contrast(over(rgba(stream["color"]), bg), bg)
    quiet = contrast(over(rgba(status["color"]), bg), bg)
    # Quieter than the program's own output, yet readable (WCAG's 3:1 for large text).
    assert 3 <= quiet < loud, f"{theme}: status contrast {quiet:.1f}, output {loud:.1f}: {m}"


def test_status_line_is_aligned_and_quiet_in_light_and_dark_themes(lab: Lab):
    path = lab.notebook("status.ipynb", ['fmt.Println("hello from Go")'])
    lab.run_notebook(path)
    assert_aligned_and_quiet(measure(lab, 0), LIGHT)
    lab.screenshot("status-light", cell=0)
    lab.set_theme(DARK)
    try:
        assert_aligned_and_quiet(measure(lab, 0), DARK)
        lab.screenshot("status-dark", cell=0)
    finally:
        lab.set_theme(LIGHT)


def test_status_line_is_aligned_in_an_untrusted_notebook(lab: Lab):
    """A saved notebook from elsewhere is untrusted: its HTML goes through the sanitizer."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPECS["gorun"]})
    nb.cells.append(
        nbformat.v4.new_code_cell(
            'fmt.Println("hello from Go")',
            outputs=[
                nbformat.v4.new_output("stream", name="stdout", text="hello from Go\n"),
                nbformat.v4.new_output("display_data", data=status_bundle("exit status 0")),
            ],
        )
    )
    (lab.root / "untrusted.ipynb").write_text(json.dumps(nb))
    lab.open("untrusted.ipynb")
    assert lab.js("return cell(0).model.trusted") is False
    assert_aligned_and_quiet(measure(lab, 0), LIGHT)
    lab.screenshot("status-untrusted", cell=0)


def test_gorun_magic_in_a_python_notebook(lab: Lab):
    path = lab.notebook(
        "magic.ipynb",
        ["%load_ext gorun_kernel", '%%gorun\nfmt.Println("hello from Go, in Python")'],
        kernel="python3",
    )
    lab.run_notebook(path)
    text = lab.cell_output_text(1)
    assert "hello from Go, in Python" in text, text
    assert_aligned_and_quiet(measure(lab, 1), LIGHT)
    lab.screenshot("gorun-magic")


# -- Go highlighting under %%gorun (the prebuilt JupyterLab extension, labextension/) ----


def token_color(lab: Lab, i: int, word: str) -> str | None:
    """The colour cell i's editor draws `word` in (None while it is not drawn)."""
    return lab.js(
        """const [i, word] = arguments;
        const content = cell(i).node.querySelector('.cm-content');
        const walk = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
          if (new RegExp('\\\\b' + word + '\\\\b').test(n.textContent)) {
            return getComputedStyle(n.parentElement).color;
          }
        }
        return null;""",
        i,
        word,
    )


def test_go_under_gorun_is_highlighted_as_go(lab: Lab):
    go = "%%gorun\nfunc sq(x int) int { return x * x }\nfmt.Println(sq(7))"
    path = lab.notebook("highlight.ipynb", [go, "func = 1\ndef f(): pass"], kernel="python3")
    lab.open(path)
    lab.wait_for(lambda: lab.js("return cell(0).model.mimeType") == "text/x-go", "Go mode")
    assert lab.js("return cell(1).model.mimeType") == "text/x-ipython"
    keyword = lab.wait_for(lambda: token_color(lab, 1, "def"), "Python's keyword colour")
    # `func` is a keyword in Go (drawn like Python's `def`), a plain name in Python.
    lab.wait_for(lambda: token_color(lab, 0, "func") == keyword, "`func` drawn as a keyword")
    assert token_color(lab, 1, "func") != keyword
    lab.screenshot("gorun-highlight")
    # Without the magic the cell is Python again.
    lab.js("cell(0).model.sharedModel.setSource(arguments[0])", go.split("\n", 1)[1])
    lab.wait_for(lambda: token_color(lab, 0, "func") not in (None, keyword), "Python again")
    assert lab.js("return cell(0).model.mimeType") == "text/x-ipython"


# -- rich output (the display package) -------------------------------------------------

MANDELBROT = """img := image.NewRGBA(image.Rect(0, 0, 120, 80))
for py := 0; py < 80; py++ {
	for px := 0; px < 120; px++ {
		c := complex(-2.2+3.2*float64(px)/120, -1.1+2.2*float64(py)/80)
		z, n := 0i, 0
		for ; n < 40 && cmplx.Abs(z) < 2; n++ {
			z = z*z + c
		}
		img.Set(px, py, color.Gray{uint8(255 - 6*n)})
	}
}
display.Image(img)"""
CHART = """display.SVG(`<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">` +
	`<rect id="gorun-bar" width="150" height="30" fill="steelblue"/></svg>`)"""
TABLE = """type Planet struct {
	Name  string
	Moons int
}
[]Planet{{"Earth", 1}, {"Mars", 2}}"""
PROGRESS = """bar := display.New()
for i := 0; i <= 200; i++ {
	bar.HTML(fmt.Sprintf(`<progress value="%d" max="200"></progress> step %d`, i, i))
	time.Sleep(time.Millisecond)
}
fmt.Println("after the bar")"""


def image_size(lab: Lab, i: int) -> list[int]:
    """The natural size of the image in cell i's output, once it has loaded."""
    return lab.wait_for(
        lambda: lab.js(
            """const img = cell(arguments[0]).outputArea.node.querySelector('img');
            return img && img.complete && img.naturalWidth ?
              [img.naturalWidth, img.naturalHeight] : null;""",
            i,
        ),
        f"the image of cell {i}",
    )


def test_rich_output_images_svg_tables_and_a_progress_bar(lab: Lab):
    path = lab.notebook("display.ipynb", [MANDELBROT, CHART, TABLE, PROGRESS])
    assert lab.run_notebook(path) and lab.wait_cell("all") == "ok"
    assert image_size(lab, 0) == [120, 80]
    lab.screenshot("display-png", cell=0)
    # JupyterLab draws SVG output as an <img> of it (a data: URL), at the SVG's size.
    svg = lab.cell_output(1).find_element("css selector", "[data-mime-type='image/svg+xml'] img")
    assert svg.get_attribute("src").startswith("data:image/svg+xml,")
    assert "gorun-bar" in urllib.parse.unquote(svg.get_attribute("src"))
    assert image_size(lab, 1) == [200, 40]
    lab.screenshot("display-svg", cell=1)
    table = lab.cell_output(2).find_element("css selector", "table")
    rows = [r.text for r in table.find_elements("css selector", "tbody tr")]
    assert rows == ["0 Earth 1", "1 Mars 2"], rows
    lab.screenshot("display-table", cell=2)
    # The updated output shows only its final state, in its place before the text.
    bars = lab.cell_output(3).find_elements("css selector", "progress")
    assert [b.get_attribute("value") for b in bars] == ["200"]
    text = lab.cell_output_text(3)
    assert text.index("step 200") < text.index("after the bar"), text
    assert "step 199" not in text, text
    lab.screenshot("display-progress", cell=3)


def test_rich_output_from_the_magic_in_a_python_notebook(lab: Lab):
    path = lab.notebook(
        "magic-display.ipynb",
        ["%load_ext gorun_kernel", "%%gorun\n" + MANDELBROT, "%%gorun\n" + TABLE],
        kernel="python3",
    )
    lab.run_notebook(path)
    assert image_size(lab, 1) == [120, 80]
    assert lab.cell_output(2).find_element("css selector", "table td").text == "Earth"
    lab.screenshot("display-magic")


@pytest.mark.e2e
def test_help_is_the_reference_rendered_as_markdown(lab: Lab):
    path = lab.notebook("help.ipynb", ["%help"])
    lab.run_notebook(path)
    html = lab.cell_output_html(0)
    # Rendered Markdown (the reference's tables), not the plain-text fallback.
    assert "<table" in html and "<code>%goflags WORDS</code>" in html, html[:500]
    assert "--wait-port N" in lab.cell_output_text(0)
    lab.screenshot("help", cell=0)
