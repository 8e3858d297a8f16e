"""The re-run memo's view of go.mod and go.sum (build/rerun.py, StampedFile): their
bytes, read again whenever a stamp changed or was too young to vouch for them."""

from __future__ import annotations

import os

from gorun_kernel.build import localmods, rerun
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
    path = tmp_path / "go.mod"
    path.write_text("a\n")
    watched = StampedFile(path)
    assert watched.read() == b"a\n" and watched._stamp is None
    with open(path, "r+") as f:  # the same size, within the same tick of the clock
        f.write("b\n")
    assert watched.read() == b"b\n"


def test_a_missing_file(tmp_path):
    assert StampedFile(tmp_path / "go.mod").read() is None
