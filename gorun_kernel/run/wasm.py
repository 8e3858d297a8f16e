"""The run stage of a --wasm cell: the built js/wasm module, shipped to the page.

Nothing runs here: the cell's output is one display (text/html) that holds the
program and what runs it, all inline, so that it runs wherever the output is
shown with scripts allowed: JupyterLab (a trusted notebook), nbconvert's HTML
opened from disk, a docs site, with no kernel and nothing fetched. Inline are:
the module, gzip'd and base64'd (the browser's DecompressionStream inflates
it); the toolchain's own wasm_exec.js, the same way; and our glue
(wasm_page.js), which starts a Web Worker and shows what the program writes.

Where scripts do not run (an untrusted notebook in JupyterLab, GitHub's
viewer) the reader sees the display's static text: what the cell is and why it
did not run.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import json
from dataclasses import dataclass
from pathlib import Path

from gorun_kernel.build.gobuild import Built
from gorun_kernel.build.wasm import wasm_exec_js
from gorun_kernel.events import Display, OutputSink
from gorun_kernel.outcome import Outcome

GLUE = Path(__file__).with_name("wasm_page.js")
# The display's metadata key for the facts (sizes, target), for tools reading outputs;
# metadata, not a MIME type of the bundle: nbval compares data, and sizes vary by Go release.
METADATA_KEY = "gorun_kernel/wasm"

# The output's look, in values JupyterLab's sanitizer keeps (an untrusted notebook
# keeps only those) with the theme's variables where it runs.
_STATUS_STYLE = (
    "margin:0;padding-left:1ch;font-size:13px;color:#888;color:var(--jp-content-font-color2,#888)"
)
_STYLE = """<style>
.gorun-wasm-out pre { margin: 0; padding-left: 1ch; white-space: pre-wrap;
  font-size: var(--jp-code-font-size, 13px); font-family: var(--jp-code-font-family, monospace); }
.gorun-wasm-display { padding-left: 1ch; }
.gorun-wasm-stderr { background: var(--jp-rendermime-error-background, #fdd); }
.gorun-wasm-value { color: var(--jp-content-font-color1, #000); }
.gorun-wasm-stop { font-size: 11px; margin-left: 1ch; }
</style>"""


@dataclass(frozen=True)
class Shipped:
    """What a reader's browser downloads for one --wasm cell."""

    module_bytes: int  # the .wasm file go built
    gzip_bytes: int  # gzip'd
    page_bytes: int  # the whole display's HTML: base64 module, wasm_exec.js, glue

    def words(self) -> str:
        module, packed = _size(self.module_bytes), _size(self.gzip_bytes)
        return f"page weight {_size(self.page_bytes)} (module {module}, gzip'd {packed})"


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


@functools.lru_cache(maxsize=4)
def _gzipped(data: bytes) -> bytes:
    """gzip'd, with no timestamp (the same module gives the same text). Level 6: 0.5 s for a
    2.8 MB module here, 1.7% larger than level 9's 1.5 s. Kept for the last few modules,
    so an unchanged cell run again does not pay it again."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def _packed(data: bytes) -> str:
    return base64.b64encode(_gzipped(data)).decode("ascii")


def page_html(module: bytes, exec_js: bytes, args: list[str], env: dict[str, str]) -> str:
    """The display's HTML: the program's output area, its div, the status, and the scripts."""
    settings = json.dumps({"args": args, "env": env}).replace("</", "<\\/")
    glue = GLUE.read_text(encoding="utf-8")
    not_run = (
        "A Go program for this page (js/wasm). It runs where the output's scripts may run: "
        "run the cell, or trust the notebook (JupyterLab: File > Trust Notebook), or open "
        "its HTML export in a browser."
    )
    return "\n".join(
        [
            '<div class="gorun-wasm">',
            _STYLE,
            '<div class="gorun-wasm-out" hidden></div>',
            '<div class="gorun-wasm-page" style="padding-left:1ch"></div>',
            f'<pre class="gorun-wasm-status" style="{_STATUS_STYLE}">{html.escape(not_run)}</pre>',
            f'<script type="text/plain" data-gorun="settings">{settings}</script>',
            f'<script type="text/plain" data-gorun="exec">{_packed(exec_js)}</script>',
            f'<script type="text/plain" data-gorun="module">{_packed(module)}</script>',
            f"<script>\n{glue}</script>",
            "</div>",
        ]
    )


def ship(
    built: Built, goroot: str, args: list[str], env: dict[str, str], sink: OutputSink
) -> Outcome:
    """Show the built module as a display that runs it in the page; the Outcome says so."""
    if built.note:
        sink.stderr(built.note + "\n")
    if built.log:
        sink.stderr(built.log + "\n")
    if built.exe is None:
        return Outcome(status="built nothing to run (-n)", error=None, ran=False)
    module = built.exe.read_bytes()
    page = page_html(module, wasm_exec_js(goroot).read_bytes(), args, env)
    shipped = Shipped(len(module), len(_gzipped(module)), len(page.encode()))
    facts = {
        "target": "js/wasm",
        "runs": "page (Web Worker)",
        "module_bytes": shipped.module_bytes,
        "gzip_bytes": shipped.gzip_bytes,
        "page_bytes": shipped.page_bytes,
    }
    text = f"[a Go program that runs in the page: js/wasm, {shipped.words()}]"
    sink.event(Display({"text/plain": text, "text/html": page}, {METADATA_KEY: facts}))
    return Outcome(
        status=f"built for js/wasm · runs in the page · {shipped.words()}",
        error=None,
        cached=built.cached,
        build_seconds=built.seconds,
    )
