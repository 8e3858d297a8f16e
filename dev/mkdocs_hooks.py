"""MkDocs hooks (mkdocs.yml `hooks:`): the pages whose one source lives elsewhere.

Made at build time, never checked in, so none can go stale:

    reference/kernel.md     what `%help` prints    (gorun_kernel/frontends/reference/)
    reference/magic.md      what `%%gorun?` shows  (the same files)
    reference/display.md    `go doc -all` of the display package and display/cache
                            (their doc comments in gorun_kernel/golib)
    guides/classroom.md     classroom/README.md
    benchmarks.md           benchmarks/README.md
    notebooks/...ipynb      the shipped notebooks, rendered by mkdocs-jupyter with
                            their saved outputs (never executed)

and in configuration.md, the tables of `gorun_kernel/config.py` at its markers.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
import subprocess
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from gorun_kernel import config as gorun_config
from gorun_kernel.build.toolchain import locate
from gorun_kernel.errors import GorunError
from gorun_kernel.frontends import reference
from gorun_kernel.paths import GOLIB_DIR

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [
    *sorted((ROOT / "notebooks").glob("*.ipynb")),
    ROOT / "notebooks" / "library" / "docs" / "shapes.ipynb",
]
CONFIG_MARKERS = {
    "<!-- config: settings -->": False,
    "<!-- config: set by gorun -->": True,
}
# The display module's packages a user imports (value and started are gorun's own plumbing).
DISPLAY_PACKAGES = {
    ".": "gorun.dev/display",
    "./cache": "gorun.dev/display/cache",
    "./page": "gorun.dev/display/page",  # a --wasm cell's div
}


def go_doc(package: str) -> str:
    """`go doc -all` of one package of the display module, offline."""
    try:
        go, _, extra = locate(os.environ)
    except GorunError as e:
        raise PluginError(f"the display package's page needs Go: {e.message}") from None
    env = {**os.environ, **extra, "GOWORK": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "",
           "GOPROXY": "off"}  # fmt: skip
    proc = subprocess.run(
        [go, "doc", "-all", package], cwd=GOLIB_DIR, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise PluginError(f"go doc -all {package} failed: {proc.stderr.strip()}")
    return proc.stdout


def display_page() -> str:
    parts = [
        "# The display package\n\n"
        "The Go package `gorun.dev/display` ships inside gorun_kernel (every session's "
        "go.mod requires it from the installed package: no network). Snippets use "
        "`display` and `cache` by name, like standard packages; a `package main` cell "
        "imports `gorun.dev/display`, `gorun.dev/display/cache` (and, in a `--wasm` cell, "
        "`gorun.dev/display/page`). See the "
        "[rich output guide](../guides/rich-output.md) for examples.\n\n"
        "This page is `go doc -all` of the package's source, made when the site is built.\n"
    ]
    for package, path in DISPLAY_PACKAGES.items():
        parts.append(f"\n## {path}\n\n```text\n{go_doc(package)}```\n")
    return "".join(parts)


def rewrite_links(text: str, source_dir: Path, uri: str) -> str:
    """Markdown written in `source_dir` (a README of the repository) as the page `uri`:
    its links to docs/ and notebooks/ rewritten to lead to the same pages from where
    the page sits in the site; other links stay as they are."""
    page_dir = posixpath.dirname(uri) or "."

    def link(m: re.Match[str]) -> str:
        target, anchor = m.group(2), m.group(3) or ""
        if "://" in target or target.startswith("/"):
            return m.group(0)
        path = Path(posixpath.normpath((source_dir / target).as_posix()))
        try:
            path_text = path.relative_to(ROOT).as_posix()
        except ValueError:
            return m.group(0)
        if path_text.startswith("docs/"):
            path_text = path_text[len("docs/") :]  # a page of the site
        elif not path_text.startswith("notebooks/"):  # a notebook is a page too
            return m.group(0)
        return f"{m.group(1)}({posixpath.relpath(path_text, page_dir)}{anchor})"

    return re.sub(r"(\[[^\]]*\])\(([^)#\s]+)(#[^)\s]*)?\)", link, text)


def readme_page(readme: Path, uri: str) -> str:
    return rewrite_links(readme.read_text(encoding="utf-8"), readme.parent, uri)


def _generated(config: MkDocsConfig, files: Files, uri: str, content: str) -> None:
    existing = files.get_file_from_path(uri)
    if existing is not None:
        raise PluginError(f"docs/{uri} is made at build time: remove the checked-in copy")
    files.append(File.generated(config, uri, content=content))


@event_priority(100)  # before mkdocs-jupyter, which takes the notebooks added here
def on_files(files: Files, config: MkDocsConfig) -> Files:
    _generated(config, files, "reference/kernel.md", reference.page("kernel"))
    _generated(config, files, "reference/magic.md", reference.page("magic"))
    _generated(config, files, "reference/display.md", display_page())
    for readme, uri in (("classroom", "guides/classroom.md"), ("benchmarks", "benchmarks.md")):
        _generated(config, files, uri, readme_page(ROOT / readme / "README.md", uri))
    for path in NOTEBOOKS:
        uri = path.relative_to(ROOT).as_posix()
        files.append(File(uri, str(ROOT), config.site_dir, config.use_directory_urls))
    return files


def _first_line(path: Path) -> str:
    """A module's docstring, its first sentence or line, for the module table."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = doc.strip().split("\n\n", 1)[0].replace("\n", " ")
    return first.replace("|", "\\|")


def module_table() -> str:
    """A table per folder of gorun_kernel: each module and what its docstring says it is."""
    package = ROOT / "gorun_kernel"
    out = []
    for folder in [package, *sorted(p for p in package.iterdir() if (p / "__init__.py").exists())]:
        where = folder.relative_to(ROOT).as_posix()
        out.append(f"**`{where}/`**: {_first_line(folder / '__init__.py')}\n")
        out.append("| module | what it is |\n| --- | --- |")
        for path in sorted(folder.glob("*.py")):
            if path.name not in ("__init__.py", "__main__.py"):
                out.append(f"| `{path.name}` | {_first_line(path)} |")
        out.append("")
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if "<!-- layout: modules -->" in markdown:
        markdown = markdown.replace("<!-- layout: modules -->", module_table())
    for marker, set_by_gorun in CONFIG_MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(
                marker, gorun_config.markdown_table(set_by_gorun=set_by_gorun)
            )
    return markdown
