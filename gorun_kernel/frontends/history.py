"""The kernel's input history: every cell a user ran, kept per user across sessions.

Jupyter front-ends ask for it with `history_request` (jupyter console loads the
last 1,000 cells at start for its up-arrow and Ctrl-R; JupyterLab's console too).
Like IPython's `history.sqlite`, a SQLite file holds one row per kernel session and
one per cell run with store_history (not silent ones, not a front-end's own
requests), and the text value a cell showed, for `output=True` requests.

Where: `$GORUN_HISTORY` (a file; `off` keeps nothing), else the user's data
directory (`$XDG_DATA_HOME/gorun_kernel/history.sqlite`, `~/.local/share/...`;
macOS: `~/Library/Application Support/gorun_kernel/`). Many kernels of a user
share the file: SQLite locks it per write. A file that cannot be opened or
written (a read-only home, a corrupt file) is never an error of a cell: the
session keeps its history in memory and the log says why.

A cell's rows are written by a thread of the history's own, never on the way
to the cell's run: a SQLite commit waits for the disk (16 ms a cell, two
commits, on the machine of issue 23, where an unchanged cell's re-run is
meant to take 8). Nor while the cell runs: the kernel holds the writes from
the cell's start until its idle status is sent (`hold`, `release`), as the
commit's 0.5 ms of CPU, made meanwhile, took the interpreter and a core from
the cell; for a second at most, so that a long cell's row is in the file while
it runs, should the kernel die in it. Reading (a history_request, Format Go
cell's cells, the end of the session) first writes what is queued, held or not.

The three kinds of request, with IPython's meanings:
- tail: the last n cells stored, across sessions, oldest first;
- range: cells [start, stop) of a session (its number; 0 or less counts back
  from this session: 0 is this one, -1 the one before);
- search: cells matching a glob pattern (`*`, `?`, as IPython's `%history -g`),
  the last n of them; unique: each text once.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gorun_kernel import config

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session INTEGER PRIMARY KEY AUTOINCREMENT,
    start REAL NOT NULL,
    end REAL,
    num_cmds INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS history (
    session INTEGER NOT NULL,
    line INTEGER NOT NULL,
    source TEXT NOT NULL,
    output TEXT,
    PRIMARY KEY (session, line)
);
"""

HOLD_AT_MOST = 1.0  # seconds a running cell's rows wait for its end before being written

# A row as the protocol wants it: (session, line, input) or (session, line, (input, output)).
Entry = tuple[int, int, Any]


def default_path() -> Path:
    """The history file when GORUN_HISTORY is not set: in the user's data directory."""
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "gorun_kernel" / "history.sqlite"


def store_path() -> Path | None:
    """Where this session's history goes: None keeps nothing (GORUN_HISTORY=off)."""
    chosen = config.HISTORY.text()
    if chosen.lower() == "off":
        return None
    return Path(chosen).expanduser().absolute() if chosen else default_path()


class History:
    """One kernel session's view of the history file: it stores, and it answers."""

    def __init__(self, path: Path | None = None, *, use_default: bool = True) -> None:
        if path is None and use_default:
            path = store_path()
        self.path = path
        self.db = self._open(path)
        self.lock = threading.Lock()  # the connection: one user at a time
        self.queued: list[tuple[str, tuple[Any, ...]]] = []
        self.idle = threading.Condition()  # queued is empty and nothing is being written
        self.writing = False  # the writer thread has taken a batch it has not committed yet
        self.held_since: float | None = None  # writes wait for release() (a cell runs)
        self.hold_at_most = HOLD_AT_MOST
        self.parked = False  # the writer waits for writes (none queued, or held)
        self.writer: threading.Thread | None = None
        self.session = self._begin()
        atexit.register(self.written)  # the last cells reach the file before the kernel ends

    def _open(self, path: Path | None) -> sqlite3.Connection:
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(path, timeout=10, isolation_level=None,
                                     check_same_thread=False)  # fmt: skip
                db.executescript(_SCHEMA)
                return db
            except (OSError, sqlite3.Error) as e:
                log.warning("gorun history: cannot use %s (%s); keeping it in memory", path, e)
                self.path = None
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        db.executescript(_SCHEMA)
        return db

    def _begin(self) -> int:
        cur = self._write("INSERT INTO sessions (start) VALUES (?)", (time.time(),))
        return int(cur.lastrowid) if cur is not None and cur.lastrowid is not None else 0

    def _write(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor | None:
        """A write that may fail (a locked or full disk): history is never a cell's error."""
        try:
            with self.lock:
                return self.db.execute(sql, args)
        except sqlite3.Error as e:
            log.warning("gorun history: not stored (%s)", e)
            return None

    def _later(self, *writes: tuple[str, tuple[Any, ...]]) -> None:
        """Queue writes for the writer thread (one for the session, started by the first)."""
        with self.idle:
            self.queued.extend(writes)
            self.idle.notify_all()
            if self.writer is not None:
                return
            self.writer = threading.Thread(
                target=self._write_queued, name="gorun-history", daemon=True
            )
        # Started once: a thread started per cell cost its start (a wait for the new
        # thread to run, 0.2-3 ms on a busy machine) on the way to every cell's run.
        self.writer.start()

    def _write_queued(self) -> None:
        while True:
            with self.idle:
                self.writing = False
                self.parked = True
                self.idle.notify_all()
                while not self._due():
                    self.idle.wait(self._hold_left())
                self.parked = False
                batch, self.queued = self.queued, []
                self.writing = True
            with self.lock:  # one transaction, one commit, for what came meanwhile
                try:
                    self.db.execute("BEGIN")
                    for sql, args in batch:
                        self.db.execute(sql, args)
                    self.db.execute("COMMIT")
                except sqlite3.Error as e:
                    log.warning("gorun history: not stored (%s)", e)
                    with contextlib.suppress(sqlite3.Error):
                        self.db.execute("ROLLBACK")

    def _due(self) -> bool:
        """Whether the writer writes now (under self.idle): writes are queued, and not
        held, or held for hold_at_most already."""
        if not self.queued:
            return False
        return self.held_since is None or self._hold_left() == 0

    def _hold_left(self) -> float | None:
        """Seconds the queued writes may still wait (None: until told)."""
        if not self.queued or self.held_since is None:
            return None
        return max(0.0, self.hold_at_most - (time.monotonic() - self.held_since))

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        self.written()
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def written(self) -> None:
        """Wait until what is queued is in the file, held or not (before reading it;
        another session sees this one's cells once they are written)."""
        with self.idle:
            self.held_since = None
            self.idle.notify_all()
            self.idle.wait_for(lambda: not self.writing and not self.queued)

    def hold(self) -> None:
        """Writes queued from now on wait for release() (a cell starts: not while it runs)."""
        with self.idle:
            self.held_since = time.monotonic()

    def release(self) -> None:
        """What is queued is written now (the cell's idle status is sent)."""
        with self.idle:
            self.held_since = None
            self.idle.notify_all()

    # -- storing ---------------------------------------------------------------------

    def store(self, line: int, source: str) -> None:
        """Cell number line of this session ran source (stored as it starts, as IPython)."""
        self._later(
            ("INSERT OR REPLACE INTO history (session, line, source) VALUES (?, ?, ?)",
             (self.session, line, source)),
            ("UPDATE sessions SET num_cmds = num_cmds + 1, end = ? WHERE session = ?",
             (time.time(), self.session)),
        )  # fmt: skip

    def store_output(self, line: int, output: str) -> None:
        """The text of the value cell number line showed (its execute_result)."""
        self._later(("UPDATE history SET output = ? WHERE session = ? AND line = ?",
                     (output, self.session, line)))  # fmt: skip

    def cells(self) -> list[str]:
        """This session's cells so far, oldest first."""
        return [source for _, _, source, _ in self.range(0, 0, None)]

    def close(self) -> None:
        self.written()
        self._write("UPDATE sessions SET end = ? WHERE session = ?", (time.time(), self.session))
        with self.lock:
            self.db.close()

    # -- answering -------------------------------------------------------------------

    def reply(
        self,
        hist_access_type: str,
        output: bool = False,
        raw: bool = True,
        session: int | None = None,
        start: int | None = None,
        stop: int | None = None,
        n: int | None = None,
        pattern: str | None = None,
        unique: bool = False,
        **_: Any,  # what some front-ends add (search_raw, rangestr): no meaning here
    ) -> dict[str, Any]:
        """The history_reply's content for a history_request's (raw: cells are stored
        as typed; the kernel has no other form of them)."""
        try:
            if hist_access_type == "tail":
                rows = self.tail(n or 10)
            elif hist_access_type == "range":
                rows = self.range(session or 0, start or 0, stop)
            elif hist_access_type == "search":
                rows = self.search(pattern or "*", n, unique)
            else:
                return {"status": "error", "ename": "ValueError",
                        "evalue": f"unknown hist_access_type {hist_access_type!r}",
                        "traceback": [], "history": []}  # fmt: skip
        except sqlite3.Error as e:
            log.warning("gorun history: cannot read (%s)", e)
            rows = []
        return {"status": "ok", "history": list(_entries(rows, output))}

    def tail(self, n: int) -> list[tuple[Any, ...]]:
        rows = self._read(
            "SELECT session, line, source, output FROM history "
            "ORDER BY session DESC, line DESC LIMIT ?",
            (max(n, 0),),
        )
        return rows[::-1]

    def range(self, session: int, start: int, stop: int | None) -> list[tuple[Any, ...]]:
        if session <= 0:
            session += self.session
        return self._read(
            "SELECT session, line, source, output FROM history "
            "WHERE session = ? AND line >= ? AND (? IS NULL OR line < ?) ORDER BY line",
            (session, start, stop, stop),
        )

    def search(self, pattern: str, n: int | None, unique: bool) -> list[tuple[Any, ...]]:
        if unique:
            # Each text once, where it was last run.
            sql = (
                "SELECT session, line, source, output FROM history WHERE rowid IN "
                "(SELECT max(rowid) FROM history WHERE source GLOB ? GROUP BY source)"
            )
        else:
            sql = "SELECT session, line, source, output FROM history WHERE source GLOB ?"
        sql += " ORDER BY session DESC, line DESC"
        args: tuple[Any, ...] = (pattern,)
        if n:
            sql += " LIMIT ?"
            args += (n,)
        return self._read(sql, args)[::-1]


def _entries(rows: Iterable[tuple[Any, ...]], output: bool) -> Iterable[Entry]:
    for session, line, source, out in rows:
        yield (session, line, (source, out) if output else source)
