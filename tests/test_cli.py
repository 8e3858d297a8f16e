"""`python -m gorun_kernel`: our help and commands, and the kernel as its kernelspec starts it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kernel_client import kernel_info, running

KERNEL_JSON = Path(__file__).parent.parent / "kernel.json"


def gorun_kernel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gorun_kernel", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("word", ["--help", "-h", "help"])
def test_help_is_ours_naming_the_commands_and_how_the_kernel_starts(word):
    res = gorun_kernel(word)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: python -m gorun_kernel [COMMAND [ARGS]]\n")
    commands = res.stdout.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split()[0] for line in commands.splitlines() if not line.startswith(" " * 4)] == [
        "install", "warm", "help",
    ]  # fmt: skip
    assert "python -m gorun_kernel -f CONNECTION_FILE" in res.stdout
    assert "IPython" not in res.stdout and "ipython-kernel" not in res.stdout  # not ipykernel's


def test_an_unknown_command_is_refused_with_the_usage():
    res = gorun_kernel("instal")
    assert res.returncode != 0
    assert res.stderr.startswith("usage: python -m gorun_kernel")
    assert res.stderr.rstrip().endswith("python -m gorun_kernel: unknown command 'instal'")


@pytest.mark.e2e
def test_no_command_starts_the_kernel_with_the_argv_of_kernel_json():
    argv = json.loads(KERNEL_JSON.read_text())["argv"]
    assert argv[1:3] == ["-m", "gorun_kernel"]
    # the repository's spec, this Python
    with running(argv=[sys.executable, *argv[1:]]) as (_, kc):
        assert kernel_info(kc)["language_info"]["name"] == "go"
