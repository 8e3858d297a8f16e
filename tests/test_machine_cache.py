"""The machine-wide warmed cache (`python -m gorun_kernel warm --machine`), with real users.

The cache is filled once by root, as an administrator or an image build would;
then kernels run as new users (useradd; the kernel started through runuser, its
interpreter the system's Python 3 with the test venv's packages, since the venv's
own lives under root's home) and a first cell's build must find it:

- found with no configuration (its default place), and seeded into the user's GOCACHE;
- never written by a user's kernel (owners, modes, contents and times unchanged);
- a user who cannot read it gets a kernel that works as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client import KernelManager
from kernel_client import START_TIMEOUT, execute
from unix_users import end_processes

from gorun_kernel.build import machinecache
from gorun_kernel.build.toolchain import find_toolchain

SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
SITE_PACKAGES = next(p for p in sys.path if p.endswith("site-packages"))
REPO = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="users and runuser: Linux"),
    pytest.mark.skipif(
        not hasattr(os, "geteuid") or os.geteuid() != 0,
        reason="creates users (useradd) and runs their kernels (runuser): needs root",
    ),
    pytest.mark.skipif(
        not (shutil.which("useradd") and shutil.which("runuser")), reason="no useradd/runuser"
    ),
    pytest.mark.skipif(
        not os.access(SYSTEM_PYTHON, os.X_OK),
        reason=f"no {SYSTEM_PYTHON}: another user needs an interpreter of this version",
    ),
]

# The kernel as the user: site-packages of the tests' venv, the repository's package.
BOOT = (
    "import runpy, site, sys; site.addsitedir(sys.argv[1]); sys.path.insert(0, sys.argv[2]); "
    "sys.argv = ['gorun_kernel', '-f', sys.argv[3]]; "
    "runpy.run_module('gorun_kernel', run_name='__main__')"
)
# Run as root by jupyter_client: hand the connection file to the user, then become them.
AS_USER = (
    "import os, pwd, sys; u = pwd.getpwnam(sys.argv[1]); "
    "os.chown(sys.argv[2], u.pw_uid, u.pw_gid); "
    f"os.execv({shutil.which('runuser')!r}, ['runuser', '-u', sys.argv[1], '--', *sys.argv[3:]])"
)
HELLO = 'import "fmt"\n\nfmt.Println("hello from", 6*7)'


def snapshot(root: Path) -> dict[str, tuple[int, int, int, float, str]]:
    """Every file of the machine cache: owner, mode, size, mtime, content hash."""
    seen = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        seen[str(path.relative_to(root))] = (st.st_uid, st.st_mode, st.st_size, st.st_mtime, digest)
    return seen


@pytest.fixture(scope="module")
def filled(machine_cache: Path) -> Path:
    """`python -m gorun_kernel warm --machine`, run once by root, in a place users can
    read (conftest's session fixture: test_classroom_users starts from it too)."""
    return machine_cache


@pytest.fixture
def user() -> Iterator[pwd.struct_passwd]:
    """A new user with an empty home: no GOCACHE, no gorun cache."""
    name = f"gorunt{uuid.uuid4().hex[:8]}"
    home = Path(tempfile.mkdtemp(prefix=f"{name}-", dir="/var/tmp"))
    home.rmdir()
    subprocess.run(["useradd", "-m", "-d", str(home), "-s", "/bin/sh", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        end_processes(pwd.getpwnam(name).pw_uid)  # the test's kernel's, if left
        subprocess.run(["userdel", "-r", name], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def kernel_as(account: pwd.struct_passwd, env: dict[str, str]) -> Iterator[object]:
    """A Go kernel run by that user, through jupyter_client, on sockets in a directory of theirs."""
    where = Path(tempfile.mkdtemp(prefix="gorun-user-kernel-", dir="/var/tmp"))
    os.chown(where, account.pw_uid, account.pw_gid)
    km = KernelManager(kernel_name="gorun", transport="ipc", ip=str(where / "kernel"))
    km.kernel_spec.argv = [
        sys.executable, "-c", AS_USER, account.pw_name, "{connection_file}",
        SYSTEM_PYTHON, "-c", BOOT, SITE_PACKAGES, str(REPO), "{connection_file}",
    ]  # fmt: skip
    tc = find_toolchain()
    user_env = {
        "HOME": account.pw_dir, "USER": account.pw_name, "LANG": "C.UTF-8",
        "PATH": os.pathsep.join([str(Path(tc.go).parent), "/usr/bin", "/bin"]),
        "PYTHONPATH": os.pathsep.join([str(REPO), SITE_PACKAGES]),  # (the warm-up's too)
        "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOSUMDB": "off", "GOFLAGS": "-buildvcs=false",
        **env,
    }  # fmt: skip
    km.start_kernel(env=user_env, cwd=account.pw_dir)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=START_TIMEOUT)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        shutil.rmtree(where, ignore_errors=True)


def gocache_of(account: pwd.struct_passwd) -> Path:
    return Path(account.pw_dir, ".cache", "go-build")


def first_cell(account: pwd.struct_passwd, env: dict[str, str]) -> tuple[str, float]:
    with kernel_as(account, env) as kc:
        start = time.monotonic()
        result = execute(kc, HELLO, timeout=900)
        took = time.monotonic() - start
    assert result.status == "ok", result.messages
    return result.stream(), took


def entries(gocache: Path) -> set[str]:
    return {p.name for p in gocache.glob("??/*") if p.is_file()}


def test_a_new_users_kernel_seeds_from_the_machine_cache_and_never_writes_it(
    filled: Path, user: pwd.struct_passwd
) -> None:
    before = snapshot(filled)
    out, took = first_cell(user, {"GORUN_MACHINE_CACHE": str(filled)})
    assert out == "hello from 42\n"
    mine = gocache_of(user)
    stamp = (filled / machinecache.STAMP).read_text()
    assert (mine / machinecache.MARKER).read_text() == stamp  # seeded, from this fill
    assert entries(filled / machinecache.GOCACHE) <= entries(mine)  # every entry, the user's own
    owners = {p.stat().st_uid for p in mine.rglob("*") if p.is_file()}
    assert owners in ({user.pw_uid}, {user.pw_uid, 0})  # copies (or links, where allowed)
    assert snapshot(filled) == before, "a user's kernel changed the machine cache"
    # the first cell compiled nothing of the standard library: only the cell
    print(f"a new user's first cell, seeded: {took:.2f} s")


def test_the_machine_cache_is_found_in_its_default_place_with_no_configuration(
    filled: Path, user: pwd.struct_passwd
) -> None:
    default = machinecache.DEFAULT
    if default.exists():
        pytest.skip(f"{default} is this machine's own machine cache: the test leaves it alone")
    default.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(filled, default, copy_function=os.link)  # the same files, the same modes
    try:
        env = {"GORUN_WARM": "0"}  # (the seed is not the warm-up's: it happens even so)
        out, _ = first_cell(user, env)
        assert out == "hello from 42\n"
        mine = gocache_of(user)
        assert (mine / machinecache.MARKER).read_text() == (default / "stamp").read_text()
        assert entries(default / machinecache.GOCACHE) <= entries(mine)
    finally:
        shutil.rmtree(default, ignore_errors=True)


def test_a_user_who_cannot_read_the_machine_cache_gets_a_kernel_that_works_as_before(
    filled: Path, user: pwd.struct_passwd
) -> None:
    closed = filled.parent / "closed"
    shutil.copytree(filled, closed / "gorun_kernel", copy_function=os.link)
    closed.chmod(0o700)  # root's alone
    try:
        env = {"GORUN_MACHINE_CACHE": str(closed / "gorun_kernel"), "GORUN_WARM": "0"}
        out, _ = first_cell(user, env)
        assert out == "hello from 42\n"
        mine = gocache_of(user)
        assert not (mine / machinecache.MARKER).exists()
        assert entries(mine), "the cell's build filled the user's own cache as before"
    finally:
        shutil.rmtree(closed, ignore_errors=True)


def test_warm_machine_leaves_a_cache_other_users_read_and_only_its_owner_writes(
    filled: Path,
) -> None:
    for path in [filled, *filled.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
    assert json.dumps(machinecache.stamp(filled)).startswith('"go')
