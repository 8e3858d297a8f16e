"""Installing the kernelspec: `python -m gorun_kernel install [--user | --sys-prefix | --prefix P]`.

`pip install` already puts the spec in the environment's share/jupyter; this
is for installing it elsewhere, with this very Python in its argv.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from gorun_kernel.paths import RESOURCES_DIR

KERNEL_NAME = "gorun"
# The launcher's icons, next to kernel.json in the spec (also in pyproject's shared-data).
LOGOS = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")
RESOURCES = RESOURCES_DIR


def kernel_json(python: str = sys.executable) -> dict[str, object]:
    """The kernelspec; the repository's kernel.json is this with argv[0] "python"."""
    return {
        "argv": [python, "-m", "gorun_kernel", "-f", "{connection_file}"],
        "display_name": "Go (gorun)",
        "language": "go",
        "interrupt_mode": "signal",
        # ipykernel loads debugpy, which warns about frozen modules; this kernel
        # does not use it (its debugger is Delve), so the warning is only noise.
        "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        # JupyterLab enables its debugger for kernels whose spec says so (gorun_kernel/debug).
        "metadata": {"debugger": True},
    }


def install(user: bool = False, prefix: str | None = None) -> str:
    with tempfile.TemporaryDirectory() as td:
        Path(td, "kernel.json").write_text(json.dumps(kernel_json(), indent=2))
        for name in LOGOS:
            shutil.copyfile(RESOURCES / name, Path(td, name))
        return KernelSpecManager().install_kernel_spec(
            td, KERNEL_NAME, user=user, prefix=prefix, replace=True
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gorun_kernel install", description="Install the Go (gorun) kernelspec."
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument(
        "--sys-prefix", action="store_true", help=f"install into sys.prefix ({sys.prefix})"
    )
    where.add_argument("--prefix", help="install into this prefix (PREFIX/share/jupyter/kernels)")
    args = parser.parse_args(argv)
    prefix = sys.prefix if args.sys_prefix else args.prefix
    path = install(user=args.user or not prefix, prefix=prefix)
    print(f"Installed the {KERNEL_NAME} kernelspec in {path}")
