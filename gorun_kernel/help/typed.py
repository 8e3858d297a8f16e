"""Completion and inspection that know types, for one session, with today's as fallback.

`TypedHelp.complete` / `.inspect` compose the cell being typed (helpsource.py),
send it to the session's typeinfo helper (typeinfo.py) and return an `Asked`:
a Future of the helper's reply, and the function that turns that reply (or
None: no helper, busy, too slow, a failure) into the Jupyter reply. Waiting is
the front-end's business: the kernel awaits it without holding the shell
channel, the magic's IPython matcher blocks for at most its time box. Without
an answer, the reply is what assist.py gives: standard packages, session
names, keywords, `go doc`. Help never raises into the front-end.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import InvalidStateError as FutureStateError
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gorun_kernel import config
from gorun_kernel.compose.final import SHOW
from gorun_kernel.errors import GorunError
from gorun_kernel.help import source as helpsource
from gorun_kernel.help import typeinfo
from gorun_kernel.help import untyped as assist
from gorun_kernel.help.source import ModuleView, Source

if TYPE_CHECKING:
    from gorun_kernel.engine import Engine

TIME_BOX = 1.0  # seconds a front-end waits for the helper before answering without it
GENERATED_MARK = SHOW[len("gorun")]  # "ǂ": in every name we generate, in none a user types
MAX_STARTS = 3  # helper processes a session starts (a crash costs one) before giving up
Reply = dict[str, Any]
log = logging.getLogger(__name__)


def time_box(default: float = TIME_BOX) -> float:
    """How long to wait for the helper: GORUN_HELP_TIMEOUT (seconds), else the default."""
    return config.seconds(config.HELP_TIMEOUT, default)


@dataclass
class Asked:
    """A help request on its way: the helper's reply to come, and how to answer from it."""

    future: Future[Reply | None] | None  # None: nothing to wait for
    finish: Callable[[Reply | None], Reply]


class TypedHelp:
    """The session's helper process, started on the first request that needs it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.modules = ModuleView(engine)
        self.helper: typeinfo.Helper | None = None
        self._launch: Future[typeinfo.Helper] | None = None
        self._starts = 0
        self.unavailable: str | None = None  # why there is no helper, once known
        self._closed = False

    # -- requests -------------------------------------------------------------

    def complete(self, code: str, cursor: int, body_start: int, first_line: int, cwd: str) -> Asked:
        """Completion at `cursor` (code points into code, clamped); the Go starts at body_start."""
        cursor = assist.clamp(code, cursor)

        def fallback() -> Reply:
            return assist.complete(self.engine, code, cursor)

        if assist.import_path_prefix(code[:cursor]) is not None:
            return Asked(None, lambda _: fallback())  # paths, not names: the index knows them
        source = self._source(code, cursor, body_start, first_line)
        if source is None:
            return Asked(None, lambda _: fallback())
        future = self._ask("complete", source, cwd)
        return Asked(future, lambda reply: _completion(reply, code, cursor, self.engine, fallback))

    def inspect(
        self, code: str, cursor: int, body_start: int, first_line: int, cwd: str, detail: int = 0
    ) -> Asked:
        """Inspection; detail 1 adds what inspection showed before types: the
        source of a session declaration, or all of `go doc`."""
        cursor = assist.clamp(code, cursor)

        def fallback() -> Reply:
            return assist.inspect(self.engine, code, cursor)

        source = self._source(code, cursor, body_start, first_line)
        if source is None:
            return Asked(None, lambda _: fallback())
        future = self._ask("inspect", source, cwd)
        return Asked(future, lambda reply: _inspection(reply, source, fallback, detail))

    def _source(self, code: str, cursor: int, body_start: int, first_line: int) -> Source | None:
        if self.unavailable is not None or self._closed or cursor < body_start:
            return None
        # A test cell's header (%%gotest, first in the kernel, the magic's line) says so.
        test = any(line.lstrip().startswith("%%gotest") for line in code[:body_start].split("\n"))
        return helpsource.source_for(
            self.engine, code[body_start:], cursor - body_start, first_line, test
        )

    def _ask(self, op: str, source: Source, cwd: str) -> Future[Reply | None] | None:
        try:
            modfile, gen = self.modules.prepare(source.imports, cwd)
        except OSError:
            return None  # the session's directory is gone (closing)
        request = {
            "op": op,
            "dir": str(self.engine.scratch.path),
            "modfile": modfile,
            "gen": gen,
            "file": source.file,
            "files": source.files,
            "offset": source.offset,
        }
        helper = self.helper
        if helper is not None:
            if helper.alive():
                return helper.submit(request)
            helper.close()  # it crashed: reap it, start another
            self.helper = None
        return self._after_launch(request)

    def _after_launch(self, request: Reply) -> Future[Reply | None] | None:
        """Start the helper (built once, seconds) and send the request when it is up."""
        if self._launch is None:
            if self._starts >= MAX_STARTS:
                self.unavailable = f"the typeinfo helper stopped {MAX_STARTS} times"
                return None
            self._starts += 1
            self._launch = typeinfo.launch(
                self.engine.toolchain, self.engine.scratch.path / ".gorun-helper"
            )
            self._launch.add_done_callback(self._launched)
        out: Future[Reply | None] = Future()

        def send(launch: Future[typeinfo.Helper]) -> None:
            helper = None if launch.exception() else launch.result()
            inner = helper.submit(request) if helper is not None else None
            if inner is None:
                _settle(out, None)
            else:
                inner.add_done_callback(lambda f: _settle(out, f.result()))

        self._launch.add_done_callback(send)
        return out

    def _launched(self, launch: Future[typeinfo.Helper]) -> None:
        error = launch.exception()
        if isinstance(error, GorunError):
            self.unavailable = error.message  # no go, a failed build: today's help, for good
            log.warning("gorun_kernel: type-aware help is off: %s", error.message)
        elif error is not None:
            self.unavailable = f"cannot start the typeinfo helper: {error}"
            log.warning("gorun_kernel: %s", self.unavailable)
        elif self._closed:
            launch.result().close()
        else:
            self.helper = launch.result()
        self._launch = None

    def close(self) -> None:
        """End the helper with the session."""
        self._closed = True
        if self.helper is not None:
            self.helper.close()
            self.helper = None


def _settle(fut: Future[Reply | None], value: Reply | None) -> None:
    with contextlib.suppress(FutureStateError):  # the waiter gave up (a time box)
        fut.set_result(value)


# -- replies ------------------------------------------------------------------


def _hidden(name: str) -> bool:
    """Names the user did not write: the snippet's generated main and helpers."""
    return name in ("main", helpsource.PLACEHOLDER) or GENERATED_MARK in name


def _completion(
    reply: Reply | None, code: str, cursor: int, engine: Engine, fallback: Callable[[], Reply]
) -> Reply:
    if not reply or not reply.get("ok") or reply.get("unresolved"):
        return fallback()
    prefix = reply.get("prefix", "")
    start = cursor - len(prefix)
    items = [
        (it["name"], it["kind"], it["type"])
        for it in reply.get("items") or []
        if not _hidden(it["name"])
    ]
    if not code[:start].endswith("."):
        # Words the type checker does not list: keywords, and standard packages
        # a snippet would import by itself.
        known = {name for name, _, _ in items}
        extra = [(k, "keyword", "") for k in assist.KEYWORDS if k.startswith(prefix)]
        packages = engine.stdlib().by_name
        extra += [
            (p, "package", packages[p][0].path)
            for p in sorted(packages)
            if p.startswith(prefix) and prefix
        ]
        items += [e for e in extra if e[0] not in known]
    return {
        "status": "ok",
        "matches": [name for name, _, _ in items],
        "cursor_start": start,
        "cursor_end": cursor,
        "metadata": {
            "_jupyter_types_experimental": [
                {"start": start, "end": cursor, "text": name, "type": kind, "signature": sig}
                for name, kind, sig in items
            ]
        },
    }


def _inspection(
    reply: Reply | None, source: Source, fallback: Callable[[], Reply], detail: int
) -> Reply:
    hover = (reply or {}).get("hover")
    if not hover:
        return fallback()
    parts = [hover["header"]]
    origin = source.where(hover["file"], hover["line"]) if hover.get("file") else None
    if origin is not None:
        where = f"cell {origin.cell}, line {origin.line}" if origin.cell else f"line {origin.line}"
        parts[0] += f"\n(declared at {where})"
    for part in (hover.get("doc"), hover.get("type")):
        if part:
            parts.append(part)
    if detail > 0:
        more = fallback()
        if more.get("found"):
            parts.append(more["data"]["text/plain"])
    text = "\n\n".join(parts)
    return {"status": "ok", "found": True, "data": {"text/plain": text}, "metadata": {}}
