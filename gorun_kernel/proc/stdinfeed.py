"""A program's fixed standard input: a file (--stdin-file) or bytes (--stdin VAR).

Never read whole. A regular file or a device is the program's stdin itself
(an endless /dev/zero costs us nothing: the program reads what it wants). A
FIFO or a socket is opened without blocking, inside the run, and copied as it
comes through a pipe, so that a FIFO nobody writes to yet can be
interrupted. Bytes are written from a memoryview, a chunk at a time with an
offset (linear, whatever the size).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import selectors
import stat
from dataclasses import dataclass

from gorun_kernel.errors import UsageError

CHUNK = 1 << 20
_SPLICE_FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK if hasattr(os, "splice") else None
PIPE_SIZE = 1 << 20  # our side of the program's stdin pipe: fewer, larger writes


@dataclass(frozen=True)
class StdinFile:
    """--stdin-file PATH, resolved against the notebook's directory."""

    path: str  # absolute
    given: str  # as the user wrote it, for messages

    def check(self) -> None:
        """A clear error now for a missing file or a directory (stat only: a FIFO
        would block an open)."""
        try:
            st = os.stat(self.path)
        except OSError as e:
            raise UsageError(f"--stdin-file {self.given}: {e.strerror}") from None
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"--stdin-file {self.given}: is a directory")

    def open(self) -> tuple[int, bool]:
        """(descriptor, direct): direct means give it to the program as it is."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as e:
            raise UsageError(f"--stdin-file {self.given}: {e.strerror}") from None
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            os.close(fd)
            raise UsageError(f"--stdin-file {self.given}: is a directory")
        direct = stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        if direct:
            os.set_blocking(fd, True)  # the program reads it as a plain file
        return fd, direct


StdinSource = bytes | bytearray | memoryview | StdinFile | None


def widen(pipe: int) -> None:
    """Ask for a larger pipe (Linux): the feeder writes less often."""
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


class StdinFeeder:
    """Copies fixed input into the program's stdin pipe as the program reads it.

    The source is a memoryview (all of the input) or a non-blocking descriptor
    (a FIFO or socket: spliced into the pipe where Linux can, else read a chunk
    at a time). Exactly one of the two ends is registered with the selector at
    any time: the source while we wait for input, the pipe while we wait for
    room in it.
    """

    def __init__(self, sel: selectors.BaseSelector, pipe: int, source: memoryview | int) -> None:
        self.sel = sel
        self.pipe = pipe
        self.source = source if isinstance(source, int) else None
        self.chunk = source if isinstance(source, memoryview) else memoryview(b"")
        self.offset = 0
        self.splice = _SPLICE_FLAGS is not None  # Linux: FIFO to pipe in the kernel, no copy
        os.set_blocking(pipe, False)
        if self.chunk:
            sel.register(pipe, selectors.EVENT_WRITE, "stdin")
        elif self.source is not None:
            sel.register(self.source, selectors.EVENT_READ, "stdin-source")
        else:
            self.close()

    @property
    def done(self) -> bool:
        return self.pipe < 0

    def writable(self) -> None:
        """The program's pipe has room: write the rest of the chunk, then wait for more."""
        if self.offset < len(self.chunk):
            try:
                n = os.write(self.pipe, self.chunk[self.offset : self.offset + CHUNK])
            except BlockingIOError:
                return
            except OSError:  # the program closed its stdin (EPIPE): it wants no more
                self.close()
                return
            self.offset += n
            if self.offset < len(self.chunk):
                return
        self.chunk, self.offset = memoryview(b""), 0
        if self.source is None:
            self.close()  # all written: end of input
            return
        self.sel.unregister(self.pipe)
        self.sel.register(self.source, selectors.EVENT_READ, "stdin-source")

    def readable(self) -> None:
        """The source has input (or its end): move it into the program's pipe."""
        assert self.source is not None
        if self.splice:
            try:
                moved = os.splice(self.source, self.pipe, CHUNK, flags=_SPLICE_FLAGS)
            except BlockingIOError:  # the program's pipe is full: wait for room
                self._wait_for_room()
                return
            except OSError as e:
                if e.errno != errno.EINVAL:
                    self.close()  # EPIPE: the program closed its stdin
                    return
                self.splice = False  # a source splice cannot read: copy it ourselves
            else:
                if moved == 0:
                    self.close()  # the writer is gone: end of input
                return
        try:
            data = os.read(self.source, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the writer is gone: end of input
            self.close()
            return
        self.chunk, self.offset = memoryview(data), 0
        self._wait_for_room()

    def _wait_for_room(self) -> None:
        assert self.source is not None
        self.sel.unregister(self.source)
        self.sel.register(self.pipe, selectors.EVENT_WRITE, "stdin")

    def close(self) -> None:
        for fd in (self.pipe, self.source):
            if fd is not None and fd >= 0:
                with contextlib.suppress(KeyError, ValueError):
                    self.sel.unregister(fd)
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.pipe, self.source = -1, None
