"""The display channel of one run: a socket the program inherits, its frames passed on in order.

The run loop reads the channel in the same select as the program's stdout and
stderr. For a frame that shows something (a display or a clear), it first
passes on the text the program wrote before it (`before`), then the display,
then acknowledges the frame; the program waits for that acknowledgement, so
what it prints after the call comes after the display. Updates are not
acknowledged: a fast series to one output is coalesced (`DisplayGate`), and its
latest state is always shown at the end of the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import struct
import threading
from collections.abc import Callable

from gorun_kernel.display.frames import (
    FD_ENV,
    UPDATE_INTERVAL,
    DisplayEvent,
    FrameDecoder,
    Note,
    RawUpdate,
    bundle_size,
    parse_frame,
)
from gorun_kernel.events import ClearOutput, Display, WidgetMessage

READ_SIZE = 1 << 20
# Updates to many outputs at once: at most this many outputs wait with an update
# (an update to another one is dropped, with a note), and at most UPDATES_PER_SEND
# of them are sent every UPDATE_INTERVAL (1,000 messages a second). A flood of
# updates to distinct outputs (50,000 ids) would otherwise go out as fast as the
# program writes them: past ZMQ's high-water mark (1,000 messages) IOPub drops
# messages, the cell's final `idle` among them, and the cell shows busy for ever.
MAX_PENDING_IDS = 500
# Widget events on their way to the program (kernel -> program): at most this many
# bytes wait when the program does not read them; past it, events are dropped.
MAX_EVENT_BACKLOG = 1 << 20
EVENT_MAGIC = b"GRE"
UPDATES_PER_SEND = 50
Emit = Callable[[DisplayEvent], None]


class DisplayGate:
    """The cell's display budget, and the coalescing of updates, in arrival order."""

    def __init__(
        self,
        limit: int,
        interval: float = UPDATE_INTERVAL,
        max_pending: int = MAX_PENDING_IDS,
        per_send: int = UPDATES_PER_SEND,
    ) -> None:
        self.limit = limit
        self.interval = interval
        self.max_pending = max_pending
        self.per_send = per_send
        self.spent = 0
        self.over = False  # the budget ran out: displays are dropped from now on
        # display id (or a widget's key) -> its latest update
        self.pending: dict[str, Display | RawUpdate | WidgetMessage] = {}
        self.last_updates: float | None = None  # when pending updates were last sent
        self.notes: set[str] = set()  # each note is given once per run
        self.updates_in = 0
        self.updates_out = 0

    def push(self, event: DisplayEvent, now: float) -> list[DisplayEvent]:
        """What to pass on now, in order, for one event from the program."""
        if isinstance(event, Note):
            return self._note(event)
        if isinstance(event, WidgetMessage):
            if event.method != "update":
                return [event]
            # A flood of changes to one widget: its changed keys merged, sent as updates are.
            key = "\0widget " + event.model_id
            before = self.pending.pop(key, None)
            if isinstance(before, WidgetMessage):
                event = dataclasses.replace(event, state={**before.state, **event.state})
            self.updates_in += 1
            self.pending[key] = event
            return self.due(now)
        if isinstance(event, RawUpdate) or (
            isinstance(event, Display) and event.update and event.display_id is not None
        ):
            assert event.display_id is not None
            self.updates_in += 1
            if self.pending.pop(event.display_id, None) is None and (
                len(self.pending) >= self.max_pending
            ):
                note = Note(
                    f"updates to more than {self.max_pending:,} outputs at once: some were "
                    "not shown (the notebook takes at most "
                    f"{self.per_send / self.interval:,.0f} updates a second)"
                )
                return [*self._note(note), *self.due(now)]
            self.pending[event.display_id] = event  # the newest goes to the end
            return self.due(now)
        out = self.flush()  # updates made before a display or a clear come before it
        if isinstance(event, ClearOutput):
            return [*out, event]
        return [*out, *self._spend(event)]

    def due(self, now: float) -> list[DisplayEvent]:
        """Pending updates, when an interval has passed since the last ones were sent."""
        if not self.pending or (
            self.last_updates is not None and now - self.last_updates < self.interval
        ):
            return []
        self.last_updates = now
        return self.flush(self.per_send)

    def flush(self, most: int | None = None) -> list[DisplayEvent]:
        """Pending updates now, the oldest first: all of them (before a display, and at
        the end of the run), or at most `most`."""
        out: list[DisplayEvent] = []
        ids = list(self.pending)[:most]
        for update in (self.pending.pop(i) for i in ids):
            if isinstance(update, WidgetMessage):
                self.updates_out += 1
                out.append(update)
                continue
            events = parse_frame(update.body) if isinstance(update, RawUpdate) else [update]
            for event in events:
                if isinstance(event, Note):
                    out.extend(self._note(event))
                elif isinstance(event, Display):
                    out.extend(self._spend(event))
        return out

    def _spend(self, event: Display) -> list[DisplayEvent]:
        if event.update:
            self.updates_out += 1
        size = bundle_size(event.data, event.metadata)
        if not self.over and self.spent + size <= self.limit:
            self.spent += size
            return [event]
        self.over = True
        return self._note(
            Note(
                f"displays not shown: over the limit of {self.limit:,} bytes of displays "
                "per cell (GORUN_DISPLAY_LIMIT)"
            )
        )

    def _note(self, note: Note) -> list[DisplayEvent]:
        if note.text in self.notes:
            return []
        self.notes.add(note.text)
        return [note]


class DisplayChannel:
    """One run's socket pair: `child_fd` for the program, frames and acks on our side."""

    def __init__(self, limit: int) -> None:
        self._ours, self._theirs = socket.socketpair()
        # Room for many small frames in flight: fewer switches between a program
        # updating an output in a loop and the run loop reading them.
        for end, option in ((self._theirs, socket.SO_SNDBUF), (self._ours, socket.SO_RCVBUF)):
            with contextlib.suppress(OSError):
                end.setsockopt(socket.SOL_SOCKET, option, 1 << 20)
        self._ours.setblocking(False)
        self._buffer = bytearray(READ_SIZE)
        self._view = memoryview(self._buffer)
        self.decoder = FrameDecoder(max_frame=limit)
        self.gate = DisplayGate(limit)
        # Acks (run loop) and widget events (the shell channel's thread) share our
        # end: one writer at a time, and what the socket did not take waits here.
        self._send_lock = threading.Lock()
        self._backlog = bytearray()
        self._closed = False
        self.events_dropped = 0

    @property
    def child_fd(self) -> int:
        """The descriptor to pass to the program (pass_fds keeps its number)."""
        return self._theirs.fileno()

    def env(self) -> dict[str, str]:
        return {FD_ENV: str(self.child_fd)}

    def started(self) -> None:
        """The program has its copy: ours closes, so the channel ends when the program's does."""
        self._theirs.close()

    def fileno(self) -> int:
        return self._ours.fileno()

    def read(self, before: Callable[[], None], emit: Emit, now: float) -> bool:
        """Read what is there and pass it on; `before` passes on the program's text so far.

        False when the channel has ended (the program closed it, or sent data
        that is not frames): the caller stops reading and closes it, and the
        program's display calls print text from then on.
        """
        try:
            # Into a buffer kept for the run: recv(n) would allocate n bytes every time.
            n = self._ours.recv_into(self._buffer)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            n = 0
        data = self._view[:n]
        frames = self.decoder.feed(data) if data else self.decoder.finish()
        for frame in frames:
            if frame.sync or any(
                isinstance(e, ClearOutput) or (isinstance(e, Display) and not e.update)
                for e in frame.events
            ):
                before()  # updates replace an output already placed: no text need go first
            for event in frame.events:
                if isinstance(event, WidgetMessage):
                    event = dataclasses.replace(event, reply=self.send_event)
                for out in self.gate.push(event, now):
                    emit(out)
            if frame.sync:
                self._ack()
        if self._backlog:
            self._write(b"")
        return bool(data) and not self.decoder.broken

    def tick(self, emit: Emit, now: float) -> None:
        """Called by the run loop every so often: coalesced updates whose time has come."""
        for out in self.gate.due(now):
            emit(out)
        if self._backlog:
            self._write(b"")  # widget events the program had no room for yet

    def finish(self, emit: Emit) -> None:
        """The run is over: the latest state of every updated output, then close."""
        for frame in self.decoder.finish():
            for event in frame.events:
                for out in self.gate.push(event, 0.0):
                    emit(out)
        for out in self.gate.flush():
            emit(out)
        self.close()

    def _ack(self) -> None:
        self._write(b"\x01")

    def send_event(self, event: dict[str, object]) -> bool:
        """A widget event for the program (any thread); False when it cannot take it:
        the run is over, or its backlog is full (the program does not read)."""
        body = json.dumps(event, separators=(",", ":")).encode()
        return self._write(EVENT_MAGIC + struct.pack(">BI", 0, len(body)) + body, bounded=True)

    def _write(self, data: bytes, bounded: bool = False) -> bool:
        """Our end is non-blocking: what does not fit now waits in the backlog, in order."""
        with self._send_lock:
            if self._closed:
                return False
            if bounded and len(self._backlog) + len(data) > MAX_EVENT_BACKLOG:
                self.events_dropped += 1
                return False
            self._backlog += data
            try:
                sent = self._ours.send(self._backlog)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:  # the program is gone; nobody waits for this
                self._backlog.clear()
                return False
            del self._backlog[:sent]
            return True

    def close(self) -> None:
        with self._send_lock:
            self._closed = True
        for s in (self._ours, self._theirs):
            with contextlib.suppress(OSError):
                s.close()
