"""A new user's first cell (new HOME, empty GOCACHE), with and without the machine-wide
warmed cache (`python -m gorun_kernel warm --machine`), 1 and 4 users starting together.

    sudo python benchmarks/first_cell_machine.py --machine-cache DIR [--reps 2] [--out F]

DIR is a filled machine cache (the command above with GORUN_MACHINE_CACHE=DIR). Each
user is new (useradd, a home of their own), their kernel run as them (runuser), as in
tests/test_machine_cache.py; the time is from execute_request to idle of the first
cell, 5 s after the kernel is ready (a user opening a notebook). "Without": the same
users with no machine cache, the kernel's background warm-up on, as today.
Interleaved: with, without, with, without...
"""

from __future__ import annotations

import argparse
import os
import platform
import pwd
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from kernel_client import execute
from tables import report
from test_machine_cache import HELLO, end_processes, kernel_as


def new_user() -> pwd.struct_passwd:
    name = f"gorunb{uuid.uuid4().hex[:8]}"
    home = Path(tempfile.mkdtemp(prefix=f"{name}-", dir="/var/tmp"))
    home.rmdir()
    subprocess.run(["useradd", "-m", "-d", str(home), "-s", "/bin/sh", name], check=True)
    return pwd.getpwnam(name)


def remove(account: pwd.struct_passwd) -> None:
    end_processes(account.pw_uid)
    subprocess.run(["userdel", "-r", account.pw_name], check=False, capture_output=True)


def first_cells(n: int, env: dict[str, str]) -> list[float]:
    users = [new_user() for _ in range(n)]
    times: list[float] = []
    errors: list[BaseException] = []

    def one(account: pwd.struct_passwd) -> None:
        try:
            with kernel_as(account, env) as kc:
                time.sleep(5)  # the user opens a notebook, then runs the first cell
                start = time.monotonic()
                result = execute(kc, HELLO, timeout=900)
                times.append(time.monotonic() - start)
                assert result.status == "ok", result.messages
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for u in users:
        remove(u)
    if errors:
        raise errors[0]
    return times


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machine-cache", required=True)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--out")
    args = parser.parse_args()
    modes = {
        "after `warm --machine`": {"GORUN_MACHINE_CACHE": args.machine_cache},
        "without it (background warm-up, as before)": {"GORUN_MACHINE_CACHE": "/nonexistent"},
    }
    results: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.reps):
        for n in (1, 4):
            for mode, env in modes.items():
                results.setdefault((mode, n), []).extend(first_cells(n, env))
    load = os.getloadavg()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}; "
        f"{args.reps} repetitions of each, interleaved; median (min-max) over every user's "
        f"first cell; load average at the end {load[0]:.1f} (other engineers' jobs).",
        "",
        "| a new user's first cell (new HOME, empty GOCACHE) | 1 user | 4 users together |",
        "| --- | --- | --- |",
        *(f"| {mode} | {fmt(results[(mode, 1)])} | {fmt(results[(mode, 4)])} |" for mode in modes),
    ]
    report(lines, args.out)


if __name__ == "__main__":
    main()
