"""The class's settings, set once: install command, limits, the kernels' environment.

The local deployment (jupyterhub_config.py), the container recipe (Dockerfile)
and Zero to JupyterHub's config.yaml use these same values; tests/test_classroom.py
checks that the two files say what this module says.
"""

from __future__ import annotations

from pathlib import Path

# From the repository root, in the local deployment and in the Dockerfile alike.
INSTALL_COMMAND = 'pip install ".[classroom,go]"'

# The spawner's per-student limits. SimpleLocalProcessSpawner does NOT enforce
# them (it only passes MEM_LIMIT / CPU_LIMIT to the server's environment); on
# Kubernetes, KubeSpawner turns them into the pod's cgroup limits.
MEM_LIMIT = "1G"
CPU_LIMIT = 1.0

# Zero to JupyterHub (config.yaml): the chart's version it was written for (its
# JupyterHub is 5.5.0), and how long a server may sit idle before the chart's culler
# stops it. The local Hub does not cull: Ctrl-C ends the class.
Z2JH_CHART = "4.4.0"
CULL_TIMEOUT = 3600

# The single-user image's name (Dockerfile, config.yaml); its tag is the package's version.
IMAGE_NAME = "gorun-class"

# The kernels' own program limits, for every student's kernel.
KERNEL_ENV = {
    # bytes of a program's output shown per cell (gorun_kernel, exists today)
    "GORUN_OUTPUT_LIMIT": "1048576",
    # every program's memory limit, and the most a cell may ask for (issue 10);
    # the load test's bad student is stopped by it
    "GORUN_MEMORY_LIMIT": "512MiB",
    # never download another Go toolchain because of a go.mod line
    "GOTOOLCHAIN": "local",
}

# No environment variable sets a default program timeout yet: the exercise's
# first cell does it, as notebooks/classroom.ipynb does.
CLASS_TIMEOUT_CELL = "%timeout 20s"

# What a class's cells import: compiled once into the shared build cache.
WARM_PACKAGES = (
    "bufio errors fmt io maps math math/rand/v2 os slices sort strconv strings sync "
    "testing time unicode unicode/utf8"
).split()

# Where the container image keeps the class's shared caches (Dockerfile, config.yaml).
IMAGE_CACHE_ROOT = Path("/opt/gorun-class")


def shared_go_env(modcache: Path, gocache: str) -> dict[str, str]:
    """Go's environment for a student: the class's module cache, read-only, as the only proxy.

    The module cache's download directory is itself a module proxy (`go help
    goproxy`), so students resolve and build the class's modules without a
    network and without writing to it. Checksums were verified when the teacher
    filled the cache, hence GOSUMDB=off here.
    """
    return {
        "GOMODCACHE": str(modcache),
        "GOPROXY": (modcache / "cache" / "download").as_uri(),
        "GOSUMDB": "off",
        "GOCACHE": gocache,
        # the class's build cache is warmed ahead (python -m gorun_kernel warm): no
        # kernel needs to warm it again in the background when it starts
        "GORUN_WARM": "0",
    }


def image_env() -> dict[str, str]:
    """The Go environment baked into the single-user image (Dockerfile ENV).

    The class's module cache, and the student's build cache seeded in the image from
    the machine-wide cache (`python -m gorun_kernel warm --machine`, then `--seed`)."""
    return shared_go_env(IMAGE_CACHE_ROOT / "gomod", str(IMAGE_CACHE_ROOT / "go-build"))


# The caches' variables: the image sets what they must be; config.yaml's extraEnv must
# not move them (a kernel would lose the image's seeded cache or the machine cache).
CACHE_VARIABLES = ("GOCACHE", "GORUN_CACHE", "GORUN_MACHINE_CACHE")
