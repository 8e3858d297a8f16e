"""The kernel's session (its Engine), made once the kernel has said it is ready.

A kernel is ready when it answers kernel_info; what it needs for that is the
toolchain's version (one `go env`, in a thread started with the kernel). The
Engine needs much more: the modules of the whole pipeline (compose, build, run,
gotest, display: on a busy machine as long again as ipykernel's own import)
and a scratch module. That work starts in a thread of its own once the kernel's
first kernel_info reply has been sent (`begin`, from the kernel's after_ready),
and overlaps the user's first seconds; made while ipykernel starts, or while the
reply is made and sent, it would compete with them for the interpreter and delay
the answer. Whoever needs the engine (a cell, help) waits for it (and begins it,
if nothing has).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from gorun_kernel.errors import GorunError

if TYPE_CHECKING:
    from gorun_kernel.build.toolchain import Toolchain
    from gorun_kernel.engine import Engine


class SessionStart:
    """find_toolchain at once, Engine from begin(); each waited for where it is used."""

    def __init__(self) -> None:
        self._toolchain: Toolchain | None = None
        self._engine: Engine | None = None
        self._error: GorunError | None = None
        self._finding = threading.Thread(target=self._find, name="gorun-toolchain", daemon=True)
        self._making = threading.Thread(target=self._make, name="gorun-engine", daemon=True)
        self._begun = threading.Lock()
        self._made = threading.Lock()  # held while the Engine is made
        self._cancelled = False
        self._finding.start()

    def _find(self) -> None:
        try:
            from gorun_kernel.build.scratch import remove_stale_sessions
            from gorun_kernel.build.toolchain import find_toolchain

            self._toolchain = find_toolchain()
            remove_stale_sessions()  # as a start always did: what a killed kernel left
        except Exception as e:  # no Go, a bad setting: every cell says so; the kernel stays up
            self._error = _start_error(e)

    def _make(self) -> None:
        tc = self.toolchain()
        if tc is None:
            return
        try:
            from gorun_kernel.engine import Engine

            with self._made:
                if not self._cancelled:  # a kernel shut down at once makes no session
                    self._engine = Engine(tc)
        except Exception as e:
            self._error = _start_error(e)

    def begin(self) -> None:
        """Start making the engine (once; later calls do nothing)."""
        with self._begun:
            if not self._making.is_alive() and self._making.ident is None:
                self._making.start()

    def cancel(self) -> Engine | None:
        """The kernel is shutting down: no engine is made from now on. The one made
        already, if any (one being made is waited for: its scratch module is removed
        by its close, not left behind); the modules still importing are not."""
        self._cancelled = True
        with self._made:
            return self._engine

    def made(self) -> Engine | None:
        """The engine if it is made already; never waits (a signal handler asks)."""
        return self._engine

    def toolchain(self) -> Toolchain | None:
        """The session's Go toolchain (None: see error()); waits for `go env`."""
        self._finding.join()
        return self._toolchain

    def engine(self) -> Engine | None:
        """The session's Engine (None: see error()); makes it, or waits until it is made."""
        self.begin()
        self._making.join()
        return self._engine

    def error(self) -> GorunError | None:
        """Why there is no engine (None: there is one)."""
        if self.toolchain() is not None:
            self.engine()
        return self._error


def _start_error(e: Exception) -> GorunError:
    if isinstance(e, GorunError):
        return e
    if isinstance(e, OSError):
        return GorunError(f"cannot start a session: {e}")
    # A bug of ours: said in every cell (with its type), rather than lost in a thread.
    return GorunError(f"cannot start a session: {type(e).__name__}: {e}; please report this")
