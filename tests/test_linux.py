"""gorun_kernel.proc.linux: prctl and the /proc walks, on real processes (no go, no kernel)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import time

import pytest

from gorun_kernel.proc import linux

pytestmark = pytest.mark.skipif(not linux.HAS_PRCTL, reason="Linux only (prctl, /proc)")


def _exited(pid: int, timeout: float) -> bool:
    """Whether process pid (not necessarily our child) ends within timeout seconds."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def test_descendants_finds_a_grandchild_and_children_only_the_child() -> None:
    # sh starts sleep and waits for it: sleep is sh's child, our grandchild.
    sh = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE)
    try:
        assert sh.stdout is not None
        grandchild = int(sh.stdout.readline())
        assert sh.pid in linux.children(os.getpid())
        assert grandchild not in linux.children(os.getpid())
        assert {sh.pid, grandchild} <= set(linux.descendants(os.getpid()))
        assert linux.descendants(sh.pid) == [grandchild]
    finally:
        sh.kill()
        sh.wait()
        os.kill(grandchild, 9)


def test_the_walks_of_a_process_that_is_gone_find_nothing() -> None:
    p = subprocess.Popen(["true"])
    p.wait()
    assert linux.children(p.pid) == []
    assert linux.descendants(p.pid) == []
    assert linux.thread_syscalls(p.pid) == []


def test_thread_syscalls_shows_a_process_blocked_in_read_of_fd_0() -> None:
    cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        # cat reaches its read(0, ...) a moment after it starts: wait for that state.
        deadline = time.monotonic() + 30
        seen: list[list[str]] = []
        while time.monotonic() < deadline:
            seen = linux.thread_syscalls(cat.pid)
            if any(len(f) >= 2 and f[0].isdigit() and int(f[1], 16) == 0 for f in seen):
                break
            time.sleep(0.01)
        else:
            pytest.fail(f"cat never showed a syscall on fd 0: {seen}")
    finally:
        cat.kill()
        cat.wait()


def test_open_fds_lists_the_descriptors_we_open() -> None:
    # (Not "and not after closing them": listing /proc/self/fd opens a descriptor itself,
    # which takes the lowest free number.)
    r, w = os.pipe()
    try:
        fds = linux.open_fds()
    finally:
        os.close(r)
        os.close(w)
    assert fds is not None
    assert {0, 1, 2, r, w} <= set(fds)


def test_started_at_is_this_process_start_and_none_for_no_process() -> None:
    started = linux.started_at(os.getpid())
    assert started is not None
    # /proc's clock ticks are 1/100 s; this process started before this test.
    assert started <= time.time()
    child = subprocess.Popen(["sleep", "60"])
    try:
        child_started = linux.started_at(child.pid)
        assert child_started is not None
        assert started - 1 <= child_started <= time.time() + 1
    finally:
        child.kill()
        child.wait()
    assert linux.started_at(child.pid) is None


def test_a_parent_death_signal_ends_the_process_when_its_parent_exits() -> None:
    # A child python forks a grandchild that arms the signal and then waits for ever;
    # the child exits: the kernel must then kill the grandchild.
    code = textwrap.dedent(
        """
        import os, signal, sys
        from gorun_kernel.proc import linux
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            linux.set_parent_death_signal(signal.SIGKILL)
            if os.getppid() != parent:
                os._exit(1)
            print(os.getpid(), flush=True)
            signal.pause()
            os._exit(0)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    grandchild = int(out.stdout)
    assert _exited(grandchild, 30), "the grandchild outlived its parent"


def test_a_subreaper_adopts_the_orphans_of_its_descendants() -> None:
    # A child python becomes a subreaper, starts sh, which starts a sleep and exits:
    # the orphaned sleep must be re-parented to the child python, not to init.
    code = textwrap.dedent(
        """
        import os, subprocess
        from gorun_kernel.proc import linux
        linux.become_child_subreaper()
        out = subprocess.run(["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True, check=True).stdout
        orphan = int(out)
        print(orphan in linux.children(os.getpid()), flush=True)
        os.kill(orphan, 9)
        os.waitpid(orphan, 0)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "True"


def test_a_child_forked_into_a_cgroup_is_born_there():
    from gorun_kernel.proc import cgroup

    box = cgroup.sandbox()
    group = box.run(None) if box is not None else None
    if group is None or group.born_in() is None:
        pytest.skip("no writable cgroup v2 hierarchy on this machine")
    # In a process of one thread, as the supervisor and the spawner are.
    script = textwrap.dedent(
        f"""
        import os
        from gorun_kernel.proc import linux
        fd = os.open({str(group.born_in())!r}, os.O_RDONLY | os.O_DIRECTORY)
        pid = linux.fork_into_cgroup(fd)
        if pid == 0:
            print(open("/proc/self/cgroup").read(), flush=True)
            os._exit(0)
        print("forked" if pid else "no clone3", flush=True)
        os.waitpid(pid, 0) if pid else None
        """
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    finally:
        group.end()
    if "no clone3" in out:
        pytest.skip("clone3 with CLONE_INTO_CGROUP is refused here (an older kernel, seccomp)")
    v2 = [line for line in out.splitlines() if line.startswith("0::")]
    assert v2 and v2[0].endswith(f"/{group.born_in().parent.name}/{group.born_in().name}")
    assert "forked" in out
