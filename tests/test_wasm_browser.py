"""--wasm cells in a real browser (issue 28): in JupyterLab, then in nbconvert's HTML opened
from disk with no kernel and no server, in the same headless Chromium (tests/browser.py).

The program prints, draws into its div (an SVG), and answers clicks: each click is an
event the page posts to the Web Worker, and the handler's Go code prints and redraws.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from browser import Lab

pytestmark = pytest.mark.e2e

# A snippet cell that uses a declaration of an earlier (ordinary) cell: session
# declarations reach --wasm cells as any cell.
DECLARE = 'func label(n int) string { return fmt.Sprintf("clicked %d", n) }'
PROGRAM = """%%gorun --wasm
import "gorun.dev/display/page"

fmt.Println("hello from Go in the page")
draw := func(n int) {
    page.SetHTML(fmt.Sprintf(`<button id="more">more</button>
<svg id="drawing" width="120" height="40">
<rect width="%d" height="40" fill="teal"/></svg>`, 10+10*n))
}
n := 0
draw(n)
page.On("#more", "click", func(e page.Event) {
    n++
    fmt.Println(label(n), "on", e.ID)
    draw(n)
})
page.Wait()"""
LOOP = '%%gorun --wasm\nfmt.Println("looping")\nfor {\n}'


def box_state(lab: Lab, root: str) -> dict[str, str]:
    """The program's output text, its div's HTML and its status line, read from the page."""
    return lab.driver.execute_script(
        """const box = arguments[0].querySelector('.gorun-wasm');
        if (!box) return null;
        return {out: box.querySelector('.gorun-wasm-out').textContent,
                page: box.querySelector('.gorun-wasm-page').innerHTML,
                status: box.querySelector('.gorun-wasm-status').textContent};""",
        lab.driver.find_element("css selector", root),
    )


def click_and_check(lab: Lab, root: str) -> None:
    """The program printed and drew; two clicks reach its handler, which prints and redraws."""
    lab.wait_for(
        lambda: (s := box_state(lab, root)) and "hello from Go in the page" in s["out"],
        "the program's first line",
    )
    state = box_state(lab, root)
    assert 'width="10"' in state["page"], state
    assert "running in this page (Web Worker" in state["status"], state
    for n in (1, 2):
        lab.driver.find_element("css selector", f"{root} #more").click()
        lab.wait_for(
            lambda n=n: f"clicked {n} on more" in box_state(lab, root)["out"], f"click {n}"
        )
    assert f'width="{10 + 10 * 2}"' in box_state(lab, root)["page"]


def test_a_wasm_cell_prints_draws_and_answers_clicks_in_lab_and_in_its_html_export(
    lab: Lab, tmp_path
):
    path = lab.notebook("wasm.ipynb", [DECLARE, PROGRAM])
    lab.run_notebook(path)
    lab.js("cell(1).node.id = 'wasm-cell'")
    click_and_check(lab, "#wasm-cell")
    text = lab.cell_output_text(1)
    assert "built for js/wasm · runs in the page" in text, text
    lab.screenshot("wasm-in-lab", cell=1)
    lab.close_all()  # saves the notebook, outputs included, and stops the kernel

    saved = nbformat.read(lab.root / path, as_version=4)
    assert any("text/html" in o.get("data", {}) for o in saved.cells[1].outputs)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html",
         "--output-dir", str(tmp_path), str(lab.root / path)],
        check=True, capture_output=True,
    )  # fmt: skip
    export = tmp_path / "wasm.html"
    lab_tab = lab.driver.current_window_handle
    lab.driver.switch_to.new_window("tab")
    try:
        lab.driver.get(export.as_uri())  # from disk: no server, no kernel
        click_and_check(lab, "body")  # its only --wasm output
        lab.driver.save_screenshot(str(lab.artifacts / "wasm-exported.png"))
    finally:
        lab.driver.close()
        lab.driver.switch_to.window(lab_tab)


def test_an_endless_loop_leaves_the_page_responsive_and_stop_ends_it(lab: Lab):
    path = lab.notebook("loop.ipynb", [LOOP, 'fmt.Println("next cell ran")'])
    lab.run_notebook(path)
    lab.js("cell(0).node.id = 'loop-cell'")
    lab.wait_for(lambda: "looping" in box_state(lab, "#loop-cell")["out"], "the loop to start")
    # The page answers while the loop runs (it is in a worker): the next cell runs too.
    assert "next cell ran" in lab.cell_output_text(1)
    assert "running in this page" in box_state(lab, "#loop-cell")["status"]
    lab.driver.find_element("css selector", "#loop-cell .gorun-wasm-stop").click()
    lab.wait_for(
        lambda: "stopped" in box_state(lab, "#loop-cell")["status"], "the stop button to work"
    )


def test_an_untrusted_notebook_shows_why_its_wasm_cell_does_not_run(lab: Lab):
    path = lab.notebook("trusted.ipynb", ['%%gorun --wasm\nfmt.Println("ran in the page")'])
    lab.run_notebook(path)
    lab.wait_for(lambda: "ran in the page" in lab.cell_output_text(0), "the trusted run")
    lab.close_all()
    # Another notebook with the same outputs (a changed text, so its signature is not
    # the one JupyterLab recorded when it saved): as a reader opens a notebook they got.
    nb = nbformat.read(lab.root / path, as_version=4)
    nb.metadata["title"] = "received"
    nbformat.write(nb, lab.root / "received.ipynb")
    lab.open("received.ipynb")
    text = lab.cell_output_text(0)
    assert "trust the notebook" in text, text
    assert "ran in the page" not in text, text
    assert not lab.js("return cell(0).outputArea.node.querySelector('script')")
    lab.screenshot("wasm-untrusted", cell=0)


def test_stdin_is_end_of_input_and_a_panic_says_its_cell_line_and_status(lab: Lab):
    path = lab.notebook(
        "panic.ipynb",
        [
            "%%gorun --wasm\nvar s string\nn, err := fmt.Scan(&s)\n"
            'fmt.Println(n, err)\npanic("boom")'
        ],
    )
    lab.run_notebook(path)
    lab.js("cell(0).node.id = 'panic-cell'")
    lab.wait_for(lambda: "exit status" in box_state(lab, "#panic-cell")["status"], "the end")
    state = box_state(lab, "#panic-cell")
    assert state["out"].startswith("0 EOF\npanic: boom"), state
    assert "\tcell:5 " in state["out"], state  # the notebook's line (%%gorun is line 1)
    assert "exit status 2" in state["status"], state


def test_the_display_package_and_a_rich_value_show_in_the_page_in_order(lab: Lab):
    code = """%%gorun --wasm
fmt.Println("before")
display.HTML(`<b id="bold">bold</b>`)
d := display.New()
d.HTML("first")
d.HTML("updated")
fmt.Println("after")
type P struct{ X, Y int }
[]P{{1, 2}, {3, 4}}"""
    path = lab.notebook("display.ipynb", [code])
    lab.run_notebook(path)
    lab.js("cell(0).node.id = 'display-cell'")
    lab.wait_for(lambda: "exit status 0" in box_state(lab, "#display-cell")["status"], "the end")
    shown = lab.driver.execute_script(
        """return [...document.querySelectorAll('#display-cell .gorun-wasm-out > *')]
             .map((e) => e.tagName + ':' + e.innerHTML.trim());"""
    )
    assert shown[:4] == [
        "PRE:before",
        'DIV:<b id="bold">bold</b>',
        "DIV:updated",  # the update replaced the display in place
        "PRE:after",
    ], shown
    assert shown[4].startswith("DIV:<table>") and "<td>3</td>" in shown[4], shown


def test_the_magic_runs_a_wasm_cell_in_a_python_notebook(lab: Lab):
    path = lab.notebook(
        "magic.ipynb",
        ["%load_ext gorun_kernel", '%%gorun --wasm\nfmt.Println("from the magic,", 6*7)'],
        kernel="python3",
    )
    lab.run_notebook(path)
    lab.js("cell(1).node.id = 'magic-cell'")
    lab.wait_for(lambda: "exit status 0" in box_state(lab, "#magic-cell")["status"], "the end")
    assert box_state(lab, "#magic-cell")["out"] == "from the magic, 42\n"
