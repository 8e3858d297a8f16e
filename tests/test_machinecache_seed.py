"""Seeding a user's go build cache from the machine-wide one (machinecache.py): pure, files only."""

from __future__ import annotations

from pathlib import Path

from gorun_kernel.build import machinecache


def machine(tmp_path: Path, version: str = "go1.99") -> Path:
    root = tmp_path / "machine"
    (root / "go-build" / "0a").mkdir(parents=True)
    (root / "go-build" / "0a" / "0a1b-d").write_bytes(b"compiled package")
    (root / "go-build" / "0a" / "0a1b-a").write_bytes(b"action")
    (root / "go-build" / "trim.txt").write_text("1700000000\n")
    machinecache.publish(root, version, "2026-12-07T00:00:00+00:00")
    return root


def test_seed_gives_every_entry_once_and_then_only_reads_the_marker(tmp_path: Path) -> None:
    root = machine(tmp_path)
    mine = tmp_path / "home" / ".cache" / "go-build"
    assert machinecache.seed(mine, "go1.99", root)
    assert (mine / "0a" / "0a1b-d").read_bytes() == b"compiled package"
    assert (mine / "trim.txt").stat().st_ino != (root / "go-build" / "trim.txt").stat().st_ino
    assert (mine / machinecache.MARKER).read_text() == (root / "stamp").read_text()
    (mine / "0a" / "0a1b-d").unlink()
    assert not machinecache.seed(mine, "go1.99", root)  # seeded from this stamp already
    assert not (mine / "0a" / "0a1b-d").exists()


def test_a_new_fill_seeds_what_is_missing_and_keeps_the_users_entries(tmp_path: Path) -> None:
    root = machine(tmp_path)
    mine = tmp_path / "gocache"
    (mine / "0a").mkdir(parents=True)
    (mine / "0a" / "0a1b-d").write_bytes(b"the user's own")
    assert machinecache.seed(mine, "go1.99", root)
    assert (mine / "0a" / "0a1b-d").read_bytes() == b"the user's own"
    assert (mine / "0a" / "0a1b-a").read_bytes() == b"action"


def test_no_seed_without_a_stamp_for_another_go_or_with_gocache_off(tmp_path: Path) -> None:
    root = machine(tmp_path)
    assert not machinecache.seed(tmp_path / "a", "go1.98", root)  # another toolchain's
    assert not machinecache.seed("off", "go1.99", root)
    (root / "stamp").unlink()  # a fill under way, or never finished
    assert not machinecache.seed(tmp_path / "b", "go1.99", root)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_publish_makes_it_readable_by_all_and_writable_by_its_owner(tmp_path: Path) -> None:
    root = machine(tmp_path)
    for path in [root, *root.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path
