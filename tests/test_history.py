"""The kernel's input history (issue 22 item 7): a per-user SQLite store that answers
history_request's tail, range and search, across sessions.

The store's own tests need no process (a file in tmp_path); the kernel and jupyter
console ones are e2e. The conformance suite's history checks are in test_kernel.py
(TestConformance.test_history).
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from pathlib import Path

import pexpect
import pytest
from kernel_client import START_TIMEOUT, execute, reply_to, start

from gorun_kernel.frontends.history import History, store_path


def ran(h: History, *cells: str) -> None:
    for line, cell in enumerate(cells, start=1):
        h.store(line, cell)


def test_tail_spans_sessions_oldest_first(tmp_path: Path):
    path = tmp_path / "history.sqlite"
    first = History(path)
    ran(first, "a := 1", "fmt.Println(a)")
    first.close()
    second = History(path)
    ran(second, "x := 2")
    assert second.session == first.session + 1
    reply = second.reply("tail", output=False, raw=True, n=2)
    assert reply == {
        "status": "ok",
        "history": [(first.session, 2, "fmt.Println(a)"), (second.session, 1, "x := 2")],
    }
    assert len(second.reply("tail", False, True, n=100)["history"]) == 3


def test_one_writer_thread_for_the_session_not_one_a_cell(tmp_path: Path):
    # A thread started per cell cost its start on the way to every cell's run (issue 23).
    h = History(tmp_path / "history.sqlite")
    ran(h, "a := 1")
    h.written()
    writer = h.writer
    for line in range(2, 12):
        h.store(line, f"fmt.Println({line})")
        h.store_output(line, str(line))
        h.written()
        assert h.writer is writer and writer is not None and writer.is_alive()
    assert [t.name for t in threading.enumerate()].count("gorun-history") >= 1
    assert len(h.cells()) == 11
    h.close()


def rows(path: Path) -> list[tuple[int, str]]:
    """The cells in the file, as another kernel would read them."""
    with sqlite3.connect(path) as db:
        return db.execute("SELECT line, source FROM history ORDER BY line").fetchall()


def test_a_cells_rows_wait_while_it_runs_and_are_written_at_its_end(tmp_path: Path):
    # The kernel holds the writes from a cell's start until its idle status is sent
    # (after_execute): the commit's CPU is not taken from the cell's run (issue 23).
    path = tmp_path / "history.sqlite"
    h = History(path)
    h.hold_at_most = 600  # (a cell that long: the check below is within it)
    h.hold()
    ran(h, "a := 1")
    with h.idle:  # the writer has started and waits: nothing written meanwhile
        assert h.idle.wait_for(lambda: h.parked, timeout=30)
    assert rows(path) == []
    h.release()
    h.written()
    assert rows(path) == [(1, "a := 1")]
    # A read while a cell runs (Format Go cell's cells) writes what is held first.
    h.hold()
    h.store(2, "b := 2")
    assert h.cells() == ["a := 1", "b := 2"]
    assert rows(path) == [(1, "a := 1"), (2, "b := 2")]
    # Held again, and the session ends: its atexit write (written) loses nothing.
    h.hold()
    h.store(3, "c := 3")
    h.close()
    assert rows(path)[-1] == (3, "c := 3")


def test_a_long_cells_row_is_written_while_it_runs(tmp_path: Path):
    # Held for hold_at_most at most: the row of a cell that runs for minutes is in
    # the file while it runs (should the kernel die in it), not only at its end.
    path = tmp_path / "history.sqlite"
    h = History(path)
    h.hold_at_most = 0.05
    h.hold()
    ran(h, "for {}")
    with h.idle:  # written, though the cell has not ended (no release)
        assert h.idle.wait_for(lambda: h.parked and not h.queued, timeout=30)
    assert rows(path) == [(1, "for {}")]
    h.close()


def test_range_of_this_session_and_of_earlier_ones(tmp_path: Path):
    path = tmp_path / "history.sqlite"
    first = History(path)
    ran(first, "one", "two", "three")
    first.written()  # (stored by a thread: another session sees them once written)
    second = History(path)
    ran(second, "four", "five")

    def cells(**request: object) -> list[str]:
        return [c for _, _, c in second.reply("range", False, True, **request)["history"]]

    assert cells(session=0, start=1) == ["four", "five"]  # 0: this session
    assert cells(session=0, start=2, stop=3) == ["five"]  # stop is exclusive
    assert cells(session=-1, start=2) == ["two", "three"]  # -1: the one before
    assert cells(session=first.session, start=1, stop=2) == ["one"]  # by its number


def test_search_is_a_glob_with_n_and_unique(tmp_path: Path):
    h = History(tmp_path / "history.sqlite")
    ran(h, 'strings.Repeat("a", 2)', "x := 1", 'strings.Repeat("a", 2)', "strings.ToUpper(s)")

    def found(pattern: str, **request: object) -> list[tuple[int, str]]:
        rows = h.reply("search", False, True, pattern=pattern, **request)["history"]
        return [(line, cell) for _, line, cell in rows]

    assert [line for line, _ in found("strings.*")] == [1, 3, 4]
    assert found("strings.*", unique=True) == [
        (3, 'strings.Repeat("a", 2)'),  # where it was last run
        (4, "strings.ToUpper(s)"),
    ]
    assert found("strings.*", n=1) == [(4, "strings.ToUpper(s)")]
    assert found("x := ?") == [(2, "x := 1")]


def test_output_pairs_each_cell_with_the_value_it_showed(tmp_path: Path):
    h = History(tmp_path / "history.sqlite")
    ran(h, "6 * 7", 'fmt.Println("hi")')
    h.store_output(1, "42")
    reply = h.reply("tail", output=True, raw=True, n=2)
    assert [entry[2] for entry in reply["history"]] == [
        ("6 * 7", "42"),
        ('fmt.Println("hi")', None),
    ]


def test_extra_request_fields_are_ignored_and_an_unknown_kind_is_an_error(tmp_path: Path):
    h = History(tmp_path / "history.sqlite")
    ran(h, "x := 1")
    # jupyter console's search sends search_raw; its range-by-string sends rangestr.
    assert h.reply("search", False, True, pattern="*", search_raw=True)["history"]
    reply = h.reply("everything", False, True)
    assert reply["status"] == "error" and "everything" in reply["evalue"]


def test_an_unusable_file_keeps_the_history_in_memory(tmp_path: Path):
    bad = tmp_path / "not-a-database.sqlite"
    bad.write_bytes(b"this is not SQLite " * 100)
    h = History(bad)
    assert h.path is None
    ran(h, "x := 1")
    assert h.reply("tail", False, True, n=5)["history"] == [(h.session, 1, "x := 1")]
    assert bad.read_bytes().startswith(b"this is not SQLite")  # left as it was


def test_where_the_history_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("GORUN_HISTORY", str(tmp_path / "h.sqlite"))
    assert store_path() == tmp_path / "h.sqlite"
    monkeypatch.setenv("GORUN_HISTORY", "off")
    assert store_path() is None
    monkeypatch.delenv("GORUN_HISTORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if sys.platform != "darwin":
        assert store_path() == tmp_path / "data" / "gorun_kernel" / "history.sqlite"
    off = History(None, use_default=False)
    ran(off, "kept in memory")
    assert off.reply("tail", False, True, n=1)["history"][0][2] == "kept in memory"


# -- through the kernel --------------------------------------------------------------


@pytest.mark.e2e
def test_the_kernel_stores_what_the_user_ran_not_silent_or_unstored_cells(tmp_path: Path):
    env = {"GORUN_HISTORY": str(tmp_path / "history.sqlite")}
    km, kc = start(env=env)
    try:
        assert execute(kc, "6 * 7").value == "42"
        # What a front-end runs for itself: silent, or not stored.
        reply_to(kc, kc.execute('fmt.Println("silent")', silent=True))
        reply_to(kc, kc.execute('fmt.Println("not stored")', store_history=False))
        execute(kc, "%list")
        reply = reply_to(kc, kc.history(hist_access_type="range", session=0, start=1, output=True))
        history = reply["content"]["history"]
        # JSON: each (input, output) pair arrives as a list
        assert [(line, cell) for _, line, cell in history] == [
            (1, ["6 * 7", "42"]),
            (3, ["%list", None]),  # In [3]: the unstored cell was In [2]
        ]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    db = sqlite3.connect(tmp_path / "history.sqlite")
    assert db.execute("SELECT count(*) FROM sessions").fetchone() == (1,)


@pytest.mark.e2e
def test_jupyter_console_up_arrow_recalls_a_cell_of_an_earlier_session(tmp_path: Path):
    cell = 'fmt.Println("from an earlier session", 6 * 7)'

    def console() -> pexpect.spawn:
        return pexpect.spawn(
            sys.executable,
            ["-m", "jupyter", "console", "--kernel", "gorun",
             f"--ZMQTerminalInteractiveShell.kernel_timeout={START_TIMEOUT}",
             f"--ZMQTerminalInteractiveShell.kernel_is_complete_timeout={START_TIMEOUT}"],
            cwd=str(tmp_path), encoding="utf-8", timeout=120, dimensions=(40, 200),
        )  # fmt: skip

    first = console()
    try:
        first.expect(r"In \[.*1.*\]")
        first.send(cell + "\r")
        first.expect("from an earlier session 42")
        first.expect(r"In \[.*2.*\]")
        first.sendeof()  # Ctrl-D, as the user leaves (an `exit` cell would be the last one)
        first.expect("exit")
        first.send("y\r")
        first.expect(pexpect.EOF)
    finally:
        first.close(force=True)
    second = console()
    try:
        second.expect(r"In \[.*1.*\]")
        second.send("\x1b[A")  # up-arrow: the last cell of the history, from the first session
        second.send("\r")
        second.expect("from an earlier session 42")
    finally:
        second.close(force=True)
