"""A class on JupyterHub: a real Hub, real single-user servers, real kernels, real go.

The load test runs with 3 students (python -m classroom.loadtest, as a teacher
runs it); the one-command Hub starts and stops cleanly; the shared module cache is
only read; seeded build caches share the warmed files; the container recipe and
Zero to JupyterHub's config.yaml say what classroom/settings.py says.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest
import tomllib
import yaml
from kernel_client import execute, start

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))  # classroom/ is not part of the installed package
from classroom import caches, exercise, hub, settings, userenv  # noqa: E402
from classroom.hub import ClassOptions, Classroom, ClassroomError  # noqa: E402
from classroom.student import CellRun  # noqa: E402

needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("node") is None,
    reason="JupyterHub's proxy (configurable-http-proxy) comes from npm: npm/node not on PATH",
)


@pytest.mark.e2e
@needs_npm
def test_load_test_three_students(tmp_path: Path) -> None:
    figures_file = tmp_path / "figures.json"
    command = ["--students", "3", "--think", "0.2", "--ramp", "1", "--json", str(figures_file)]
    proc = subprocess.run(
        [sys.executable, "-m", "classroom.loadtest", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(figures_file.read_text())
    assert figures["unexpected_failures"] == 0, figures["failures"]
    assert figures["processes_left"] == 0
    assert figures["scratch_dirs_left"] == 0
    features = set(figures["features"])
    planned = sum(len(exercise.cells_for(i, features, True)) for i in range(3))
    assert figures["cells_run"] == planned
    for line in ("cell latency: p50", "cells per minute held", "memory per student"):
        assert line in proc.stdout
    # The bad student (student 0) is stopped by the class's limit, set once in every
    # kernel's environment; the other students' cells all ran as expected (above).
    assert "memory" in features
    limit = settings.KERNEL_ENV["GORUN_MEMORY_LIMIT"].replace("MiB", " MiB")
    assert (
        f"bad student: OverMemoryLimit: out of memory (exit status 2): over the {limit} "
        "memory limit" in proc.stdout
    ), proc.stdout
    for feature in exercise.FEATURE_ISSUES.keys() - features:  # said, never faked
        assert f"skipped: {exercise.FEATURE_ISSUES[feature]}" in proc.stdout


def _read_lines(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


@pytest.mark.e2e
@needs_npm
def test_hub_command_starts_and_stops_cleanly() -> None:
    hub = subprocess.Popen(
        [sys.executable, "-m", "classroom.hub"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(hub.stdout, lines), daemon=True).start()
    try:
        seen = []
        while not any("JupyterHub is running at" in line for line in seen):
            seen.append(lines.get(timeout=120))
        url = seen[-1].split(" at ", 1)[1].split()[0]
        with urllib.request.urlopen(f"{url}hub/api/", timeout=30) as response:  # noqa: S310
            assert "version" in json.loads(response.read())
        hub.send_signal(signal.SIGINT)  # Ctrl-C
        assert hub.wait(timeout=120) == 0, "".join(seen)
    finally:
        if hub.poll() is None:
            hub.kill()
            hub.wait()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert "stopped: 0 processes, 0 scratch dirs left" in "".join(rest)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.mark.e2e
def test_shared_module_cache_is_only_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    modcache = tmp_path / "gomod"
    caches.fill_module_cache(modcache, ["example.com/greet@v1.2.0"])  # from the tests' proxy
    before = _snapshot(modcache)
    env = settings.shared_go_env(modcache, gocache="")
    del env["GOCACHE"]  # the user's: the standard library is compiled there already
    for key, value in {**env, "GOFLAGS": "-buildvcs=false"}.items():  # no -modcacherw
        monkeypatch.setenv(key, value)
    km, kc = start()
    try:
        result = execute(kc, 'import "example.com/greet"\n\nfmt.Println(greet.Hello("class"))')
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert result.status == "ok", result.messages
    assert result.stream() == "Howdy, class!\n"
    assert _snapshot(modcache) == before


@pytest.mark.e2e
def test_seeded_build_cache_shares_the_warmed_files(tmp_path: Path) -> None:
    warmed = tmp_path / "warmed"
    (warmed / "0a").mkdir(parents=True)
    (warmed / "0a" / "0a1b-d").write_bytes(b"compiled package")
    (warmed / "trim.txt").write_text("1700000000\n")
    student = tmp_path / "home" / ".cache" / "go-build"
    assert caches.seed_build_cache(warmed, student)
    entry = student / "0a" / "0a1b-d"
    assert entry.read_bytes() == b"compiled package"
    assert entry.stat().st_ino == (warmed / "0a" / "0a1b-d").stat().st_ino  # a hard link
    # go rewrites trim.txt in place: the student's must be a file of its own
    assert (student / "trim.txt").stat().st_ino != (warmed / "trim.txt").stat().st_ino
    assert not caches.seed_build_cache(warmed, student)  # theirs now: left alone


def test_a_students_gorun_cache_gets_the_class_index_through_the_package(tmp_path: Path) -> None:
    """The class's index is copied by the package's own code (machinecache), once."""
    warmed = tmp_path / "gorun-cache"
    (warmed / "stdlib" / "go1.x").mkdir(parents=True)
    (warmed / "stdlib" / "go1.x" / "index.json").write_text('{"fmt": []}')
    (warmed / "exe").mkdir()  # the class's executable cache is not the student's
    student = tmp_path / "home" / ".cache" / "gorun_kernel"
    assert caches.seed_gorun_cache(warmed, student)
    assert (student / "stdlib" / "go1.x" / "index.json").read_text() == '{"fmt": []}'
    assert not (student / "exe").exists()
    assert not caches.seed_gorun_cache(warmed, student)  # theirs now: left alone
    assert not caches.seed_gorun_cache(tmp_path / "none", tmp_path / "other")


def _dockerfile_env(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            key, _, value = line[4:].partition("=")
            env[key] = value
    return env


def _dockerfile_runs(text: str) -> list[str]:
    """The Dockerfile's RUN instructions, continuation lines joined, spaces squeezed, in order."""
    joined = text.replace("\\\n", " ")
    return [" ".join(line[4:].split()) for line in joined.splitlines() if line.startswith("RUN ")]


def _quantity(text: str | int | float) -> float:
    """A Kubernetes / JupyterHub memory quantity in bytes (1G = 2**30, as JupyterHub reads it)."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    text = str(text)
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def test_the_image_warms_the_machine_wide_cache_after_the_install() -> None:
    """The image's build cache is the package's machine-wide one (issue 23's command), made
    after the install (its entries are for that toolchain and that gorun), and the
    student's GOCACHE is seeded from it by the package, as the student, in the image."""
    dockerfile = (ROOT / "classroom" / "Dockerfile").read_text()
    runs = _dockerfile_runs(dockerfile)
    install = runs.index(settings.INSTALL_COMMAND)
    # from outside the checkout, or python would warm the checkout's display package
    warm = runs.index("cd / && python -m gorun_kernel warm --machine")
    assert warm > install
    (seed,) = [i for i, r in enumerate(runs) if "python -m gorun_kernel warm --seed" in r]
    assert seed > warm and "cd / && runuser -u ${NB_USER} --" in runs[seed], runs[seed]
    image_env = _dockerfile_env(dockerfile)
    assert {k: image_env.get(k) for k in settings.image_env()} == settings.image_env()
    assert image_env["GOCACHE"] == str(settings.IMAGE_CACHE_ROOT / "go-build")
    assert not {"GORUN_CACHE", "GORUN_MACHINE_CACHE"} & set(image_env), image_env
    # The class's caches add only the module cache (no build cache of their own).
    (fill,) = [r for r in runs if "python -m classroom.caches" in r]
    assert "--gomodcache" in fill and "--gocache" not in fill, fill
    # Every standard package the class's exercises import is one the warm-up compiles.
    from gorun_kernel.build.warm import TIERS

    assert set(settings.WARM_PACKAGES) <= {p for tier in TIERS for p in tier}


def test_container_and_z2jh_config_match_the_local_settings() -> None:
    dockerfile = (ROOT / "classroom" / "Dockerfile").read_text()
    assert f"RUN {settings.INSTALL_COMMAND}" in dockerfile
    config = yaml.safe_load((ROOT / "classroom" / "config.yaml").read_text())
    user = config["singleuser"]
    # The image: the one the Dockerfile builds, tagged with the package's version, as the
    # README's build command names it.
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert user["image"] == {"name": settings.IMAGE_NAME, "tag": version}
    readme = (ROOT / "classroom" / "README.md").read_text()
    assert f"-t {settings.IMAGE_NAME}:{version} ." in readme
    assert f"-t {settings.IMAGE_NAME}:{version} ." in dockerfile
    assert f"ARG NB_UID={user['uid']}" in dockerfile  # the user who reads the image's caches
    # Limits: the class's, enforced there by the pod's cgroup; guarantees within them.
    assert user["memory"]["limit"] == settings.MEM_LIMIT
    assert float(user["cpu"]["limit"]) == settings.CPU_LIMIT
    assert _quantity(user["memory"]["guarantee"]) <= _quantity(settings.MEM_LIMIT)
    assert float(user["cpu"]["guarantee"]) <= settings.CPU_LIMIT
    # The kernel: its program limits set once for every student, and nothing that takes
    # a kernel off the image's caches; the notebook opened is the exercise, in the Go
    # kernel that `pip install` registers.
    assert user["extraEnv"] == settings.KERNEL_ENV
    assert not set(settings.CACHE_VARIABLES) & set(user["extraEnv"])
    assert user["defaultUrl"] == "/lab"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    spec_targets = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert spec_targets["kernel.json"] == "share/jupyter/kernels/gorun/kernel.json"
    notebook = json.loads((ROOT / "notebooks" / "classroom.ipynb").read_text())
    assert notebook["metadata"]["kernelspec"]["name"] == "gorun"
    # The exercise is handed out from where the image keeps it (a home volume hides the
    # image's /home/jovyan), the same files the local Hub hands out.
    hook = " ".join(user["lifecycleHooks"]["postStart"]["exec"]["command"])
    source = settings.IMAGE_CACHE_ROOT / "exercise"
    assert f"{source}/*" in hook and '"$HOME"' in hook
    for path in hub.EXERCISE_FILES:
        assert f"{path.relative_to(ROOT)}" in dockerfile and str(source) in dockerfile
    # Idle culling, and the chart version the docs and config.yaml name.
    assert config["cull"] == {"enabled": True, "timeout": settings.CULL_TIMEOUT}
    chart = f"--version {settings.Z2JH_CHART}"
    assert chart in (ROOT / "classroom" / "config.yaml").read_text()
    kubernetes = readme.split("## On Kubernetes", 1)[1]
    assert chart in kubernetes and "helm template" in kubernetes and "helm lint" in kubernetes
    assert settings.INSTALL_COMMAND in readme.split("## On one machine", 1)[1]


@pytest.mark.parametrize(
    ("cell", "status", "ename", "output", "problem"),
    [
        (exercise.EXERCISE[2], "ok", "", "4 of 4 cases pass\n", ""),
        (exercise.EXERCISE[2], "ok", "", "3 of 4 cases pass\n", "not in the output"),
        (exercise.EXERCISE[3], "ok", "", "", "but the cell succeeded"),
        (exercise.EXERCISE[3], "error", "ExitError", "", "expected BuildError"),
        (exercise.EXERCISE[1], "error", "InternalError", "", "failed: InternalError"),
    ],
)
def test_a_cell_run_is_judged_by_what_the_exercise_expects(cell, status, ename, output, problem):
    run = CellRun(cell, status=status, ename=ename, output=output)
    run.judge()
    assert (problem in run.problem) if problem else run.problem == ""


def test_only_an_environment_every_user_may_run_is_usable_by_students(tmp_path: Path) -> None:
    open_dir = Path(tempfile.mkdtemp(prefix="gorun-class-env-", dir="/var/tmp"))
    try:
        open_dir.chmod(0o755)
        private = open_dir / "root"
        for d in (open_dir / "opt" / "bin", private / "bin"):
            d.mkdir(parents=True)
            (d / "python").write_text("")
            (d / "python").chmod(0o755)
        private.chmod(0o700)  # as /root
        assert userenv.usable_by_all(open_dir / "opt" / "bin" / "python", execute=True)
        assert userenv.first_unusable(open_dir / "opt" / "bin" / "python") is None
        assert not userenv.usable_by_all(private / "bin" / "python", execute=True)
        assert userenv.first_unusable(private / "bin" / "python") == private
        (open_dir / "opt" / "bin" / "python").chmod(0o700)  # not executable by others
        assert not userenv.usable_by_all(open_dir / "opt" / "bin" / "python", execute=True)
        # the Hub says so before it starts anything
        options = ClassOptions(
            class_dir=tmp_path / "class",
            python=str(private / "bin" / "python"),
            unix_users=["root"],
        )
        expected = "classroom.userenv" if os.geteuid() == 0 else "must run as root"
        with pytest.raises(ClassroomError, match=expected):
            Classroom(options).start()
        assert not (tmp_path / "class").exists()
    finally:
        (open_dir / "root").chmod(0o755)
        shutil.rmtree(open_dir)
