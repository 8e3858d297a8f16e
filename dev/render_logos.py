"""Render the kernel logo's PNGs from its SVG (a developer's tool, not run at install).

    python dev/render_logos.py

Writes gorun_kernel/resources/logo-32x32.png and logo-64x64.png from
logo-svg.svg with headless Chromium (transparent corners). The PNGs are
committed, so installing the package needs neither Chromium nor Pillow.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "gorun_kernel" / "resources"


def render(size: int, chromium: str, work: Path) -> None:
    page = work / f"logo{size}.html"
    page.write_text(
        '<html><body style="margin:0;background:transparent">'
        f'<img src="{(RESOURCES / "logo-svg.svg").as_uri()}" width="{size}" height="{size}"'
        ' style="display:block"></body></html>'
    )
    out = RESOURCES / f"logo-{size}x{size}.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--default-background-color=00000000", f"--window-size={size},{size}",
         f"--screenshot={out}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    print(f"wrote {out}")


def main() -> None:
    chromium = next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    if chromium is None:
        sys.exit(
            "render_logos: needs Chromium (chromium, chromium-browser or google-chrome) on PATH"
        )
    with tempfile.TemporaryDirectory() as td:
        for size in (32, 64):
            render(size, chromium, Path(td))


if __name__ == "__main__":
    main()
