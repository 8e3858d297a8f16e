"""What a JupyterLab user sees of a Go notebook, in headless Chromium (issue 22).

Test tables read from the left (item 1), one status line per cell however slow the
build (item 2), "Format Go cell" (item 5) and build errors marked in the editor
(item 6): the last two are the shipped extension (labextension/, prebuilt/), which
the `lab` server loads from this checkout (labserver.py).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from browser import Lab
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

pytestmark = pytest.mark.e2e

LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"

# A test with subtests, one of which fails with a message (and its quoted line).
FAILING_TABLE = """%%gotest
func TestSum(t *testing.T) {
	cases := []struct {
		name string
		in   []int
		want int
	}{{"empty", nil, 0}, {"one", []int{1}, 1}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := len(c.in) * 0; got != c.want {
				t.Errorf("Sum(%v) = %d, want %d", c.in, got, c.want)
			}
		})
	}
}"""


def table_layout(lab: Lab, i: int) -> dict:
    """Cell i's test table as drawn: each cell's computed text-align, and where the
    test names and the failure message start (their text, not their boxes)."""
    return lab.js(
        """const table = cell(arguments[0]).outputArea.node.querySelector('table');
        const left = (node) => {
          const range = document.createRange();
          range.selectNodeContents(node);
          return range.getBoundingClientRect().left;
        };
        const cells = [...table.querySelectorAll('td, th, pre')];
        const names = {};
        for (const td of table.querySelectorAll('td')) {
          const text = td.textContent.trim();
          if (/^(TestSum|empty|one)$/.test(text)) names[text] = left(td);
        }
        const pre = table.querySelector('pre');
        return {
          aligns: [...new Set(cells.map((c) => getComputedStyle(c).textAlign))],
          names,
          message: left(pre),
          column: pre.parentElement.getBoundingClientRect().left,
          text: table.innerText,
        };""",
        i,
    )


def assert_reads_from_the_left(layout: dict, theme: str) -> None:
    assert layout["aligns"] == ["left"], f"{theme}: {layout}"
    names = layout["names"]
    assert set(names) == {"TestSum", "empty", "one"}, layout
    # Subtests indented under their test, all at the same indentation.
    assert names["empty"] == names["one"] > names["TestSum"] + 5, f"{theme}: {layout}"
    # The failure message starts at its column's left edge (its padding), not flush right.
    assert 0 <= layout["message"] - layout["column"] <= 12, f"{theme}: {layout}"
    assert "Sum([1]) = 0, want 1" in layout["text"], layout


def test_failing_test_table_reads_from_the_left_in_light_and_dark_themes(lab: Lab):
    path = lab.notebook("table.ipynb", [FAILING_TABLE])
    lab.open(path)
    lab.run_cell(0, wait=False)
    assert lab.wait_cell(0) == "error"
    assert_reads_from_the_left(table_layout(lab, 0), LIGHT)
    lab.screenshot("test-table-light", cell=0)
    lab.set_theme(DARK)
    try:
        assert_reads_from_the_left(table_layout(lab, 0), DARK)
        lab.screenshot("test-table-dark", cell=0)
    finally:
        lab.set_theme(LIGHT)


def drawn_outputs(lab: Lab, i: int) -> list[dict]:
    """Cell i's outputs that take room on the page: their text and height."""
    return lab.js(
        """return [...cell(arguments[0]).outputArea.node.querySelectorAll('.jp-OutputArea-child')]
          .map((o) => ({text: o.innerText.trim(), height: o.getBoundingClientRect().height}))
          .filter((o) => o.height > 0);""",
        i,
    )


def write_slow_package(root: Path) -> str:
    """A package that takes go a second or more to compile (3,000 functions), new
    each time (its text is unique: never in go's build cache); %gorun's words for it."""
    funcs = "\n".join(
        f"func f{i}(x int) int {{ s := 0; for j := 0; j < x; j++ {{ s += j * {i} }}; return s }}"
        for i in range(3000)
    )
    slow = root / "slow"
    slow.mkdir(exist_ok=True)
    (slow / "go.mod").write_text("module slow\n\ngo 1.21\n")
    (slow / "main.go").write_text(
        f'package main\n\nimport "fmt"\n\n{funcs}\n\n'
        f'func main() {{ fmt.Println("rebuilt", f1(3)) }}\n\n// {uuid.uuid4()}\n'
    )
    return "-C slow ."


def test_a_slow_build_leaves_one_status_line_not_a_progress_line_too(lab: Lab):
    package = write_slow_package(lab.root)
    path = lab.notebook("slow-build.ipynb", [f"%gorun {package}"])
    lab.open(path)
    # Whether the progress line was ever drawn, however briefly (the build is the test's).
    lab.js(
        """window.gorunSawProgress = false;
        const area = cell(0).outputArea.node;
        new MutationObserver(() => {
          if (area.innerText.includes('building…')) window.gorunSawProgress = true;
        }).observe(area, {childList: true, subtree: true, characterData: true});"""
    )
    lab.run_cell(0)
    assert lab.js("return window.gorunSawProgress") is True, lab.cell_output_text(0)
    drawn = drawn_outputs(lab, 0)
    texts = [o["text"] for o in drawn]
    assert len(texts) == 2, drawn
    assert texts[0] == "rebuilt 3", drawn
    assert texts[1].startswith("exit status 0 · build "), drawn
    lab.screenshot("slow-build", cell=0)


# -- Format Go cell (labextension/src/format.js) -----------------------------------------

MESSY = (
    "type Point struct{X,Y int}\nfunc (p Point) Sum()int{return p.X+p.Y}\n"
    "p:=Point{1,2}\nfmt.Println(p.Sum())"
)
# What gofmt makes of it: the declarations formatted as declarations, the statements
# as statements, each in its place.
TIDY = (
    "type Point struct{ X, Y int }\n\nfunc (p Point) Sum() int { return p.X + p.Y }\n"
    "p := Point{1, 2}\nfmt.Println(p.Sum())"
)
MESSY_TEST = '%%gotest\nfunc TestSum(t *testing.T){\nif (Point{1,2}).Sum()!=3{t.Fatal("sum")}\n}'
TIDY_TEST = (
    '%%gotest\nfunc TestSum(t *testing.T) {\n\tif (Point{1, 2}).Sum() != 3 {\n\t\tt.Fatal("sum")\n'
    "\t}\n}"
)
BROKEN = "x := (1\nfmt.Println(x)"


def source(lab: Lab, i: int) -> str:
    return lab.js("return cell(arguments[0]).model.sharedModel.getSource()", i)


def focus_editor(lab: Lab, i: int) -> None:
    lab.js(
        """panel.content.activeCellIndex = arguments[0];
        panel.content.deselectAll();
        cell(arguments[0]).editor.focus();""",
        i,
    )


def notifications(lab: Lab) -> list[str]:
    return lab.js(
        "return [...document.querySelectorAll('.jp-Notification-Toast, .Toastify__toast')]"
        ".map((t) => t.innerText)"
    )


def test_format_go_cell_from_the_shortcut_and_the_context_menu(lab: Lab):
    path = lab.notebook("format.ipynb", [MESSY, MESSY_TEST, BROKEN])
    lab.open(path)
    # Alt-Shift-F in the cell's editor, as a user presses it.
    focus_editor(lab, 0)
    ActionChains(lab.driver).key_down(Keys.ALT).key_down(Keys.SHIFT).send_keys("f").key_up(
        Keys.SHIFT
    ).key_up(Keys.ALT).perform()
    lab.wait_for(lambda: source(lab, 0) == TIDY, "the cell formatted by Alt-Shift-F")
    # The cell's context menu has the command; a click formats the %%gotest cell.
    focus_editor(lab, 1)
    ActionChains(lab.driver).context_click(
        lab.cell(1).find_element("css selector", ".cm-content")
    ).perform()
    item = lab.wait_for(
        lambda: [
            e
            for e in lab.driver.find_elements("css selector", ".lm-Menu-item")
            if e.text.startswith("Format Go cell")
        ],
        "Format Go cell in the context menu",
    )[0]
    lab.screenshot("format-context-menu")
    item.click()
    lab.wait_for(lambda: source(lab, 1) == TIDY_TEST, "the test cell formatted, its header kept")
    # Formatting ran nothing: no output, no execution count; the cells still run.
    assert lab.js("return cell(0).model.executionCount") is None
    lab.run_cell(0)
    assert "3" in lab.cell_output_text(0)
    assert lab.js("return cell(0).model.executionCount") == 1
    lab.screenshot("format-formatted", cell=0)


def test_format_leaves_a_cell_that_does_not_parse_and_shows_why(lab: Lab):
    path = lab.notebook("format-broken.ipynb", [BROKEN])
    lab.open(path)
    focus_editor(lab, 0)
    assert lab.command("gorun-kernel:format-cell") is None
    found = lab.wait_for(
        lambda: [t for t in notifications(lab) if "GoSyntaxError" in t], "the notification"
    )
    assert "line 1: expected ')'" in found[0], found
    assert source(lab, 0) == BROKEN
    assert error_lines(lab, 0) == [1]
    lab.wait_for(
        lambda: lab.js(
            """const toast = document.querySelector('.Toastify__toast');
            return toast && toast.getBoundingClientRect().right <= window.innerWidth;"""
        ),
        "the notification in full view",
    )
    lab.screenshot("format-broken")


# -- build errors marked in the editor (labextension/src/marks.js) ------------------------


def error_lines(lab: Lab, i: int) -> list[int]:
    """The 1-based lines of cell i's editor marked as errors."""
    return lab.js(
        """const lines = [...cell(arguments[0]).node.querySelectorAll('.cm-content .cm-line')];
        return lines.map((l, k) => l.classList.contains('gorun-error-line') ? k + 1 : 0)
          .filter((k) => k);""",
        i,
    )


def underlined(lab: Lab, i: int) -> list[dict]:
    return lab.js(
        """return [...cell(arguments[0]).node.querySelectorAll('.gorun-error-text')].map((e) => ({
          text: e.textContent,
          decoration: getComputedStyle(e).textDecorationLine,
          title: e.closest('.cm-line').title,
        }));""",
        i,
    )


def test_build_errors_are_marked_in_the_editor_until_the_next_run(lab: Lab):
    path = lab.notebook("marks.ipynb", ["x := 1\ny := undefinedName + x\nfmt.Println(y)"])
    lab.open(path)
    lab.run_cell(0, wait=False)
    assert lab.wait_cell(0) == "error"
    assert lab.wait_for(lambda: error_lines(lab, 0), "the marked line") == [2]
    marks = underlined(lab, 0)
    # From the column go names (the caret's) to the line's end, with go's message.
    assert marks == [
        {
            "text": "undefinedName + x",
            "decoration": "underline",
            "title": "undefined: undefinedName",
        }
    ], marks
    lab.screenshot("marks-light", cell=0)
    lab.set_theme(DARK)
    try:
        lab.screenshot("marks-dark", cell=0)
    finally:
        lab.set_theme(LIGHT)
    # Another error, on another line: only that one is marked.
    lab.js("cell(0).model.sharedModel.setSource(arguments[0])", "x := 1\nfmt.Println(x)\nz := nope")
    lab.run_cell(0, wait=False)
    assert lab.wait_cell(0) == "error"
    lab.wait_for(lambda: error_lines(lab, 0) == [3], "line 3 marked, line 2 no more")
    # A run that builds clears them.
    lab.js("cell(0).model.sharedModel.setSource(arguments[0])", "x := 1\nfmt.Println(x)")
    lab.run_cell(0)
    lab.wait_for(lambda: error_lines(lab, 0) == [], "the marks cleared")
    assert underlined(lab, 0) == []
