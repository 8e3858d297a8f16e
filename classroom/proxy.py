"""configurable-http-proxy, JupyterHub's proxy, installed from npm into a directory of ours.

No global install is assumed: `npm install --prefix DIR configurable-http-proxy`
once, then JupyterHub is told the binary's path.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# The version tested here; JupyterHub 5 and 6 work with configurable-http-proxy 4 and 5.
CHP_VERSION = "5.3.0"


class ProxyUnavailable(Exception):
    """npm or node is missing, or the install failed; the message says which."""


def chp_path(prefix: Path) -> Path:
    return prefix / "node_modules" / ".bin" / "configurable-http-proxy"


def ensure_proxy(prefix: Path, version: str = CHP_VERSION) -> Path:
    """The configurable-http-proxy binary under prefix, installed with npm when missing."""
    binary = chp_path(prefix)
    if binary.exists() and _installed_version(binary) == version:
        return binary
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise ProxyUnavailable(
            "JupyterHub needs configurable-http-proxy, installed with npm, and npm/node "
            "are not on PATH (Debian: apt-get install nodejs npm)"
        )
    prefix.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            npm, "install", "--prefix", str(prefix), "--no-save", "--no-package-lock",
            "--no-audit", "--no-fund", "--loglevel=error", f"configurable-http-proxy@{version}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if proc.returncode != 0 or not binary.exists():
        raise ProxyUnavailable(
            f"npm install configurable-http-proxy@{version} failed:\n{proc.stderr.strip()}"
        )
    return binary


def _installed_version(binary: Path) -> str | None:
    try:
        proc = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60
        )
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None
