"""What tests that create Unix users share: finding and ending a test user's processes."""

from __future__ import annotations

import contextlib
import os
import signal
import time


def processes_of(uid: int) -> list[int]:
    """The pids of every process that user runs now."""
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                found.append(int(entry))
    return found


def end_processes(uid: int, timeout: float = 30) -> None:
    """Kill what is left of a test user's processes and wait until they are gone
    (userdel refuses a user who still runs something)."""
    deadline = time.monotonic() + timeout
    while (left := processes_of(uid)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)  # until their parents have reaped them
