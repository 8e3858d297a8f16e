"""The class's single-user image, built with podman from this checkout and run.

The image (classroom/Dockerfile) is built once per test session from the local Debian
base (made by mmdebstrap when absent: no registry is reachable here); podman's layer
cache keeps the unchanged layers between runs. A Jupyter server in a container from it
runs Go cells through the server's kernel websocket, as JupyterLab does; its user's
first cell is built from gorun_kernel's machine-wide warmed cache, made in the build.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))  # classroom/ is not part of the installed package
from classroom import podman, settings  # noqa: E402
from classroom.exercise import Cell  # noqa: E402
from classroom.student import Student  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.container]

WHY_NOT = podman.can_run_containers()
needs_podman = pytest.mark.skipif(bool(WHY_NOT), reason=f"no containers here: {WHY_NOT}")


@pytest.fixture(scope="session")
def class_image() -> podman.Built:
    """The single-user image, built once for every container test of the session."""
    if WHY_NOT:
        pytest.skip(f"no containers here: {WHY_NOT}")
    podman.ensure_local_base()
    built = podman.build_image()
    print(f"\nclass image {built.image} built in {built.seconds:.0f} s", file=sys.stderr)
    return built


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # polling a server that is starting: nothing to wait on


async def _first_and_edited_cell(url: str, token: str) -> tuple[dict, dict, str]:
    student = Student("alice", url, token)
    await student.open_notebook("first.ipynb")
    try:
        first = await student.run_cell(Cell("first", 'fmt.Println("hello from the container")'))
        edited = await student.run_cell(Cell("edited", 'fmt.Println("hello, edited")'))
    finally:
        student.close()
    assert first.status == "ok" and "hello from the container" in first.output, first.output
    assert edited.status == "ok" and "hello, edited" in edited.output, edited.output
    return first.timing, edited.timing, first.output


def _exec(name: str, argv: list[str]) -> str:
    """A command in the running container, as its user (jovyan)."""
    return podman.run(["exec", name, *argv], timeout=60).stdout


@needs_podman
@pytest.mark.timeout(1800)  # the first build of a session installs the image's packages
def test_a_new_users_first_cell_in_the_image_is_an_ordinary_edited_cell(class_image) -> None:
    """The image build ran `python -m gorun_kernel warm --machine` and seeded the user's
    go build cache from it (`warm --seed`), so a new user's first cell's plan (`go build -n`) is
    compile + link of the cell alone, as for an edited cell: built_by "direct". Had go
    to compile fmt or the runtime, the plan would hold their compiles and go would build
    it (built_by "go", "a new import set whose plan is more than compile + link")."""
    port, token = _free_port(), secrets.token_hex(16)
    name = f"gorun-class-test-{port}"
    server = [
        "jupyter", "server", "--ip=127.0.0.1", f"--port={port}", "--no-browser",
        "--ServerApp.base_url=/user/alice/", f"--IdentityProvider.token={token}",
    ]  # fmt: skip
    podman.run(
        ["run", "-d", "--rm", "--name", name, "--network", "host", "--memory", "1g",
         class_image.image, *server],
    )  # fmt: skip
    try:
        _wait_http(f"http://127.0.0.1:{port}/user/alice/api/status?token={token}", 120)
        first, edited, _ = asyncio.run(_first_and_edited_cell(f"http://127.0.0.1:{port}", token))
        machine_stamp = _exec(name, ["cat", "/var/cache/gorun_kernel/stamp"])
        gocache = _exec(name, ["go", "env", "GOCACHE"]).strip()
        seeded = _exec(name, ["cat", f"{gocache}/gorun-seeded"])
        writable = _exec(name, ["find", "/var/cache/gorun_kernel", "-writable", "-print", "-quit"])
    finally:
        podman.run(["rm", "-f", "-t", "0", name], check=False)
    print(f"\nfirst cell {first}\nedited cell {edited}", file=sys.stderr)
    # The student's own cache (the image's, seeded in its build) came from the machine
    # cache, which they cannot write.
    assert gocache == settings.image_env()["GOCACHE"]
    assert seeded == machine_stamp and machine_stamp.startswith("go1."), (seeded, machine_stamp)
    assert writable == "", f"the student can write the machine cache: {writable}"
    # Neither cell came from the executable cache; both were compile + link of the cell.
    assert first["cached"] is False and edited["cached"] is False
    assert first.get("built_by") == "direct", first
    assert edited.get("built_by") == "direct", edited
    gone = podman.run(["ps", "-a", "--filter", f"name={name}", "-q"]).stdout.strip()
    assert gone == "", f"container {name} left behind"


@needs_podman
@pytest.mark.timeout(1800)
def test_a_hub_gives_each_student_a_limited_container(class_image, tmp_path: Path) -> None:
    """JupyterHub + DockerSpawner on podman's API: 2 students, the bad one stopped by the
    container's memory limit (the kernel's own is off), nothing left after the Hub stops."""
    figures_file = tmp_path / "figures.json"
    command = [
        sys.executable, "-m", "classroom.loadtest", "--containers", "--image", class_image.image,
        "--students", "2", "--think", "0.2", "--ramp", "1", "--json", str(figures_file),
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(figures_file.read_text())
    assert figures["unexpected_failures"] == 0, figures["failures"]
    assert figures["processes_left"] == 0 and figures["containers_left"] == 0, proc.stdout
    limit = settings.MEM_LIMIT.replace("G", " GiB")
    said = f"bad student: OverMemoryLimit: killed: over the {limit} memory limit of this server's"
    assert said in proc.stdout, proc.stdout
