"""Warming go's build cache: `python -m gorun_kernel warm`, and the background warm-up
of the kernel and the magic (niced, its own process group, gone when a cell comes).

Each test has an empty GOCACHE of its own, as a fresh machine has.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kernel_client import execute, running, start, stop

from gorun_kernel.build import warm

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="reads processes from /proc (Linux)"
    ),
]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 180) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (state is [0], ppid [1], pgid [2])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields  # a zombie has ended


def members(pgid: int) -> dict[int, list[str]]:
    """The live processes of a process group, with their stat fields (read once)."""
    found = {}
    for p in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        s = stat(p)
        if s is not None and int(s[2]) == pgid:
            found[p] = s
    return found


def group(pgid: int) -> list[int]:
    return list(members(pgid))


def all_niced(pgid: int) -> bool:
    """Every process of the group (the warm-up, go, compile...) runs at nice 19."""
    found = members(pgid)
    return bool(found) and all(int(s[16]) == 19 for s in found.values())


def warm_up_of(parent: int) -> tuple[int, str] | None:
    """The background warm-up started by `parent`: (pid, its work directory), once go runs
    (niced, it may take a while on a busy machine)."""
    for p in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        s = stat(p)
        if s is None or int(s[1]) != parent:
            continue
        try:
            argv = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--background" in argv and len(group(p)) > 1:  # and its go build has started
            return p, argv[argv.index(b"--background") + 1].decode()
    return None


@pytest.fixture
def empty_gocache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "gocache"
    cache.mkdir()
    monkeypatch.setenv("GOCACHE", str(cache))
    monkeypatch.setenv("GORUN_WARM", "1")
    return cache


def compiled(output: str) -> set[str]:
    """The packages go compiled, from `go build -x` output."""
    return set(re.findall(r"/compile .*?-p (\S+)", output))


# Compiling the first tier on an empty GOCACHE: its own bound is 600 s (a loaded
# machine); pytest's default 300 s cut it short once in a full run here.
@pytest.mark.timeout(900)
def test_warm_fills_the_cache_entries_a_first_cell_uses(empty_gocache, kc_factory):
    first_tier = warm.TIERS[0]
    proc = subprocess.run(
        [sys.executable, "-m", "gorun_kernel", "warm", *first_tier],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"GOCACHE={empty_gocache}" in proc.stdout and "warm: done in" in proc.stdout
    kc = kc_factory()
    # A first cell, printing and showing a value: go compiles its main package only.
    for cell in ('fmt.Println("hello")', "6 * 7"):
        r = execute(kc, "%%gorun -x\n" + cell)
        assert r.status == "ok", r.messages
        assert compiled(r.stream("stderr") + r.stream()) == {"main"}, cell


def test_the_kernel_warms_in_the_background_until_a_cell_comes(empty_gocache, kc_factory):
    kc = kc_factory()
    kernel_pid = kc.kernel_pid
    pid, work = wait_for(lambda: warm_up_of(kernel_pid), "the warm-up's go build runs")
    assert int(stat(pid)[2]) == pid  # a process group of its own
    assert all_niced(pid)  # go and compile too: low priority
    r = execute(kc, "%help")  # any cell, even one that builds nothing
    assert r.status == "ok" and not Path(work).exists()
    # SIGKILL was sent before the cell ran; go's children take a moment to die
    # (niced 19: on a loaded machine a dying compiler gets little CPU to exit with).
    wait_for(lambda: not group(pid), "the warm-up's process group is gone")


def test_a_killed_kernels_warm_up_ends_too(empty_gocache):
    # The warm-up starts once the kernel has answered kernel_info (ready).
    with running(now=True) as (km, _):
        kernel_pid = km.provisioner.process.pid
        pid, work = wait_for(lambda: warm_up_of(kernel_pid), "the warm-up's go build runs")
        os.kill(kernel_pid, signal.SIGKILL)  # nothing of the kernel's own code runs
        wait_for(lambda: not group(pid), "the warm-up's process group is gone")
        wait_for(lambda: not Path(work).exists(), "the warm-up's directory is removed")


def test_load_ext_warms_and_the_magic_cancels(ip, empty_gocache, monkeypatch):
    import gorun_kernel

    warmer = warm.Warmer()  # this process's one warm-up (the ip fixture's load_ext: off)
    monkeypatch.setattr(warm, "WARMER", warmer)
    gorun_kernel.load_ipython_extension(ip)  # what %load_ext does
    assert warmer.proc is not None and warmer.work is not None
    pid, work = warmer.proc.pid, warmer.work
    wait_for(lambda: len(group(pid)) > 1, "the warm-up's go build runs")
    assert all_niced(pid)
    ip.run_cell("%%gorun --bogus\nfmt.Println(1)\n")  # a cell, even one refused unbuilt
    assert not work.exists()
    wait_for(lambda: not group(pid), "the warm-up's process group is gone")


@pytest.fixture
def kc_factory():
    """Start a kernel (with the test's environment) when the test asks; shut it down after."""
    started = []

    def start_one():
        km, kc = start()
        kc.kernel_pid = km.provisioner.process.pid
        started.append((km, kc))
        return kc

    yield start_one
    for km, kc in started:
        stop(km, kc)


def test_warm_of_a_package_that_is_not_there_says_so_and_fails():
    res = subprocess.run(
        [sys.executable, "-m", "gorun_kernel", "warm", "fmt", "nosuch/pkg"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode != 0
    assert res.stderr.startswith("warm: package not found: nosuch/pkg (not in the standard library")
    assert "main.go" not in res.stdout + res.stderr  # not go's words about our program
    # Standard packages alone still warm (the user's GOCACHE: already warm, quick).
    res = subprocess.run(
        [sys.executable, "-m", "gorun_kernel", "warm", "fmt", "strings"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "warm: fmt, strings: " in res.stdout and "warm: done in" in res.stdout


def test_warm_seed_copies_the_machine_cache_into_this_users_caches(tmp_path: Path):
    """`warm --seed` (an image's user, ahead of time): the machine cache's entries and
    index land in this user's caches, marked with its stamp; a machine cache of another
    Go is not used, and says so."""
    from gorun_kernel.build import machinecache
    from gorun_kernel.build.toolchain import find_toolchain

    machine = tmp_path / "machine"
    (machine / machinecache.GOCACHE / "0a").mkdir(parents=True)
    (machine / machinecache.GOCACHE / "0a" / "0a1b-d").write_bytes(b"compiled package")
    (machine / machinecache.GORUN / "stdlib").mkdir(parents=True)
    (machine / machinecache.GORUN / "stdlib" / "index").write_text("fmt")
    stamp = f"{find_toolchain().version} 2026-01-01T00:00:00+00:00\n"
    (machine / machinecache.STAMP).write_text(stamp)
    env = {
        **os.environ, "GORUN_MACHINE_CACHE": str(machine),
        "GOCACHE": str(tmp_path / "user" / "go-build"), "GORUN_CACHE": str(tmp_path / "gorun"),
    }  # fmt: skip
    argv = [sys.executable, "-m", "gorun_kernel", "warm", "--seed"]
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == f"warm: GOCACHE={env['GOCACHE']} seeded from {machine}\n"
    mine = Path(env["GOCACHE"])
    assert (mine / "0a" / "0a1b-d").read_bytes() == b"compiled package"
    assert (mine / machinecache.MARKER).read_text() == stamp
    assert (tmp_path / "gorun" / "stdlib" / "index").read_text() == "fmt"
    (machine / machinecache.STAMP).write_text("go1.0 2026-01-01T00:00:00+00:00\n")
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    version = find_toolchain().version
    said = f"warm: no machine-wide cache for {version} at {machine} (made by go1.0)\n"
    assert res.stderr == said
