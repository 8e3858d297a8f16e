"""A two-way channel for data between the front-end and the program (golib/pydata).

A socket pair whose far end the program inherits (channels.py): what the
front-end sends is written to our end from a thread of its own, as the
program reads it (a value of 80 MB does not fit a socket's buffer, and the
run loop must keep reading the program's output meanwhile); what the program
sends back is read by the run loop as any channel's data, without a bound (the
program sends what the user asked for: --export, the final value).
The same channel may serve several runs of one cell (a test binary listing
its tests after a panic): each run gets the frames again.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from gorun_kernel.proc.channels import Channel

BUFFER = 4 << 20  # socket buffers and reads: 4 MiB


@dataclass
class DataChannel(Channel):
    """Channel(two_way) that also writes `outgoing` (chunks of bytes) to the program."""

    outgoing: list[bytes | memoryview] = field(default_factory=list)
    writers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def create(
        cls, env: str, handle: Callable[[bytes], None], outgoing: list[bytes | memoryview]
    ) -> DataChannel:
        return cls(env=env, handle=handle, two_way=True, read_size=BUFFER, outgoing=outgoing)

    def open(self) -> None:
        super().open()
        for end in (self.fd, self.child_fd):  # fewer, larger reads and writes for big values
            with socket.socket(fileno=os.dup(end)) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
        fd = os.dup(self.fd)  # the writer's own: the run may close self.fd before it ends
        writer = threading.Thread(
            target=_write_all, args=(fd, self.outgoing), name="gorun-pydata", daemon=True
        )
        self.writers.append(writer)
        writer.start()

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the writers: each ends once all was written or the program is gone."""
        for w in self.writers:
            w.join(timeout)
        self.writers.clear()


def _write_all(fd: int, chunks: list[bytes | memoryview]) -> None:
    """Write every chunk to a non-blocking socket, waiting while it is full; stop when
    the program is gone (EPIPE: it ended without reading all, which is its right)."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    try:
        for chunk in chunks:
            view = memoryview(chunk).cast("B")
            while view.nbytes:
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    poller.poll()
                    continue
                except OSError:
                    return
                view = view[n:]
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
