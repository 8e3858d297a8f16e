"""Take the README's screenshot: JupyterLab running Go cells (a developer's tool).

    python dev/screenshot.py        # writes docs/images/jupyterlab.png

Uses the browser tests' helpers (tests/browser.py, tests/labserver.py): a real
JupyterLab with the installed "Go (gorun)" kernel in Debian's headless Chromium.
The PNG is committed; nothing at install or test time needs Chromium for it.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import lab_session  # noqa: E402

OUT = ROOT / "docs" / "images" / "jupyterlab.png"
CELLS = [
    'func greet(name string) string { return "hello, " + name }\n'
    'fmt.Println(greet("Go"))\n'
    'strings.ToUpper(greet("notebook"))',
    "type Planet struct {\n"
    "\tName  string\n"
    "\tMoons int\n"
    "}\n\n"
    '[]Planet{{"Mercury", 0}, {"Earth", 1}, {"Mars", 2}}',
    'display.Markdown("**Go** in Jupyter, the way `go run` works")',
]


def main() -> None:
    with contextlib.contextmanager(lab_session)("screenshot") as lab:
        path = lab.notebook("go.ipynb", CELLS)
        lab.run_notebook(path)
        lab.command("application:toggle-left-area")  # the notebook alone, wider
        lab.js("cell(0).node.scrollIntoView()")
        shot = lab.screenshot("readme")
        OUT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, OUT)
    print(OUT)


if __name__ == "__main__":
    main()
