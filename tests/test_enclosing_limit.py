"""The memory limit a kernel runs under (a container's), read from cgroup files (pure).

A container mounts its own cgroup at the root of /sys/fs/cgroup; these trees are laid
out as podman's (v1, this machine) and a cgroup v2 host's are.
"""

from __future__ import annotations

from pathlib import Path

from gorun_kernel.proc.enclosing import enclosing_limit


def test_a_v1_container_limit_and_its_oom_kills(tmp_path: Path) -> None:
    memory = tmp_path / "memory"
    memory.mkdir()
    (memory / "memory.limit_in_bytes").write_text("1073741824\n")
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    limit = enclosing_limit.__wrapped__(tmp_path)
    assert limit is not None and limit.version == 1
    assert str(limit) == "1 GiB" and limit.oom_kills() == 2
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert limit.oom_kills() == 3


def test_a_v2_limit_and_its_oom_kills(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("536870912\n")
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    limit = enclosing_limit.__wrapped__(tmp_path)
    assert limit is not None and limit.version == 2
    assert str(limit) == "512 MiB" and limit.oom_kills() == 1


def test_no_limit_is_none(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert enclosing_limit.__wrapped__(tmp_path) is None
    assert enclosing_limit.__wrapped__(tmp_path / "absent") is None
