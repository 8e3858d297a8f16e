"""JupyterLab's visual debugger on a Go cell, in headless Chromium (issue 24).

Switch the debugger on with the notebook toolbar's bug button, click a line's
gutter for a breakpoint, run the cell: the Variables panel shows the local's
value; Next steps over a line (the new value shows), Continue lets the cell end
with its output. Screenshots: test-artifacts/browser/debugger-*.png; the debug
messages JupyterLab exchanged with the kernel: debugger-protocol.log beside them.

Every wait is on what JupyterLab shows: the sidebar's title names the notebook's
session once JupyterLab counts the debugger as started for this kernel; the
Breakpoints panel lists a line once the kernel has answered setBreakpoints.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from browser import ARTIFACTS, Lab, lab_session
from selenium.webdriver.remote.webelement import WebElement
from test_debugger import dlv_path

pytestmark = pytest.mark.e2e

NOTEBOOK = "debugging.ipynb"
CODE = 'x := 41\ny := x + 1\nfmt.Println("y is", y)'

# Every debug message of the notebook's kernel connection, in the order JupyterLab
# sent and received them (a failed wait's best witness: which request came when,
# and what debugInfo said).
RECORD = """const kernel = panel.sessionContext.session.kernel;
window.gorunDebugLog = [];
kernel.anyMessage.connect((_, {msg, direction}) => {
  const type = msg.header.msg_type;
  if (!type.startsWith('debug_')) return;
  const c = msg.content;
  let line = `${direction} ${type} ${c.command ?? c.event ?? ''}`;
  if (c.command === 'debugInfo' && c.body) line += ` isStarted=${c.body.isStarted}`;
  if (c.success === false) line += ` FAILED ${c.message ?? ''}`;
  window.gorunDebugLog.push(line);
});"""


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The module's JupyterLab, whose kernels find Delve (GORUN_DLV)."""
    saved = os.environ.get("GORUN_DLV")
    os.environ["GORUN_DLV"] = dlv_path()
    try:
        yield from lab_session(request.module.__name__)
    finally:
        if saved is None:
            os.environ.pop("GORUN_DLV", None)
        else:
            os.environ["GORUN_DLV"] = saved


def sidebar_title(lab: Lab) -> str:
    return lab.js(
        "return document.querySelector('.jp-DebuggerSidebar .jp-SidePanel-header h2')?.textContent"
    )


def breakpoint_lines(lab: Lab) -> list[str]:
    """The lines the Breakpoints panel lists."""
    return lab.js(
        "return [...document.querySelectorAll('.jp-DebuggerBreakpoint-line')]"
        ".map((e) => e.textContent.trim())"
    )


def variables_text(lab: Lab) -> str:
    return lab.js("return document.querySelector('.jp-DebuggerVariables')?.innerText ?? ''")


def line_gutter(lab: Lab, line: int) -> WebElement | None:
    """The breakpoint gutter's element beside a line of cell 0 (found anew each time:
    the editor redraws its gutters)."""
    return lab.js(
        """const node = cell(0).node;
        const number = [...node.querySelectorAll('.cm-lineNumbers .cm-gutterElement')]
          .find((e) => e.textContent.trim() === String(arguments[0]));
        if (!number) return null;
        const top = number.getBoundingClientRect().top;
        return [...node.querySelectorAll('.cm-breakpoint-gutter .cm-gutterElement')]
          .find((e) => Math.abs(e.getBoundingClientRect().top - top) < 2) ?? null;""",
        line,
    )


def click_titled(lab: Lab, title: str) -> None:
    """Click the debugger's button whose tooltip starts with title (Next, Continue)."""
    lab.js('document.querySelector(`[title^="${arguments[0]}"]`).click()', title)


def test_breakpoint_from_the_gutter_variables_step_and_continue(lab: Lab) -> None:
    lab.open(lab.notebook(NOTEBOOK, [CODE]))
    lab.js(RECORD)
    try:
        debug_a_cell(lab)
    finally:
        log = lab.js("return window.gorunDebugLog ?? []")
        (ARTIFACTS / "debugger-protocol.log").write_text("\n".join(log) + "\n")


def debug_a_cell(lab: Lab) -> None:
    lab.js("app.shell.activateById(panel.id)")  # the debugger follows the current notebook
    # Clicked as soon as it is enabled, as a person may: JupyterLab may still be
    # asking the kernel for its debugInfo about this notebook while it starts.
    bug = lab.wait_for(
        lambda: lab.js(
            """const b = panel.node.querySelector('.jp-DebuggerBugButton');
            return b && !b.disabled && b.getAttribute('aria-disabled') !== 'true' ? b : null;"""
        ),
        "the debugger's button to be enabled (the kernelspec says debugger)",
    )
    bug.click()
    lab.wait_for(
        lambda: lab.js(
            "return panel.node.querySelector('.jp-DebuggerBugButton[aria-pressed=\"true\"]')"
        ),
        "the debugger's button to be pressed",
    )
    lab.command("debugger:show-panel")
    # The sidebar names the notebook's session when JupyterLab counts the debugger
    # as started for it (only then does a gutter click send breakpoints); '-' is its
    # title otherwise: a kernel whose debugInfo said isStarted false after initialize
    # left it there (test_debugger.py, test_debug_info_says_started_from_the_initialize_...).
    lab.wait_for(
        lambda: sidebar_title(lab) == NOTEBOOK, f"the debugger's sidebar to name {NOTEBOOK}"
    )
    lab.wait_for(lambda: line_gutter(lab, 2), "the breakpoint gutter of line 2").click()
    lab.wait_for(lambda: breakpoint_lines(lab) == ["2"], "the Breakpoints panel to list line 2")
    lab.screenshot("debugger-breakpoint")

    lab.run_cell(0, wait=False)
    lab.wait_for(lambda: re.search(r"\bx\b.*41", variables_text(lab), re.S), "x = 41 in Variables")
    lab.screenshot("debugger-stopped")
    click_titled(lab, "Next")
    lab.wait_for(lambda: re.search(r"\by\b.*42", variables_text(lab), re.S), "y = 42 after Next")
    lab.screenshot("debugger-stepped")
    click_titled(lab, "Continue")
    assert lab.wait_cell(0) == "ok"
    assert "y is 42" in lab.cell_output_text(0)
    lab.screenshot("debugger-continued")
