"""A real JupyterLab server on 127.0.0.1, started for a test module.

It runs from this Python (so it finds the `gorun` and `python3` kernelspecs of the
test environment) with the test environment: the hermetic Go settings of
conftest.py are already in os.environ, and every kernel it starts inherits them.
Its settings and workspaces live in a temp directory, so a test never reads or
changes the user's JupyterLab settings, and nothing is fetched from the network
(no news feed, no update check).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

START_TIMEOUT = 90.0  # seconds; a cold start on a busy 2-core machine takes ~10 s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """`jupyter lab` as a child process, with its URL, token and root directory."""

    def __init__(self, root: Path, state: Path, log: Path) -> None:
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        settings = state / "user-settings"
        self._quiet_settings(settings)
        jupyter_path = self._this_extension(state)
        env = {
            **os.environ,
            "JUPYTER_PATH": os.pathsep.join(
                filter(None, [jupyter_path, os.environ.get("JUPYTER_PATH")])
            ),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        }
        args = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            # window.jupyterapp: tests drive JupyterLab's own commands (what menus and
            # keyboard shortcuts run) and read its widgets, instead of guessing at the DOM.
            "--expose-app-in-browser",
            "--allow-root",  # CI containers run as root
            "--LabApp.news_url=",
            "--LabApp.extension_manager=readonly",  # never asks PyPI
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            args, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=root
        )
        self._wait_ready()

    @staticmethod
    def _this_extension(state: Path) -> str:
        """A JUPYTER_PATH entry whose labextensions/gorun-kernel is this checkout's
        labextension/prebuilt: JupyterLab takes the first of a name along its path,
        so the tests run the extension as committed here, not an installed copy."""
        root = state / "jupyter-path"
        (root / "labextensions").mkdir(parents=True)
        prebuilt = Path(__file__).resolve().parent.parent / "labextension" / "prebuilt"
        (root / "labextensions" / "gorun-kernel").symlink_to(prebuilt, target_is_directory=True)
        return str(root)

    @staticmethod
    def _quiet_settings(settings: Path) -> None:
        """No 'receive official Jupyter news?' toast over the notebook in screenshots."""
        notification = settings / "@jupyterlab" / "apputils-extension" / "notification"
        notification.parent.mkdir(parents=True, exist_ok=True)
        path = notification.with_suffix(".jupyterlab-settings")
        path.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))

    def api(self, path: str, method: str = "GET") -> Any:
        """A call to the server's REST API, as JSON (None for an empty answer)."""
        request = urllib.request.Request(  # noqa: S310 (our own http:// URL)
            f"{self.url}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = response.read()
        return json.loads(body) if body else None

    def _wait_ready(self) -> None:
        """Poll the API until it answers; fail with the server's log if it dies or hangs."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError):
                pass
            try:
                # Waits for the process to exit (bounded): the pause between polls.
                self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log()}")
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer in {START_TIMEOUT:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def kernels(self) -> list[dict[str, Any]]:
        return self.api("kernels")

    def stop(self) -> None:
        """Shut the server down (it shuts its kernels down first); kill it if it hangs."""
        if self.proc.poll() is None:
            try:
                self.api("shutdown", method="POST")
            except (urllib.error.URLError, ConnectionError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
