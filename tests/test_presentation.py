"""The one presentation layer (frontends/presentation.py) and the one set of session
commands (session_commands.py), checked without a kernel: a recording Publisher
stands where the kernel's IOPub messages and the magic's IPython display go."""

from __future__ import annotations

from typing import Any

import pytest

from gorun_kernel.errors import ExitError, UsageError
from gorun_kernel.events import ClearOutput, Display, Progress
from gorun_kernel.frontends import cellhead, session_commands
from gorun_kernel.frontends.presentation import Sink, present
from gorun_kernel.outcome import Outcome


class Recorder:
    """A Publisher that keeps what it was asked to publish, in order."""

    def __init__(self, answer: str | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.answer = answer

    def stream(self, name: str, text: str) -> None:
        self.calls.append(("stream", (name, text)))

    def display(self, data, metadata, display_id, update) -> None:
        self.calls.append(("display", (data["text/plain"], display_id, update)))

    def clear(self, wait: bool) -> None:
        self.calls.append(("clear", wait))

    def ask(self, prompt: str) -> str | None:
        self.calls.append(("ask", prompt))
        return self.answer

    def value(self, data) -> None:
        self.calls.append(("value", data))

    def error(self, error) -> None:
        self.calls.append(("error", error))


def ran(status: str = "exit status 0", **fields: Any) -> Outcome:
    outcome = Outcome(status=status, error=None, build_seconds=0.5, run_seconds=0.25)
    for name, value in fields.items():
        setattr(outcome, name, value)
    return outcome


def test_the_status_line_says_the_times_only_when_timing_is_on():
    for timing, line in [(True, "exit status 0 · build 0.50 s · run 0.25 s"), (False, None)]:
        rec = Recorder()
        present(ran(), rec, quiet=False, timing=timing)
        ((kind, (text, display_id, update)),) = rec.calls
        assert (kind, display_id, update) == ("display", None, False)
        assert text.startswith("exit status 0")
        assert (text == line) if line else (text == "exit status 0")


def test_quiet_or_nothing_run_shows_no_status_line_but_still_the_value():
    rec = Recorder()
    present(ran(value="42"), rec, quiet=True, timing=True)
    assert rec.calls == [("value", {"text/plain": "42"})]
    rec = Recorder()
    present(ran(ran=False), rec, quiet=False, timing=True)
    assert rec.calls == []


def test_a_rich_value_keeps_its_bundle_after_the_status_line():
    rec = Recorder()
    bundle = {"text/plain": "img", "image/png": "iVBOR"}
    present(ran(value="img", value_data=bundle), rec, quiet=False, timing=False)
    assert [kind for kind, _ in rec.calls] == ["display", "value"]
    assert rec.calls[1] == ("value", bundle)


def test_an_error_is_all_that_is_shown_of_a_failed_cell():
    rec = Recorder()
    error = ExitError("exit status 3")
    present(ran(status="exit status 3", error=error, value="x"), rec, quiet=False, timing=True)
    assert rec.calls == [("error", error)]


def test_the_sink_streams_displays_and_asks_through_the_publisher():
    rec = Recorder(answer="typed")
    sink = Sink(rec, progress=False)
    sink.stdout("out")
    sink.stderr("err")
    sink.event(Display({"text/plain": "d"}, display_id="x", update=True))
    sink.event(ClearOutput(wait=True))
    sink.event(Progress("building… 1.0 s"))  # not watched: no progress line
    assert sink.input_wanted("? ") == "typed"
    assert rec.calls == [
        ("stream", ("stdout", "out")),
        ("stream", ("stderr", "err")),
        ("display", ("d", "x", True)),
        ("clear", True),
        ("ask", "? "),
    ]


def test_progress_is_one_line_updated_in_place():
    rec = Recorder()
    sink = Sink(rec, progress=True)
    for text in ("building… 0.5 s", "building… 1.0 s", "building… 1.5 s"):
        sink.event(Progress(text))
    ids = {display_id for _, (_, display_id, _) in rec.calls}
    assert len(ids) == 1 and None not in ids
    assert [update for _, (_, _, update) in rec.calls] == [False, True, True]


class FakeJobs:
    def listing(self) -> str:
        return "no background programs"

    def kill_report(self, which: str) -> str:
        return f"[bg {which}] killed\n"


class FakeEngine:
    jobs = FakeJobs()


def command(kind: str, line: str, name: str) -> tuple[list[tuple[str, Any]], Any]:
    rec = Recorder()
    settings = session_commands.SessionSettings()
    session_commands.run(kind, line, settings, FakeEngine, Sink(rec, progress=False), name)  # type: ignore[arg-type]
    return rec.calls, settings


@pytest.mark.parametrize("name", ["%jobs", "%gorun_jobs"])
def test_jobs_refuses_extra_words_in_both_front_ends(name):
    with pytest.raises(UsageError, match=f"^usage: {name}$"):
        command("jobs", "extra words", name)
    calls, _ = command("jobs", "", name)
    assert calls == [("stream", ("stdout", "no background programs\n"))]


@pytest.mark.parametrize("name", ["%timing", "%gorun_timing"])
def test_timing_is_one_setting_with_one_validation(name):
    calls, settings = command("timing", "off", name)
    assert settings.timing is False
    assert calls == [("stream", ("stdout", "timing: off\n"))]
    with pytest.raises(UsageError, match=f"^usage: {name} on \\| off$"):
        command("timing", "maybe", name)


def test_the_session_commands_cellhead_finds_are_those_there_are():
    assert set(cellhead.SESSION_COMMANDS) == set(session_commands.COMMANDS)
    assert set(session_commands.MAGIC_COMMANDS) <= set(session_commands.COMMANDS)
