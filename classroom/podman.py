"""podman for the class's containers: the command, the base image, the single-user image.

This machine (and CI) runs containers with Debian's podman as root on a cgroup v1
hybrid hierarchy: crun refuses it, so runc; systemd is not the init, so cgroupfs.
No container registry is reachable, so the base image is a Debian rootfs made by
mmdebstrap and imported once (`localhost/debian:bookworm`); the image's own layers
are podman's layer cache, so a rebuild redoes only what changed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "classroom" / "Dockerfile"
LOCAL_BASE = "localhost/debian:bookworm"
IMAGE = "localhost/gorun-class:dev"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


class PodmanError(Exception):
    """podman is missing, cannot run containers here, or a build failed; says why."""


def command() -> list[str]:
    """podman and the global options this kind of machine needs (see the module's doc)."""
    podman = shutil.which("podman")
    if podman is None:
        raise PodmanError("podman is not installed (apt-get install podman runc)")
    cmd = [podman]
    if shutil.which("runc"):
        cmd += ["--runtime", "runc"]
    return [*cmd, "--cgroup-manager=cgroupfs"]


def run(args: list[str], timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise PodmanError(f"podman {' '.join(args)} failed:\n{proc.stderr.strip()[-2000:]}")
    return proc


def can_run_containers() -> str:
    """Why podman cannot run a container here (a test's skip reason), or "" when it can."""
    try:
        proc = run(["info", "--format", "{{.Host.CgroupsVersion}}"], timeout=60, check=False)
    except PodmanError as e:
        return str(e)
    if proc.returncode != 0:
        return f"podman cannot run here: {proc.stderr.strip()[-500:]}"
    return ""


def image_exists(name: str) -> bool:
    return run(["image", "exists", name], check=False).returncode == 0


def ensure_local_base(name: str = LOCAL_BASE, suite: str = "bookworm") -> float:
    """The Debian base image, made with mmdebstrap and imported when absent; its seconds."""
    if image_exists(name):
        return 0.0
    if shutil.which("mmdebstrap") is None:
        raise PodmanError(f"no {name} image and no mmdebstrap to make it (apt-get install it)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gorun-class-rootfs-") as work:
        rootfs = Path(work) / "rootfs.tar"
        proc = subprocess.run(
            ["mmdebstrap", "--variant=minbase", "--include=ca-certificates", suite, str(rootfs)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if proc.returncode != 0:
            raise PodmanError(f"mmdebstrap failed:\n{proc.stderr.strip()[-2000:]}")
        run(["import", str(rootfs), name], timeout=300)
    return time.monotonic() - started


@dataclass(frozen=True)
class Built:
    image: str
    seconds: float
    log: str


def build_image(image: str = IMAGE, base: str = LOCAL_BASE, timeout: float = 1800) -> Built:
    """Build classroom/Dockerfile from this checkout, FROM base; unchanged layers are reused."""
    started = time.monotonic()
    args = ["build", "--build-arg", f"BASE={base}", "-f", str(DOCKERFILE), "-t", image]
    if HOST_CA_BUNDLE.is_file():
        # The machine's trusted certificates (a TLS-inspecting proxy's among them, where
        # there is one) for the build's pip and go downloads; not left in the image.
        args += ["--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"]
    args.append(str(ROOT))
    proc = run(args, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise PodmanError(f"building {image} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return Built(image, time.monotonic() - started, proc.stdout)
