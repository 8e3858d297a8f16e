"""The documentation site builds, strictly, with the notebooks and their images (docs/, mkdocs.yml).

`mkdocs build --strict` fails on any warning: a broken link or anchor, a page left
out of the navigation, a generated page that cannot be made (dev/mkdocs_hooks.py).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

README_LIMIT = 15 * 1024  # the front page; the rest is in docs/


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("mkdocs", "mkdocs_jupyter"):
        pytest.importorskip(module, reason='the docs tools come with the test extra (".[test]")')
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return out


def _saved_pngs(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return [
        "".join(out["data"]["image/png"]).replace("\n", "")
        for cell in cells
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]


@pytest.mark.e2e
def test_the_notebooks_are_pages_with_their_saved_images(site: Path):
    pngs = _saved_pngs(ROOT / "notebooks" / "display.ipynb")
    assert pngs, "display.ipynb has lost its Mandelbrot PNG"
    page = (site / "notebooks" / "display" / "index.html").read_text()
    shown = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert pngs[0] in shown  # the saved output itself, not a new run's
    png = base64.b64decode(shown[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("tour", "gorun-magic", "classroom", "server", "parameters"):
        html = (site / "notebooks" / name / "index.html").read_text()
        assert "exit status 0" in html, name  # outputs, never executed: the saved ones


@pytest.mark.e2e
def test_the_generated_pages_are_there(site: Path):
    kernel = (site / "reference" / "kernel" / "index.html").read_text()
    assert "%goflags" in kernel and "--wait-port" in kernel
    display = (site / "reference" / "display" / "index.html").read_text()
    assert "func HTML(s string)" in display and "func Value[" in display  # go doc -all
    config = (site / "configuration" / "index.html").read_text()
    assert "GORUN_CACHE_MAX_MB" in config and "GORUN_VALUE_FD" in config
    assert "<!-- config:" not in config
    architecture = (site / "architecture" / "index.html").read_text()
    assert "supervisor.py" in architecture and "<!-- layout:" not in architecture
    assert (site / "images" / "jupyterlab.png").exists()


def _nav_pages(nav: list) -> list[str]:
    pages = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_every_page_is_in_the_navigation_and_the_build_is_strict():
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["strict"] is True
    nav = _nav_pages(config["nav"])
    written = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    assert [p for p in written if p not in nav] == [], "add these pages to mkdocs.yml's nav"


def test_the_readme_is_a_front_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= README_LIMIT
    assert "docs/images/jupyterlab.png" in readme and (ROOT / "docs/images/jupyterlab.png").exists()


def test_the_readmes_links_lead_somewhere():
    for readme in (ROOT / "README.md", ROOT / "classroom/README.md", ROOT / "benchmarks/README.md"):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme.read_text()):
            if "://" not in target:
                assert (readme.parent / target).exists(), f"{readme.name}: {target}"


def _readme_cells() -> list[str]:
    """The README's three kinds of cell, as it shows them."""
    readme = (ROOT / "README.md").read_text()
    forms = readme.split("## Three kinds of cell", 1)[1].split("\n## ", 1)[0]
    return [block for _, block in re.findall(r"```(go|)\n(.*?)```", forms, flags=re.S)]


@pytest.mark.e2e
def test_the_readmes_cells_do_what_it_says(kc):
    from kernel_client import execute

    program, snippet, files = _readme_cells()
    r = execute(kc, program)
    assert r.status == "ok" and r.stream() == "hello from Go\n"
    r = execute(kc, snippet)
    said = re.search(r'the cell\'s result: (".*")', snippet)
    assert r.status == "ok" and r.stream() == "49\n" and said and r.value == said.group(1)
    r = execute(kc, files)
    assert r.status == "ok" and r.stream() == "hello from a sub-package\n"


@pytest.mark.e2e
def test_the_first_cell_prints_what_the_readme_says(tmp_path):
    readme = (ROOT / "README.md").read_text()
    first = readme.split("## Fresh machine: install and run a first Go cell", 1)[1]
    command, said = re.findall(r"```(?:sh)?\n(.*?)```", first, flags=re.S)[:2]
    assert command.strip().endswith("ipython --ext gorun_kernel notebooks/hello.ipy")
    proc = subprocess.run(
        [sys.executable, "-m", "IPython", "--ext", "gorun_kernel", "notebooks/hello.ipy"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
        # An executable cache of its own: the README shows a build, not "cached".
        env={**os.environ, "IPYTHONDIR": str(tmp_path), "GORUN_CACHE": str(tmp_path / "cache")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr

    def times(text: str) -> str:
        return re.sub(r"\d+\.\d+ s", "T s", text).strip()

    assert times(proc.stdout) == times(said)


@pytest.mark.e2e
def test_the_wasm_notebook_runs_in_its_site_page_from_disk(site: Path, tmp_path: Path):
    """Its --wasm cells run in the reader's browser (issue 28): the page opened from disk in
    Chromium prints Go's first line, and the slider's input event reaches the Go handler."""
    sys.path.insert(0, str(Path(__file__).parent))
    from browser import missing_browser, start_chromium
    from selenium.webdriver.support.ui import WebDriverWait

    if (reason := missing_browser()) is not None:
        pytest.skip(f"needs Chromium: {reason}")
    driver = start_chromium(tmp_path / "profile", tmp_path / "chromedriver.log")
    text = "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent).join()"
    try:
        driver.get((site / "notebooks" / "wasm" / "index.html").as_uri())
        wait = WebDriverWait(driver, 60, poll_frequency=0.1)
        wait.until(lambda d: "running in your browser as js/wasm" in d.execute_script(
            text, ".gorun-wasm-out"))  # fmt: skip
        wait.until(lambda d: "25 primes up to 100" in d.execute_script(text, "#count"))
        driver.execute_script(
            "const s = document.getElementById('n'); s.value = 400;"
            "s.dispatchEvent(new Event('input', {bubbles: true}));"
        )
        wait.until(lambda d: "78 primes up to 400" in d.execute_script(text, "#count"))
    finally:
        driver.quit()


def test_the_readmes_that_are_pages_have_their_links_rewritten_for_the_site():
    pytest.importorskip("mkdocs", reason='the docs tools come with the test extra (".[test]")')
    sys.path.insert(0, str(ROOT / "dev"))
    try:
        import mkdocs_hooks
    finally:
        sys.path.remove(str(ROOT / "dev"))
    text = (
        "[a](../docs/getting-started.md#warm) [b](../notebooks/tour.ipynb) "
        "[c](hub.py) [d](https://example.invalid/x.md) [e](../docs/guides/cells.md)"
    )
    page = mkdocs_hooks.rewrite_links(text, ROOT / "classroom", "guides/classroom.md")
    assert page == (
        "[a](../getting-started.md#warm) [b](../notebooks/tour.ipynb) "
        "[c](hub.py) [d](https://example.invalid/x.md) [e](cells.md)"
    )
    page = mkdocs_hooks.rewrite_links(text, ROOT / "benchmarks", "benchmarks.md")
    assert page.startswith("[a](getting-started.md#warm) [b](notebooks/tour.ipynb) ")
