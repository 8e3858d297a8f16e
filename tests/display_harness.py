"""Build Go programs that use the shipped display package, and run them with a display channel.

`run` is a small stand-in for the engine's run loop: it reads stdout, stderr and
the channel in one select, as the engine does, and records everything in the
order it is passed on, so tests can check order, coalescing and limits against
a real program and a real socket.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from pathlib import Path

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.display.channel import DisplayChannel
from gorun_kernel.display.frames import DEFAULT_LIMIT, DisplayEvent
from gorun_kernel.paths import DISPLAY_MODULE, GOLIB_DIR

Record = tuple[str, object]  # ("stdout", text), ("stderr", text), ("event", DisplayEvent)


def build(directory: Path, source: str) -> Path:
    """Build a main package importing the display module from the Python package."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "go.mod").write_text(
        f"module example.org/prog\n\ngo 1.21\n\nrequire {DISPLAY_MODULE} v0.0.0\n\n"
        f'replace {DISPLAY_MODULE} => "{GOLIB_DIR}"\n'
    )
    (directory / "main.go").write_text(source)
    go = find_toolchain().go
    env = {**os.environ, "GOWORK": "off", "GOFLAGS": "-mod=mod"}
    res = subprocess.run(
        [go, "build", "-o", "prog", "."], cwd=directory, env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    return directory / "prog"


def run(argv: list[str], limit: int = DEFAULT_LIMIT, channel: bool = True) -> list[Record]:
    """Run a program to its end; what it showed and printed, in the order passed on."""
    chan = DisplayChannel(limit) if channel else None
    env = {k: v for k, v in os.environ.items() if k != "GORUN_DISPLAY_FD"}
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**env, **(chan.env() if chan else {})},
        pass_fds=[chan.child_fd] if chan else (),
    )
    assert proc.stdout is not None and proc.stderr is not None
    if chan:
        chan.started()
    records: list[Record] = []
    pipes = {proc.stdout.fileno(): "stdout", proc.stderr.fileno(): "stderr"}
    for fd in pipes:
        os.set_blocking(fd, False)

    def text(name: str, data: bytes) -> None:
        if records and records[-1][0] == name:
            records[-1] = (name, str(records[-1][1]) + data.decode())
        else:
            records.append((name, data.decode()))

    def drain() -> None:
        for fd, name in list(pipes.items()):
            while True:
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    break
                if not data:
                    del pipes[fd]
                    sel.unregister(fd)
                    break
                text(name, data)

    def event(e: DisplayEvent) -> None:
        records.append(("event", e))

    sel = selectors.DefaultSelector()
    for fd in pipes:
        sel.register(fd, selectors.EVENT_READ)
    if chan:
        sel.register(chan, selectors.EVENT_READ)
    reading = chan is not None
    while pipes or reading:
        for key, _ in sel.select(0.05):
            if chan and key.fileobj is chan:
                if not chan.read(drain, event, time.monotonic()):
                    sel.unregister(chan)
                    chan.close()
                    reading = False
            else:
                drain()
        if chan:
            chan.tick(event, time.monotonic())
    proc.wait()
    if chan:
        chan.finish(event)
    sel.close()
    return records


def events(records: list[Record]) -> list[DisplayEvent]:
    return [r[1] for r in records if r[0] == "event"]  # type: ignore[misc]
