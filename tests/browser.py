"""End-to-end tests in a real JupyterLab, driven in headless Chromium.

The `lab` fixture (tests/conftest.py) is a fresh JupyterLab page for each test module:
one JupyterLab server (labserver.py) on 127.0.0.1 with the test environment, and
Debian's Chromium through Debian's chromedriver (selenium; nothing is downloaded),
serve every module of the session; each module loads the application anew with its
workspace reset, and its kernels are shut down when it ends. Without /usr/bin/chromium or
/usr/bin/chromedriver the tests skip, saying so (`.ci/run` installs them).

    def test_hello(lab):
        path = lab.notebook("hello.ipynb", ['fmt.Println("hi")'])   # kernel "gorun"
        lab.run_notebook(path)                    # open it, Run All, wait until done
        assert "hi" in lab.cell_output_text(0)
        html = lab.cell_output_html(0)            # the output area's innerHTML
        lab.screenshot("hello", cell=0)           # test-artifacts/browser/hello.png

Opening and running go through JupyterLab's own commands (the ones its menus and
keyboard shortcuts run, e.g. `lab.command("notebook:run-all-cells")`); what a user
does by hand is done by hand in the tests (typing into the input box, clicking the
interrupt button). `lab.js(body, *args)` runs JavaScript with `app` (the JupyterLab
application), `panel` (the current notebook panel) and `cell(i)` in scope, so a test
can ask JupyterLab for a widget instead of guessing at the DOM.

Waiting is explicit: `lab.run_cell(i)` and `lab.wait_cell(i)` wait for that cell's
run to finish; `lab.wait_for(condition, what)` polls any condition with a deadline
and, on timeout, saves a screenshot and fails with the notebook's visible text.
Screenshots and the server's log go to test-artifacts/browser/ (gitignored).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import nbformat
import pytest
from labserver import LabServer
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "browser"
WAIT = 90.0  # seconds: the default bound of every wait (a cold Go build cache is slow)

KERNELSPECS = {
    "gorun": {"name": "gorun", "display_name": "Go (gorun)", "language": "go"},
    "python3": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
}

T = TypeVar("T")

# JavaScript prelude of lab.js(): names for the application and the current notebook.
_PRELUDE = """
const app = window.jupyterapp;
const panel = app.shell.currentWidget;
const cell = (i) => panel.content.widgets[i];
"""


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing: apt-get install {package} (.ci/run does)"
    return None


def start_chromium(profile: Path, log: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",  # root in containers
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(
        options=options, service=Service(str(CHROMEDRIVER), log_output=str(log))
    )


class Lab:
    """One JupyterLab page in Chromium, with helpers to open and run notebooks."""

    def __init__(self, server: LabServer, driver: webdriver.Chrome, artifacts: Path) -> None:
        self.server = server
        self.driver = driver
        self.artifacts = artifacts
        self.root = server.root
        driver.set_script_timeout(WAIT)
        # ?reset: the default workspace as new (no notebooks or panels a module before left)
        driver.get(f"{server.url}/lab?reset&token={server.token}")
        self.wait_for(lambda: self.driver.execute_script("return !!window.jupyterapp"), "the app")
        self.driver.execute_async_script("window.jupyterapp.restored.then(arguments[0])")

    # -- notebooks ------------------------------------------------------------

    def notebook(self, name: str, cells: Sequence[str], kernel: str = "gorun") -> str:
        """Write a notebook of code cells into the server's root; its path for open()."""
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(source) for source in cells],
            metadata={"kernelspec": KERNELSPECS[kernel]},
        )
        nbformat.write(nb, self.root / name)
        return name

    def open(self, path: str) -> webdriver.Chrome:
        """Open a notebook (closing others) and wait until its kernel is idle."""
        self.close_all()
        error = self.driver.execute_async_script(
            """const [path, done] = arguments;
            window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'})
              .then(async (w) => {
                await w.context.ready;
                await w.sessionContext.ready;
                done(null);
              })
              .catch((e) => done(String(e)));""",
            path,
        )
        assert error is None, f"JupyterLab could not open {path}: {error}"
        self.wait_for(
            lambda: self.js("return panel.sessionContext.session?.kernel?.status") == "idle",
            f"the kernel of {path} to be idle",
        )
        return self.driver

    def run_notebook(self, path: str) -> webdriver.Chrome:
        """Open a notebook and Run All (Run > Run All Cells); wait until that is done.

        As in JupyterLab, Run All stops at a failing cell unless it is tagged
        `raises-exception`.
        """
        self.open(path)
        self.run_cell("all")
        return self.driver

    def run_cell(self, i: int | str, wait: bool = True) -> None:
        """Run cell i as Shift+Enter does ("all": Run All); with wait, until it is done."""
        self.js(
            """const i = arguments[0];
            window.gorunRuns = window.gorunRuns || {};
            window.gorunRuns[i] = 'running';
            if (i !== 'all') {
              panel.content.activeCellIndex = i;
              panel.content.deselectAll();
            }
            const command = i === 'all' ? 'notebook:run-all-cells' : 'notebook:run-cell';
            app.commands.execute(command).then(
              (ok) => { window.gorunRuns[i] = ok ? 'ok' : 'error'; },
              (e) => { window.gorunRuns[i] = 'failed: ' + e; });""",
            i,
        )
        if wait:
            self.wait_cell(i)

    def wait_cell(self, i: int | str, timeout: float = WAIT) -> str:
        """Wait for cell i's run (or "all") to end: 'ok', or 'error' when a cell failed."""
        state = self.wait_for(
            lambda: (s := self.js("return window.gorunRuns[arguments[0]]", i)) != "running" and s,
            f"cell {i} to finish",
            timeout,
        )
        assert state in ("ok", "error"), f"cell {i}: {state}"
        return state

    def close_all(self) -> None:
        """Save and close every open notebook and shut its kernel down."""
        self.driver.execute_async_script(
            """const done = arguments[0];
            const widgets = [...window.jupyterapp.shell.widgets('main')]
              .filter((w) => w.sessionContext);
            Promise.all(widgets.map(async (w) => {
              await w.context.save();
              await w.sessionContext.shutdown();
              w.dispose();
            })).then(() => done(), () => done());"""
        )

    def command(self, command: str, args: dict[str, Any] | None = None) -> Any:
        """Run a JupyterLab command (what a menu item or shortcut runs) and await it."""
        return self.driver.execute_async_script(
            """const [id, args, done] = arguments;
            window.jupyterapp.commands.execute(id, args)
              .then(() => done(), (e) => done(String(e)));""",
            command,
            args or {},
        )

    # -- reading the page ---------------------------------------------------------

    def js(self, body: str, *args: Any) -> Any:
        """Run JavaScript with `app`, `panel` and `cell(i)` defined; return its result."""
        return self.driver.execute_script(_PRELUDE + body, *args)

    def cell(self, i: int) -> WebElement:
        return self.js("return cell(arguments[0]).node", i)

    def cell_output(self, i: int) -> WebElement:
        return self.js("return cell(arguments[0]).outputArea.node", i)

    def cell_output_html(self, i: int) -> str:
        return self.cell_output(i).get_attribute("innerHTML") or ""

    def cell_output_text(self, i: int) -> str:
        return self.cell_output(i).text

    def outputs(self, i: int) -> list[WebElement]:
        """Cell i's outputs in order (stream, display, error...), as rendered."""
        return self.js(
            "return [...cell(arguments[0]).outputArea.node.querySelectorAll("
            "'.jp-OutputArea-output')]",
            i,
        )

    def text_rect(self, element: WebElement) -> dict[str, float]:
        """Where an element's text is drawn (left, top, right, bottom): not its box."""
        return self.js(
            """const range = document.createRange();
            range.selectNodeContents(arguments[0]);
            const r = range.getBoundingClientRect();
            return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};""",
            element,
        )

    def set_theme(self, theme: str) -> None:
        """Switch JupyterLab's theme ('JupyterLab Light', 'JupyterLab Dark') and wait."""
        self.command("apputils:change-theme", {"theme": theme})
        self.wait_for(
            lambda: self.js("return document.body.dataset.jpThemeName") == theme,
            f"the {theme} theme",
        )

    def wait_for(self, condition: Callable[[], T], what: str, timeout: float = WAIT) -> T:
        """Poll condition until it returns something truthy (returned); fail after timeout."""
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
                lambda _: condition()
            )
        except TimeoutException:
            shot = self.screenshot(f"timeout-{_slug(what)}")
            text = self.js("return panel?.node?.innerText ?? document.body.innerText")
            pytest.fail(f"waited {timeout:.0f} s for {what}; screenshot {shot}\n{text}")

    def screenshot(self, name: str, cell: int | None = None) -> Path:
        """Save a PNG of the page (or of one cell) as test-artifacts/browser/<name>.png."""
        path = self.artifacts / f"{name}.png"
        if cell is None:
            self.driver.save_screenshot(str(path))
        else:
            self.js("cell(arguments[0]).node.scrollIntoView()", cell)
            self.cell(cell).screenshot(str(path))
        return path


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


@contextlib.contextmanager
def lab_processes(name: str) -> Iterator[tuple[LabServer, webdriver.Chrome]]:
    """A JupyterLab server and Chromium, both stopped when the with block ends."""
    reason = missing_browser()
    if reason is not None:
        pytest.skip(f"browser tests need Chromium: {reason}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="gorun-lab-"))
    root = state / "notebooks"
    root.mkdir()
    server = LabServer(root, state, ARTIFACTS / f"{name}-jupyterlab.log")
    try:
        driver = start_chromium(state / "chromium-profile", ARTIFACTS / f"{name}-chromedriver.log")
        try:
            yield server, driver
        finally:
            driver.quit()
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def lab_page(server: LabServer, driver: webdriver.Chrome) -> Iterator[Lab]:
    """A JupyterLab page loaded anew; when done, every kernel of the server is shut down
    (the notebooks saved and closed first), as a server of its own would leave none."""
    lab = Lab(server, driver, ARTIFACTS)
    try:
        yield lab
        lab.close_all()  # saved: leaving the page asks nothing
    finally:
        for session in server.api("sessions"):
            server.api(f"sessions/{session['id']}", method="DELETE")
        for kernel in server.kernels():
            server.api(f"kernels/{kernel['id']}", method="DELETE")
        driver.get("about:blank")  # no application polling the server until the next module


def lab_session(name: str) -> Iterator[Lab]:
    """A JupyterLab server and a Chromium page on it, of their own (one test module's)."""
    with lab_processes(name) as (server, driver):
        yield from lab_page(server, driver)
