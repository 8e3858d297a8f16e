"""Issue 10, items 9-16 and 18: caches, files and names that once broke a session.

Each test drives the real magic (real IPython, real go) or a real kernel, as a
user met the fault.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernel_client import complete, execute, inspect, reply_to, running
from test_sessions import go_builds_started_by, wait_gone

import gorun_kernel

pytestmark = pytest.mark.e2e

HELLO = '%%gorun\nfmt.Println("hello")\n'


def binaries(cache: Path) -> list[str]:
    exe = cache / "exe"
    return (
        sorted(p.name for p in exe.iterdir() if not p.name.startswith(".")) if exe.exists() else []
    )


# -- 9: a size bound of 0 or 1 MB ------------------------------------------------


@pytest.mark.parametrize("megabytes", ["0", "1"])
def test_a_tiny_cache_bound_never_prunes_the_binary_about_to_run(
    run, tmp_path, monkeypatch, megabytes
):
    monkeypatch.setenv("GORUN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GORUN_CACHE_MAX_MB", megabytes)
    for i in range(2):  # the second build prunes the first binary, never its own
        result, out, err = run(f'%%gorun\nfmt.Println("run {i}")\n')
        assert result.error_in_exec is None, out + err
        assert f"run {i}\n" in out
    if megabytes == "0":
        assert binaries(tmp_path / "cache") == []  # 0: nothing kept after the run


# -- 10: a read-only cache -------------------------------------------------------


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """Make directory read-only for us: chmod for a user; a read-only mount for root,
    whom file modes do not stop."""
    if os.getuid() != 0:
        os.chmod(directory, 0o500)
        try:
            yield
        finally:
            os.chmod(directory, 0o700)
        return
    bind = subprocess.run(["mount", "--bind", "-o", "ro", str(directory), str(directory)],
                          capture_output=True, text=True)  # fmt: skip
    if bind.returncode != 0:
        pytest.skip(f"root cannot make a read-only mount here: {bind.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(directory)], check=True)


def test_a_read_only_cache_serves_hits_and_builds_misses_in_the_session(
    run, ip, tmp_path, monkeypatch
):
    import gorun_kernel.frontends.magic as magic

    cache = tmp_path / "cache"
    monkeypatch.setenv("GORUN_CACHE", str(cache))
    result, out, _ = run(HELLO)
    assert result.error_in_exec is None and "hello\n" in out
    kept = binaries(cache)
    assert len(kept) == 1
    magic.magics_of(ip).close_engine()  # a new session, with the cache now read-only
    with read_only(cache / "exe"):
        result, out, err = run(HELLO)
        assert result.error_in_exec is None, out + err
        assert "hello\n" in out and "read-only" not in err  # a hit: no note
        assert magic.magics_of(ip).engine().runner.cache.lookup(kept[0]) is not None
        for i in range(2):
            result, out, err = run(f'%%gorun\nfmt.Println("new {i}")\n')
            assert result.error_in_exec is None, out + err
            assert f"new {i}\n" in out
            assert ("read-only" in err) == (i == 0)  # one note, the first time
        assert binaries(cache) == kept


# -- 11: a relative GORUN_CACHE --------------------------------------------------


def test_a_relative_cache_directory_is_the_one_at_start(run, tmp_path, monkeypatch):
    monkeypatch.setenv("GORUN_CACHE", "relcache")  # the ip fixture's cwd is tmp_path
    result, out, err = run(HELLO)
    assert result.error_in_exec is None, out + err
    assert "hello\n" in out
    assert len(binaries(tmp_path / "relcache")) == 1


# -- 12: pruning touches only what the cache wrote ---------------------------------


def test_pruning_leaves_files_the_cache_did_not_write(run, tmp_path, monkeypatch):
    cache = tmp_path / "mine"
    (cache / "exe" / "photos").mkdir(parents=True)
    (cache / "exe" / "photos" / "cat.jpg").write_bytes(b"meow")
    (cache / "exe" / "notes.txt").write_text("keep me")
    old = time.time() - 7200
    for p in (cache / "exe" / "photos", cache / "exe" / "notes.txt"):
        os.utime(p, (old, old))
    os.chmod(cache / "exe", 0o700)
    monkeypatch.setenv("GORUN_CACHE", str(cache))
    monkeypatch.setenv("GORUN_CACHE_MAX_MB", "1")  # every store prunes hard
    result, out, _ = run(HELLO)
    assert result.error_in_exec is None and "hello\n" in out
    assert (cache / "exe" / "photos" / "cat.jpg").read_bytes() == b"meow"
    assert (cache / "exe" / "notes.txt").read_text() == "keep me"


# -- 13: nothing left behind by -n or by an interrupted build ---------------------


def test_dash_n_leaves_no_build_directory(run, tmp_path, monkeypatch):
    monkeypatch.setenv("GORUN_CACHE", str(tmp_path / "cache"))
    for _ in range(2):
        result, out, err = run('%%gorun -n\nfmt.Println("never")\n')
        assert result.error_in_exec is None, out + err
    assert list((tmp_path / "cache" / "exe").iterdir()) == []


def test_an_interrupted_build_leaves_nothing_in_tmpdir(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with running(env={"TMPDIR": str(tmp)}) as (km, kc):
        msg_id = kc.execute('%%gorun -a\nfmt.Println("never")')  # -a: seconds of go build
        builds = go_builds_started_by(km.provisioner.process.pid)
        wait_for_compilers(builds)  # go's work directory exists and is filling up
        km.interrupt_kernel()
        assert reply_to(kc, msg_id)["content"]["ename"] == "Interrupted"
        assert all(wait_gone(pid) for pid in builds)
        assert execute(kc, 'fmt.Println("alive")').stream() == "alive\n"
        left = [p.name for p in tmp.rglob("go-build*")]
        assert left == [], f"go's work directories left in TMPDIR: {left}"


def wait_for_compilers(parents: list[int], within: float = 60) -> None:
    """Wait until a go build has started its compilers (then its work dir is in use)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for p in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                exe = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0]
                if int(stat[1]) in parents and exe.endswith((b"/compile", b"/asm")):
                    return
    raise AssertionError("go build never started a compiler")


# -- 14: txtar cells -------------------------------------------------------------


def test_txtar_go_sum_without_go_mod_is_refused(run):
    cell = "%%gorun\npackage main\nfunc main() {}\n-- go.sum --\nexample.com/x v1.0.0 h1:x=\n"
    result, out, err = run(cell)
    assert isinstance(result.error_in_exec, gorun_kernel.CellError)
    assert "line 4: a go.sum needs the go.mod" in out + err
    result, out, _ = run(HELLO)  # the session's module is intact
    assert result.error_in_exec is None and "hello\n" in out


def test_a_txtar_path_too_deep_is_a_clear_error(run):
    deep = "/".join(["d"] * 1500) + "/x.go"
    result, out, err = run(f"%%gorun\npackage main\nfunc main() {{}}\n-- {deep} --\npackage d\n")
    assert isinstance(result.error_in_exec, gorun_kernel.CellError)
    assert "more than 32 directories deep" in out + err
    assert "Traceback" not in out + err and "session-" not in out + err


def test_a_panic_in_a_txtar_file_with_a_space_names_the_cell_line(run):
    cell = (
        "%%gorun\npackage main\n\nfunc main() { boom() }\n"
        '-- my file.go --\npackage main\n\nfunc boom() {\n\tpanic("boom")\n}\n'
    )
    result, out, err = run(cell)
    assert isinstance(result.error_in_exec, gorun_kernel.GoPanic)
    assert str(result.error_in_exec).startswith("panic: boom (cell [")
    assert str(result.error_in_exec).endswith("line 9)")  # panic("boom") is the cell's 9th line
    assert "\tcell:9" in out + err
    assert "session-" not in err


# -- 15: generated helpers cannot collide with the user's names --------------------


def test_user_names_like_our_helpers_do_not_break_value_cells(run):
    result, out, err = run("%%gorun\nfunc isStruct__(v any) bool { return false }\n"
                           "func gorun_show__(v ...any) {}\n")  # fmt: skip
    assert result.error_in_exec is None, out + err
    result, out, err = run("%%gorun\n1 + 1\n")
    assert result.error_in_exec is None, out + err
    assert repr(result.result) == "2"
    result, out, err = run("%%gorun\nvar gorunǂshow = 3\n")  # a user who found our name
    result, out, err = run("%%gorun\n2 + 2\n")
    assert "gorun_value.go" not in out + err


# -- 16: a full scratch file system ------------------------------------------------


def test_a_full_scratch_file_system_names_the_file_and_the_cause(ip, run, tmp_path, monkeypatch):
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs",
                              str(small)], capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        monkeypatch.setenv("GORUN_SCRATCH_DIR", str(small))
        big = "x" * (400 << 10)
        result, _, _ = run(f'%%gorun\nconst big = "{big}"\nlen(big)\n')
        assert isinstance(result.error_in_exec, gorun_kernel.CellError)
        message = str(result.error_in_exec)
        assert "cannot write the cell's file main.go" in message
        assert "No space left on device" in message
        assert "None" not in message
    finally:
        import gorun_kernel.frontends.magic as magic

        magic.magics_of(ip).close_engine()
        subprocess.run(["umount", str(small)], check=True)


# -- 18: %goflags refuses what cannot apply to every cell ----------------------------


@pytest.mark.parametrize("words", ["--stdin x", "--out v", "--err v", "-C /tmp"])
def test_goflags_refuses_options_that_would_break_every_later_cell(kc, words):
    r = execute(kc, f"%goflags {words}")
    assert r.status == "error"
    assert r.reply["content"]["ename"] == "UsageError"
    r = execute(kc, 'fmt.Println("still fine")')
    assert r.status == "ok", r.reply
    assert r.stream() == "still fine\n"


# -- 17: cursor positions past the end still get a reply -----------------------------


@pytest.mark.parametrize(("code", "cursor"), [("fmt.", 10), ("😀 fmt.Pri", 10), ("fmt.", -3)])
def test_completion_and_inspection_always_reply(kc, code, cursor):
    reply = complete(kc, code, cursor)
    assert reply["status"] == "ok"
    assert 0 <= reply["cursor_start"] <= reply["cursor_end"] <= len(code)
    assert inspect(kc, code, cursor)["status"] == "ok"
