"""Extra channels from a program to the run loop, beside stdout and stderr.

A channel is a pipe (or, two-way, a socket pair) whose far end the program
inherits at a descriptor number named in an environment variable; the run
loop reads our end in the same select as the program's output and hands
what arrives to the channel's handler, up to a byte bound (the rest is read
and counted, never kept). The program cannot make our end a file, a device
or a FIFO: it is ours. A snippet's final value comes this way; so can rich
display output.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

READ_SIZE = 1 << 16
DRAIN_READS = 4  # reads of an at_end channel once the run is over, at most


@dataclass
class Channel:
    """One channel of one run. `handle` gets each chunk, and b"" once at the end."""

    env: str  # the variable that tells the program its descriptor number
    handle: Callable[[bytes], None]
    limit: int | None = None  # bytes passed to handle; past it, counted in `dropped`
    two_way: bool = False  # a socket pair: the handler may answer on `fd`
    # In order with the program's text: what it wrote to stdout and stderr
    # before this channel's data reaches the sink first (a display after the
    # lines printed before it).
    ordered: bool = False
    read_size: int = READ_SIZE  # bytes per read of our end
    # Read once the program is over, not watched while it runs: a byte or two that
    # only the run's outcome needs (a snippet saying its main began), which would
    # otherwise wake the run loop (and the kernel's main thread) during every run.
    at_end: bool = False
    fd: int = -1  # our end, while the run is on
    child_fd: int = -1  # the program's end (closed in our process once it started)
    received: int = 0
    dropped: int = 0

    def open(self) -> None:
        if self.two_way:
            ours, theirs = socket.socketpair()
            self.fd, child = ours.detach(), theirs.detach()
        else:
            self.fd, child = os.pipe()
        # Never 0, 1 or 2 (if our own standard descriptors were closed): those
        # numbers become the program's stdio.
        self.child_fd = fcntl.fcntl(child, fcntl.F_DUPFD_CLOEXEC, 3)
        os.close(child)
        os.set_blocking(self.fd, False)

    def started(self) -> None:
        """The program has its end: close ours of it, so that EOF means it is done."""
        if self.child_fd >= 0:
            os.close(self.child_fd)
            self.child_fd = -1

    def read(self) -> bool:
        """Read what is there; False at end of stream."""
        return self._read() is not False

    def drain(self) -> None:
        """Read what is there now, to its end, without waiting (an at_end channel, once
        the program and all it started are over: what is not there now never comes)."""
        for _ in range(DRAIN_READS):  # (a process that escaped the run may write on)
            if self.fd < 0 or not self._read():
                return

    def _read(self) -> bool | None:
        """One read: True for data, None for none yet, False at end of stream."""
        try:
            data = os.read(self.fd, self.read_size)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if not data:
            self.handle(b"")
            return False
        room = len(data) if self.limit is None else max(self.limit - self.received, 0)
        self.dropped += max(len(data) - room, 0)
        data = data[:room]
        self.received += len(data)
        if data:
            self.handle(data)
        return True

    def close(self) -> None:
        for fd in (self.fd, self.child_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.fd = self.child_fd = -1
