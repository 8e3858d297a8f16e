"""Go widgets in a real JupyterLab (Chromium), rendered by ipywidgets' own manager.

jupyterlab_widgets (the test extras) is the only widget extension the server has:
the Go program's models must be ipywidgets' standard ones for anything to show.
"""

from __future__ import annotations

import pytest
from browser import Lab
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.e2e

RUNNING = """zoom := widgets.NewIntSlider("zoom", 0, 100, 10)
zoom.SetWidth("400px")
clicks := 0
button := widgets.NewButton("count")
status := widgets.NewLabel("waiting")
zoom.OnChange(func(v int) { status.SetValue(fmt.Sprint("zoom ", v, ", clicks ", clicks)) })
button.OnClick(func() {
	clicks++
	status.SetValue(fmt.Sprint("zoom ", zoom.Value(), ", clicks ", clicks))
})
widgets.Show(widgets.NewVBox(zoom, button, status))
widgets.Wait()"""


def test_drag_a_slider_and_click_a_button_in_a_running_program(lab: Lab) -> None:
    lab.open(lab.notebook("widgets-running.ipynb", [RUNNING]))
    lab.run_cell(0, wait=False)
    handle = lab.wait_for(
        lambda: lab.cell_output(0).find_elements(By.CSS_SELECTOR, ".noUi-handle"),
        "the slider to render",
    )[0]
    lab.wait_for(lambda: lab.js(
        "return [...cell(0).outputArea.node.querySelectorAll('.widget-label')]"
        ".map(e => e.textContent).includes('waiting')"), "the label")  # fmt: skip
    ActionChains(lab.driver).drag_and_drop_by_offset(handle, 120, 0).perform()
    moved = lab.wait_for(
        lambda: next(
            (t for t in _labels(lab) if t.startswith("zoom ") and not t.startswith("zoom 10,")),
            None,
        ),
        "the program's answer to the drag",
    )
    assert moved.endswith("clicks 0")
    button = lab.cell_output(0).find_element(By.CSS_SELECTOR, "button.jupyter-button")
    button.click()
    lab.wait_for(lambda: any(t.endswith("clicks 1") for t in _labels(lab)), "the first click")
    button.click()
    lab.wait_for(lambda: any(t.endswith("clicks 2") for t in _labels(lab)), "the second click")
    lab.screenshot("widgets-running", cell=0)  # docs/images/widgets.png is one
    lab.command("notebook:interrupt-kernel")
    assert lab.wait_cell(0) in ("ok", "error")


def _labels(lab: Lab) -> list[str]:
    return lab.js(
        "return [...cell(0).outputArea.node.querySelectorAll('.widget-label')]"
        ".map(e => e.textContent)"
    )


INTERACT = """widgets.Interact(func(a, b int) { fmt.Printf("%d * %d = %d\\n", a, b, a*b) },
	widgets.NewIntSlider("a", 0, 12, 6), widgets.NewIntSlider("b", 0, 12, 7))"""


def test_drag_an_interact_slider_and_the_output_area_changes(lab: Lab) -> None:
    lab.open(lab.notebook("widgets-interact.ipynb", [INTERACT]))
    lab.run_cell(0)

    def area() -> str:
        return lab.js(
            "const o = cell(0).outputArea.node.querySelector('.widget-output');"
            "return o ? o.innerText : '';"
        )

    assert lab.wait_for(lambda: "6 * 7 = 42" in area() and area(), "f's first output")
    handle = lab.cell_output(0).find_elements(By.CSS_SELECTOR, ".noUi-handle")[0]
    ActionChains(lab.driver).drag_and_drop_by_offset(handle, 80, 0).perform()
    changed = lab.wait_for(
        lambda: (t := area()) and "6 * 7" not in t and "* 7 =" in t and t, "a new output"
    )
    a = int(changed.split("*")[0].strip().splitlines()[-1])
    assert f"{a} * 7 = {a * 7}" in changed  # f's output for the dragged value, only it
    lab.screenshot("widgets-interact", cell=0)
