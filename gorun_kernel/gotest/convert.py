"""go's test2json reading a test binary's output from a pipe of ours.

`go test -json` runs the binary under test2json; so did we, and test2json
keeps the binary's exit status to itself (it exits 1 whatever happened:
`os.Exit(3)` in a test and a panic look the same). Here the binary is the
run's own program, so its exit status is ours to tell, and what it writes to
stdout and stderr (test2json merges them, as here) is fed to test2json's
standard input, as `go doc cmd/test2json` allows. test2json's events are read
in a thread of their own, so that its output never fills a pipe while we
write to its input.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import subprocess
import threading
from pathlib import Path

from gorun_kernel.gotest.report import EventReader

READ_SIZE = 1 << 16


class Converter:
    """One test2json process for one run; write() the binary's text, close() at its end."""

    def __init__(self, test2json: Path, reader: EventReader) -> None:
        self.reader = reader
        self.proc = subprocess.Popen(
            [str(test2json)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # A session of its own: an interrupt sent to the kernel's process group
            # must not end it before it has said what the binary wrote. It ends at
            # end of input, also when the kernel dies.
            start_new_session=True,
        )
        self.thread = threading.Thread(target=self._read, name="gorun-test2json", daemon=True)
        self.thread.start()

    def write(self, text: str) -> None:
        stdin = self.proc.stdin
        if stdin is None or stdin.closed:
            return
        try:
            stdin.write(text.encode("utf-8", errors="replace"))
            stdin.flush()
        except OSError:  # test2json ended (killed): what it said is all there is
            with contextlib.suppress(OSError):
                stdin.close()

    def close(self) -> None:
        """End of the binary's output: wait for test2json's last events."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.thread.join()
        self.proc.wait()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while data := os.read(fd, READ_SIZE):
            self.reader.feed(decoder.decode(data))
        self.reader.feed(decoder.decode(b"", final=True))
        self.proc.stdout.close()
