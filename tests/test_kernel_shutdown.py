"""Shutdown and restart are as quick as a python3 kernel's, every time."""

from __future__ import annotations

import time

import pytest
from kernel_client import start

pytestmark = pytest.mark.e2e


def test_twenty_shutdowns_each_exit_within_two_seconds():
    """Each kernel process exits by itself within 2 s of the shutdown request.

    (A bound on a hang, not a speed figure: a kernel that loses ipykernel's
    shutdown race waits out jupyter_client's grace period and is killed.)
    """
    took = []
    for _ in range(20):
        km, kc = start()
        proc = km.provisioner.process
        kc.stop_channels()
        sent = time.monotonic()
        km.shutdown_kernel(now=False)  # request, then wait; SIGTERM after half the wait
        took.append((round(time.monotonic() - sent, 2), proc.wait(timeout=30)))
    assert all(code == 0 and t < 2.0 for t, code in took), took
