"""The display channel's decoder and gate, on well-formed and malformed bytes (pure)."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gorun_kernel.display.channel import DisplayGate
from gorun_kernel.display.frames import FrameDecoder, Note, RawUpdate, display_limit, parse_frame
from gorun_kernel.errors import GorunError
from gorun_kernel.events import ClearOutput, Display

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake").decode()


def frame(msg: object, sync: bool = False, raw: bytes | None = None) -> bytes:
    body = raw if raw is not None else json.dumps(msg).encode()
    return struct.pack(">3sBI", b"GRD", int(sync), len(body)) + body


def events(data: bytes, max_frame: int = 1 << 20) -> list[object]:
    dec = FrameDecoder(max_frame)
    out = [e for f in dec.feed(data) for e in f.events]
    return out + [e for f in dec.finish() for e in f.events]


def notes(evs: list[object]) -> list[str]:
    return [e.text for e in evs if isinstance(e, Note)]


def test_display_update_clear_decode_with_their_sync_flags():
    stream = (
        frame({"type": "display", "id": "a", "data": {"text/plain": "x", "image/png": PNG}}, True)
        + frame({"type": "update", "id": "a", "data": {"text/html": "<b>y</b>"}})
        + frame({"type": "clear", "wait": True}, True)
    )
    frames = FrameDecoder().feed(stream)
    assert [f.sync for f in frames] == [True, False, True]
    assert frames[0].events == [
        Display({"text/plain": "x", "image/png": PNG}, {}, "a"),
    ]
    assert frames[1].events == [Display({"text/html": "<b>y</b>"}, {}, "a", update=True)]
    assert frames[2].events == [ClearOutput(wait=True)]


@given(st.lists(st.integers(min_value=1, max_value=40), max_size=30))
def test_any_split_of_the_byte_stream_gives_the_same_events(cuts):
    stream = b"".join(
        frame({"type": "display", "data": {"text/plain": f"n{i}", "application/json": [i]}})
        for i in range(5)
    )
    dec = FrameDecoder()
    got, pos = [], 0
    for n in [*cuts, len(stream)]:
        got += [e for f in dec.feed(stream[pos : pos + n]) for e in f.events]
        pos += n
    assert got == events(stream)
    assert [e.data["text/plain"] for e in got] == [f"n{i}" for i in range(5)]


def test_a_frame_cut_short_is_a_note():
    whole = frame({"type": "display", "data": {"text/plain": "hello"}})
    assert notes(events(whole[:-3])) == [
        f"a display was cut short ({len(whole) - 8 - 3:,} of {len(whole) - 8:,} bytes): "
        "the program ended while writing it"
    ]
    assert "3 bytes of a frame header" in notes(events(whole[:3]))[0]


def test_data_that_is_not_frames_breaks_the_channel_once():
    dec = FrameDecoder()
    frames = dec.feed(b"hello world, not a frame\n")
    assert dec.broken
    assert "not display frames" in frames[0].events[0].text
    assert dec.feed(frame({"type": "clear"})) == []  # nothing more is read
    assert dec.finish() == []


def test_an_oversized_frame_is_skipped_and_the_stream_stays_in_step():
    big = frame({"type": "display", "data": {"text/plain": "x" * 5000}}, sync=True)
    after = frame({"type": "display", "data": {"text/plain": "after"}})
    dec = FrameDecoder(max_frame=1000)
    frames = []
    for i in range(0, len(big + after), 333):  # the big frame arrives in pieces
        frames += dec.feed((big + after)[i : i + 333])
    assert frames[0].sync  # the program waits for its ack even so
    assert "over the limit of 1,000 bytes" in frames[0].events[0].text
    assert frames[1].events == [Display({"text/plain": "after"}, {}, None)]


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ({"type": "display", "data": {"image/png": "no base64!"}}, "png data is not valid base64"),
        ({"type": "display", "data": {"texthtml": "x"}}, "'texthtml' is not of the form type/"),
        ({"type": "display", "data": {"text/html": 3}}, "text/html data is not a string"),
        ({"type": "display", "data": ["text/plain"]}, "data is not a JSON object"),
        ({"type": "display", "data": {}}, "a display frame has no data"),
        ({"type": "explode"}, "unknown type 'explode'"),
        ({"type": "update", "data": {"text/plain": "x"}}, "an update frame has no display id"),
        ({"type": "display", "id": 7, "data": {"text/plain": "x"}}, "id is not a string"),
        ([1, 2], "not a JSON object"),
    ],
)  # fmt: skip
def test_malformed_frames_are_notes_never_exceptions(msg, expected):
    got = parse_frame(json.dumps(msg).encode())
    assert any(expected in t for t in notes(got)), got
    assert not any(isinstance(e, Display) for e in got)


def test_bad_entries_are_dropped_and_the_good_ones_kept():
    got = parse_frame(
        json.dumps(
            {"type": "display", "data": {"text/plain": "ok", "image/png": "%%%", "a b/c": "x"}}
        ).encode()
    )
    assert len(notes(got)) == 2
    assert got[-1] == Display({"text/plain": "ok"}, {}, None)


def test_invalid_json_and_invalid_utf8_are_notes():
    assert "not valid JSON" in notes(events(frame(None, raw=b"{nope")))[0]
    assert "not valid JSON" in notes(events(frame(None, raw=b"\xff\xfe")))[0]
    assert "not valid JSON" in notes(events(frame(None, raw=b"[" * 100000)))[0]


def test_the_gate_coalesces_updates_to_the_latest_per_output():
    gate = DisplayGate(limit=1 << 20, interval=0.05)
    sent = []
    t = 0.0
    for i in range(100_000):
        t += 1e-5  # 100,000 updates in one second, to two outputs
        sent += gate.push(Display({"text/plain": str(i)}, {}, "ab"[i % 2], update=True), t)
    sent += gate.flush()
    assert gate.updates_in == 100_000
    assert len(sent) <= 2 * (1 / 0.05 + 2)
    last = {u.display_id: u.data["text/plain"] for u in sent}
    assert last == {"a": "99998", "b": "99999"}  # the final state of each is shown


def test_pending_updates_go_before_a_display_and_a_clear():
    gate = DisplayGate(limit=1 << 20)
    gate.push(Display({"text/plain": "1"}, {}, "a", update=True), 1.0)
    assert gate.push(Display({"text/plain": "2"}, {}, "a", update=True), 1.01) == []  # held
    out = gate.push(ClearOutput(), 1.02)
    assert out == [Display({"text/plain": "2"}, {}, "a", update=True), ClearOutput()]


def test_the_budget_drops_displays_past_it_with_one_note():
    gate = DisplayGate(limit=100)
    out = []
    for i in range(5):
        out += gate.push(Display({"text/plain": "x" * 40}, {}, f"d{i}"), 0)
    shown = [e for e in out if isinstance(e, Display)]
    assert len(shown) == 2
    assert notes(out) == [
        "displays not shown: over the limit of 100 bytes of displays per cell (GORUN_DISPLAY_LIMIT)"
    ]


def test_display_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("GORUN_DISPLAY_LIMIT", "1000")
    assert display_limit() == 1000
    monkeypatch.setenv("GORUN_DISPLAY_LIMIT", "lots")
    with pytest.raises(GorunError, match="GORUN_DISPLAY_LIMIT=lots is not a number of bytes"):
        display_limit()


def go_frame(msg: dict) -> bytes:
    """A frame as the Go package writes it: compact JSON, fields in its struct's order."""
    return frame(None, raw=json.dumps(msg, separators=(",", ":")).encode())


def test_updates_as_go_writes_them_are_parsed_only_when_shown():
    gate = DisplayGate(limit=1 << 20, interval=0.05)
    dec = FrameDecoder()
    stream = b"".join(
        go_frame({"type": "update", "id": "bar", "data": {"text/plain": str(i)}, "metadata": {}})
        for i in range(1000)
    )
    stream += go_frame(  # the last one is broken: its note shows, since it is the latest
        {"type": "update", "id": "bar", "data": {"image/png": "%%"}, "metadata": {}}
    )
    raw = [e for f in dec.feed(stream) for e in f.events]
    assert all(isinstance(e, RawUpdate) and e.display_id == "bar" for e in raw)
    out = [o for e in raw for o in gate.push(e, 1.0)] + gate.flush()
    assert out[0] == Display({"text/plain": "0"}, {}, "bar", update=True)
    assert out[1:] == [Note("a display's image/png data is not valid base64")]


def test_metadata_counts_against_the_display_budget():
    # 8 displays of 5 bytes with 20 MB of metadata each reached the front-end under a
    # 32 MB budget: the metadata goes to the front-end too.
    gate = DisplayGate(limit=1000)
    out = []
    for i in range(8):
        out += gate.push(Display({"text/plain": "small"}, {"pad": "x" * 400}, f"d{i}"), 0)
    shown = [e for e in out if isinstance(e, Display)]
    assert len(shown) == 2
    assert notes(out) == [
        "displays not shown: over the limit of 1,000 bytes of displays per cell "
        "(GORUN_DISPLAY_LIMIT)"
    ]


SURROGATE_NOTE = (
    "a display frame's text held a lone surrogate (a \\uD800-\\uDFFF escape with no pair), "
    "which is no character: shown as U+FFFD"
)


@pytest.mark.parametrize(
    "body",
    [
        rb'{"type":"display","data":{"text/plain":"a\ud800b"}}',  # an escape, as JSON allows
        rb'{"type":"display","data":{"text/plain":"a\uDC00b"}}',
        b'{"type":"display","data":{"text/plain":"a\xed\xa0\x80b"}}',  # its UTF-8-like bytes
    ],
)
def test_a_lone_surrogate_is_a_note_and_shown_as_a_replacement_character(body):
    got = events(frame(None, raw=body))
    assert got == [Note(SURROGATE_NOTE), Display({"text/plain": "a\ufffdb"}, {}, None)]


def test_lone_surrogates_in_metadata_ids_and_keys_are_replaced_too():
    body = (
        rb'{"type":"update","id":"x\ud800","data":{"text/plain":"ok"},'
        rb'"metadata":{"k\udfff":["\ud800", {"n": 1}]}}'
    )
    (note, shown) = events(frame(None, raw=body))
    assert note == Note(SURROGATE_NOTE)
    assert shown == Display(
        {"text/plain": "ok"}, {"k\ufffd": ["\ufffd", {"n": 1}]}, "x\ufffd", True
    )
    # What a front-end sends must encode as UTF-8 (jupyter_client's did not: InternalError).
    json.dumps([shown.data, shown.metadata, shown.display_id], ensure_ascii=False).encode()


def test_a_surrogate_pair_is_a_character_not_a_note():
    got = events(frame(None, raw=rb'{"type":"display","data":{"text/plain":"\ud83d\ude00"}}'))
    assert got == [Display({"text/plain": "\U0001f600"}, {}, None)]


def test_updates_to_many_outputs_are_bounded_and_coalesced():
    # 50,000 outputs updated once each in 4.4 s went out as 50,000 IOPub messages; ZMQ
    # dropped three quarters, the cell's `idle` among them.
    gate = DisplayGate(limit=1 << 30)  # at most 500 outputs waiting, 50 sent per 0.05 s
    sends = []
    t = 0.0
    for i in range(50_000):
        t += 4.4 / 50_000
        sends.append(gate.push(Display({"text/plain": str(i)}, {}, f"id{i}", update=True), t))
        assert len(gate.pending) <= 500
    sends.append(gate.flush())  # the end of the run
    shown = [e for batch in sends for e in batch if isinstance(e, Display)]
    assert max(len(batch) for batch in sends[:-1]) <= 50 + 1  # a send (and a note)
    assert len(sends[-1]) <= 500
    assert len(shown) <= (4.4 / 0.05 + 1) * 50 + 500
    assert notes([e for batch in sends for e in batch]) == [
        "updates to more than 500 outputs at once: some were not shown "
        "(the notebook takes at most 1,000 updates a second)"
    ]
    # Updates to outputs already waiting are still coalesced, not dropped.
    gate = DisplayGate(limit=1 << 30)
    out = []
    for i in range(100_000):
        out += gate.push(Display({"text/plain": str(i)}, {}, f"bar{i % 400}", update=True), 1.0)
    out += gate.flush()
    assert not notes(out)
    final = {e.display_id: e.data["text/plain"] for e in out}
    assert final == {f"bar{j}": str(100_000 - 400 + j) for j in range(400)}
