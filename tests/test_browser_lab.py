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
