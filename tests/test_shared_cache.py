"""Kernels sharing one executable cache (issue 22 item 17).

The default cache (~/.cache/gorun_kernel) is shared by all of a user's kernels.
One kernel's pruning must never remove a binary another kernel is about to run
(seen: 1 cell in 50, "cannot start ...: No such file or directory", two kernels
with GORUN_CACHE_MAX_MB=1). Two real kernels, the real go command.
"""

from __future__ import annotations

import pytest
from kernel_client import execute, start

pytestmark = pytest.mark.e2e


def binaries(cache) -> set[str]:
    return {p.name for p in (cache / "exe").iterdir() if len(p.name) == 40}


def test_a_kernel_never_prunes_the_binary_another_kernel_is_about_to_run(tmp_path):
    cache = tmp_path / "cache"
    env = {"GORUN_CACHE": str(cache), "GORUN_CACHE_MAX_MB": "1", "GORUN_WARM": "0"}
    kernels = [start(env=env), start(env=env)]
    try:
        (_, a), (_, b) = kernels
        r = execute(a, 'fmt.Println("kernel a")')
        assert (r.status, r.stream()) == ("ok", "kernel a\n")
        a_binary = binaries(cache)
        assert len(a_binary) == 1
        # b's build stores a binary of its own, over the 1 MB bound: b prunes the
        # oldest, which is a's, the one a runs again next.
        r = execute(b, 'fmt.Println("kernel b")')
        assert (r.status, r.stream()) == ("ok", "kernel b\n")
        assert a_binary < binaries(cache), "b pruned the binary a is about to run"
        r = execute(a, 'fmt.Println("kernel a")')
        assert (r.status, r.stream()) == ("ok", "kernel a\n")
        status = r.of_type("display_data")[-1]["data"]["text/plain"]
        assert "cached" in status, status
    finally:
        for km, kc in kernels:
            kc.stop_channels()
            km.shutdown_kernel(now=False)
