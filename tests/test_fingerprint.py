"""localmods.fingerprint: what the executable cache key sees of a module tree.

It runs on every cell (the display package's tree, and the library next to the
notebook), so it lists directories with os.scandir; these tests hold it to the
os.walk listing it replaced, entry for entry, on a tree with everything a walk
can meet: nested modules, skipped and hidden directories, symbolic links to
files and directories, a broken link.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gorun_kernel.build import localmods, treewatch
from gorun_kernel.build.localmods import _SKIP_DIRS, fingerprint


def walked(dirs: list[Path]) -> list[tuple[str, int, int]]:
    """The os.walk listing fingerprint gave before (the reference)."""
    seen: list[tuple[str, int, int]] = []
    for top in dirs:
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath != str(top) and "go.mod" in filenames:
                dirnames[:] = []
                continue
            dirnames[:] = sorted(
                d for d in dirnames if d not in _SKIP_DIRS and not d.startswith((".", "_"))
            )
            for name in sorted(filenames):
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                seen.append((os.path.join(dirpath, name), st.st_size, st.st_mtime_ns))
    return seen


def tree(root: Path) -> Path:
    files = {
        "go.mod": "module example.org/lib\n",
        "lib.go": "package lib\n",
        "b/b.go": "package b\n",
        "a/a.go": "package a\n",
        "a/deep/deeper/d.go": "package deeper\n",
        "a/z.txt": "zz",
        "nested/go.mod": "module example.org/nested\n",
        "nested/n.go": "package nested\n",
        ".git/HEAD": "ref",
        "_skip/s.go": "package skip\n",
        "testdata/t.txt": "t",
        "vendor/v.go": "package v\n",
        "node_modules/x.js": "x",
        ".hidden/h.go": "package h\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    outside = root.parent / f"{root.name}-outside"
    (outside / "o").mkdir(parents=True)
    (outside / "o" / "o.go").write_text("package o\n")
    (root / "linked_dir").symlink_to(outside / "o")
    (root / "linked_file.go").symlink_to(root / "lib.go")
    (root / "broken.go").symlink_to(root / "missing.go")
    return root


def test_the_listing_is_os_walks(tmp_path):
    lib = tree(tmp_path / "lib")
    assert fingerprint([lib]) == walked([lib])
    names = [os.path.relpath(p, lib) for p, _, _ in fingerprint([lib])]
    top = ["go.mod", "lib.go", "linked_file.go"]  # (linked_dir: a link, not walked)
    assert names == [*top, "a/a.go", "a/z.txt", "a/deep/deeper/d.go", "b/b.go"]


def test_several_trees_and_a_missing_one(tmp_path):
    one, two = tree(tmp_path / "one"), tree(tmp_path / "two")
    dirs = [one, tmp_path / "gone", two]
    assert fingerprint(dirs) == walked(dirs)


def test_an_edit_changes_it(tmp_path):
    lib = tree(tmp_path / "lib")
    before = fingerprint([lib])
    (lib / "a" / "a.go").write_text("package a // edited\n")
    assert fingerprint([lib]) != before


# -- snapshot: the fingerprint, and what tells it still holds (the re-run memo): --
# -- an inotify watch where it can be exact (treewatch.py), else the stamps       --


@pytest.fixture(params=["watch", "stamps"])
def checked_by(request, monkeypatch):
    """Each test twice: a tree checked by its watch, and by its stamps alone."""
    monkeypatch.setattr(localmods, "RACY_NS", 0)
    monkeypatch.setattr(treewatch, "ENABLED", request.param == "watch")
    return request.param


def plain_tree(root: Path) -> Path:
    """tree() without its symbolic links (a watch cannot vouch for a link's target)."""
    lib = tree(root)
    for name in ("linked_dir", "linked_file.go", "broken.go"):
        (lib / name).unlink()
    return lib


def test_a_snapshot_is_the_fingerprint_and_holds_until_a_change(tmp_path, checked_by):
    lib = plain_tree(tmp_path / "lib")
    state = localmods.snapshot([lib])
    assert state.files == fingerprint([lib]) and state.holds() and state.holds()
    assert (state.watch is not None) == (checked_by == "watch")


def test_a_tree_with_a_symbolic_link_is_checked_by_its_stamps(tmp_path, checked_by):
    lib = tree(tmp_path / "lib")
    state = localmods.snapshot([lib])
    assert state.watch is None and state.holds()
    target = lib / "lib.go"  # linked_file.go's target: its own directory's stamp
    target.write_text("package lib // edited\n")
    assert not state.holds()


@pytest.mark.parametrize(
    "change",
    [
        "edit in place, same size, same second",
        "only the time, by a nanosecond",
        "add a file",
        "remove a file",
        "rename a file",
        "add a directory with a file",
        "a nested module's go.mod removed",
    ],
)
def test_each_change_a_walk_would_see_breaks_the_snapshot(tmp_path, checked_by, change):
    lib = plain_tree(tmp_path / "lib")
    state = localmods.snapshot([lib])
    assert state.holds()
    source = lib / "a" / "a.go"
    st = source.stat()
    if change.startswith("edit"):
        with open(source, "r+") as f:
            f.write("package b\n")
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    elif change.startswith("only the time"):
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    elif change == "add a file":
        (lib / "a" / "deep" / "new.go").write_text("package deep\n")
    elif change == "remove a file":
        (lib / "b" / "b.go").unlink()
    elif change == "rename a file":
        (lib / "b" / "b.go").rename(lib / "b" / "c.go")
    elif change.startswith("add a directory"):
        (lib / "c").mkdir()
        (lib / "c" / "c.go").write_text("package c\n")
    else:
        (lib / "nested" / "go.mod").unlink()
    assert fingerprint([lib]) != state.files  # what a walk sees
    assert not state.holds()


def test_reading_the_files_is_no_change(tmp_path, checked_by):
    # go reads the display package's files on every build: the watch hears no event.
    lib = plain_tree(tmp_path / "lib")
    state = localmods.snapshot([lib])
    for path, _, _ in state.files:
        Path(path).read_bytes()
    assert state.holds()


def test_a_young_tree_is_not_trusted_by_its_stamps(tmp_path, monkeypatch):
    # Changed within RACY_NS of its walk: a second change in the same tick of the
    # file system's clock would leave every stamp as it was. (A watch hears it.)
    monkeypatch.setattr(treewatch, "ENABLED", False)
    (tmp_path / "a.go").write_text("package a\n")
    monkeypatch.setattr(localmods, "RACY_NS", 3600 * 10**9)
    monkeypatch.setattr(localmods, "LOCAL_RACY_NS", 3600 * 10**9)
    state = localmods.snapshot([tmp_path])
    assert not state.trusted and not state.holds()
    monkeypatch.setattr(localmods, "RACY_NS", 0)
    assert localmods.snapshot([tmp_path]).holds()


def test_a_tree_with_a_hard_linked_file_is_checked_by_its_stamps(tmp_path, checked_by):
    lib = plain_tree(tmp_path / "lib")
    other = tmp_path / "elsewhere.go"
    os.link(lib / "a" / "a.go", other)
    state = localmods.snapshot([lib])
    assert state.watch is None and state.holds()
    st = other.stat()
    with open(other, "r+") as f:  # through its other name
        f.write("package b\n")
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert not state.holds()


def test_a_remote_file_system_is_not_watched():
    assert not treewatch.local_device(os.makedev(0, 999999))  # no such mount


def test_a_tree_of_many_directories_is_checked_by_its_stamps(tmp_path, monkeypatch):
    monkeypatch.setattr(treewatch, "MAX_DIRS", 2)
    lib = plain_tree(tmp_path / "lib")
    state = localmods.snapshot([lib])
    assert state.watch is None
