"""The re-run memo's view of go.mod and go.sum (build/rerun.py, StampedFile): their
bytes, read again whenever a stamp changed or was too young to vouch for them."""

from __future__ import annotations

import os

import pytest

from gorun_kernel.build import localmods, rerun, treewatch
from gorun_kernel.build.rerun import StampedFile


def test_the_bytes_are_read_again_after_a_same_size_same_time_rewrite(tmp_path, monkeypatch):
    monkeypatch.setattr(localmods, "RACY_NS", 0)
    path = tmp_path / "go.mod"
    path.write_text("module gorun\n\ngo 1.26.8\n")
    watched = StampedFile(path)
    assert watched.read() == b"module gorun\n\ngo 1.26.8\n"
    st = path.stat()
    path.write_text("module gorun\n\ngo 1.21.0\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # its change time still moves
    assert watched.read() == b"module gorun\n\ngo 1.21.0\n"


def test_an_unchanged_old_file_is_stat_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(localmods, "RACY_NS", 0)
    reads = []
    real = rerun.read
    monkeypatch.setattr(rerun, "read", lambda p: reads.append(p) or real(p))
    path = tmp_path / "go.sum"
    path.write_text("x v1 h1:abc\n")
    watched = StampedFile(path)
    assert watched.read() == watched.read() == b"x v1 h1:abc\n"
    assert len(reads) == 1


def test_a_young_file_is_read_every_time(tmp_path, monkeypatch):
    monkeypatch.setattr(localmods, "RACY_NS", 3600 * 10**9)
    monkeypatch.setattr(localmods, "LOCAL_RACY_NS", 3600 * 10**9)
    path = tmp_path / "go.mod"
    path.write_text("a\n")
    watched = StampedFile(path)
    assert watched.read() == b"a\n" and watched._stamp is None
    with open(path, "r+") as f:  # the same size, within the same tick of the clock
        f.write("b\n")
    assert watched.read() == b"b\n"


def test_a_missing_file(tmp_path):
    assert StampedFile(tmp_path / "go.mod").read() is None


def test_the_window_of_youth_is_the_file_systems(tmp_path):
    # This machine's file systems keep the kernel's clock (ticks of 10 ms at most);
    # another machine's may keep times as coarse as 2 s.
    dev = tmp_path.stat().st_dev
    if not treewatch.local_device(dev):
        pytest.skip(f"{tmp_path} is not on one of this machine's own file systems")
    assert localmods.racy_ns([dev]) == localmods.LOCAL_RACY_NS < localmods.RACY_NS
    assert localmods.racy_ns([dev, os.makedev(0, 999999)]) == localmods.RACY_NS  # no such mount
