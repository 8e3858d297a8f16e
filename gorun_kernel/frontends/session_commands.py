"""The kernel's session commands: `%goflags`, `%env`, `%timeout`, `%vet`, `%memory`, `%list`,
`%rm`, `%reset`, `%help` (see cellhead.py for how the lines are found).

Settings made here apply to every later cell; `SessionSettings.command()`
turns a cell's own words into its command line with them. Each command is a
function of its own, found by name in COMMANDS: a new `%` command is one more
function and one more entry.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gorun_kernel import cmdline
from gorun_kernel.errors import UsageError
from gorun_kernel.events import Display, OutputSink
from gorun_kernel.frontends import cellhead, reference, render
from gorun_kernel.gotest import flags as testflags
from gorun_kernel.outcome import format_duration
from gorun_kernel.proc import memlimit

if TYPE_CHECKING:  # the kernel imports this module at start, before its engine is made
    from gorun_kernel.engine import Engine


@dataclass
class SessionSettings:
    """What the session's % lines set, for every later cell."""

    words: list[str] = field(default_factory=list)  # %goflags
    env: dict[str, str] = field(default_factory=dict)  # %env
    timeout: float | None = None  # %timeout
    timing: bool = True  # %timing: build and run times on the status line
    vet: bool = False  # %vet on
    memory: memlimit.MemoryAsk = None  # %memory SIZE or off; None: never given

    def command(self, words: list[str], usage: str) -> cmdline.Command:
        """A cell's command line: the session's words, then the cell's own."""
        return self._with_session(cmdline.parse([*self.words, *words], usage, help_hint="%help"))

    def test_command(self, words: list[str], usage: str) -> testflags.TestCommand:
        """A test cell's (or %gotest's) command line: go test's flags, and the session's."""
        tcmd = testflags.parse([*self.words, *words], usage, help_hint="%help")
        tcmd.cmd = self._with_session(tcmd.cmd)
        return tcmd

    def _with_session(self, cmd: cmdline.Command) -> cmdline.Command:
        for name in ("stdin_var", "out_var", "err_var"):
            if getattr(cmd, name):
                option = "--" + name.removesuffix("_var")
                raise UsageError(
                    f"{option} uses Python variables: it is for the %%gorun magic "
                    "(in this kernel, --stdin-file PATH gives a file as input)"
                )
        for option, names in (("--in", cmd.in_vars), ("--export", cmd.export_vars)):
            if names:
                raise UsageError(
                    f"{option} moves data between Python and Go: it is for the %%gorun magic "
                    "in a Python notebook (this kernel's cells are all Go)"
                )
        if not cmd.raise_error:
            # A kernel has no exception to hold back: a failed cell is an error reply.
            raise UsageError(
                "--no-raise-error is for the %%gorun magic; in this kernel a "
                "failure is always the cell's error"
            )
        cmd.env = {**self.env, **cmd.env}
        if cmd.timeout is None:
            cmd.timeout = self.timeout
        cmd.vet = cmd.vet or self.vet
        if cmd.memory is None:
            cmd.memory = self.memory
        return cmd


Engines = Callable[[], "Engine"]  # the session's engine, or the error that it could not start
Command = Callable[[list[str], SessionSettings, Engines, OutputSink], None]


def _help(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    sink.event(Display(reference.bundle("kernel")))  # Markdown, and plain text for consoles


LIST_USAGE = "usage: {} (no arguments; a cell of just NAME?? shows a declaration's source)"


def _list(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    if words:  # what it would mean is name?? already: the source of one declaration
        raise UsageError(LIST_USAGE.format("%list"))
    sink.stdout(render.listing(engine().declarations()) + "\n")


def _rm(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    remove(engine(), words, "%rm", lambda text: sink.stdout(text + "\n"))


def remove(engine: Engine, words: list[str], command: str, say: Callable[[str], None]) -> None:
    """`%rm [-r] NAME...` (the magic's %gorun_rm too): forget declarations, and
    `say` what went.

    A declaration other declarations use is kept, naming them, unless -r says
    to remove them too: removing it alone would break every later cell.
    """
    recursive = "-r" in words
    names = [w for w in words if w != "-r"]
    if not names or any(n.startswith("-") for n in names):
        raise UsageError(f"usage: {command} [-r] NAME [NAME...]")
    users = [
        f"{', '.join(n for n in d.names if n and n not in names) or d.kind + ' _'} (cell {d.cell})"
        for d in engine.session.dependents(names)
    ]
    if users and not recursive:
        raise UsageError(
            f"not removed: {', '.join(names)} {'is' if len(names) == 1 else 'are'} used by "
            f"{'; '.join(users)}; {command} -r {' '.join(names)} removes those too"
        )
    before = engine.declarations()
    missing = engine.remove(*names, dependents=recursive)
    if len(missing) < len(names):
        say(render.removed(before, engine.declarations()))
    if missing:
        raise UsageError(f"not declared in this session: {', '.join(missing)}")


def _reset(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    if any(w != "--go-mod" for w in words):
        raise UsageError("usage: %reset [--go-mod]")
    sink.stdout(render.forgotten(engine().reset(go_mod="--go-mod" in words)) + "\n")


def _goflags(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    if words == ["--clear"]:
        s.words = []
    elif words:
        probe = s.command(words, cmdline.USAGE_CELL)  # fails now, not in later cells
        if probe.positional:
            raise UsageError("%goflags takes flags and options, not arguments")
        if probe.chdir is not None:
            raise UsageError("-C dir is for %gorun package runs, not for every cell")
        s.words = words
    sink.stdout(f"goflags: {shlex.join(s.words) or '(none)'}\n")


def _env(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    for w in words:
        k, v = cmdline.parse_env(w)
        s.env[k] = v
    shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in s.env.items())
    sink.stdout(f"env: {shown or '(none)'}\n")


def _timeout(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    if words in (["off"], ["none"]):
        s.timeout = None
    elif len(words) == 1:
        s.timeout = cmdline.parse_duration(words[0])
    elif words:
        raise UsageError("usage: %timeout D | off")
    sink.stdout(f"timeout: {format_duration(s.timeout) if s.timeout else 'none'}\n")


def _timing(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    if words == ["on"]:
        s.timing = True
    elif words == ["off"]:
        s.timing = False
    elif words:
        raise UsageError("usage: %timing on | off")
    sink.stdout(f"timing: {'on' if s.timing else 'off'}\n")


def _vet(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    if words in (["on"], ["off"]):
        s.vet = words == ["on"]
    elif words:
        raise UsageError("usage: %vet on | %vet off")
    sink.stdout(f"vet: {'on' if s.vet else 'off'}\n")


def _jobs(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    if words:
        raise UsageError("usage: %jobs")
    sink.stdout(engine().jobs.listing() + "\n")


def _kill(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    if len(words) != 1:
        raise UsageError("usage: %kill N | all")
    sink.stdout(engine().jobs.kill_report(words[0]))


def _memory(words: list[str], s: SessionSettings, engine: Engines, sink: OutputSink) -> None:
    ceiling = engine().runner.memory_ceiling
    if len(words) == 1:
        asked = memlimit.ask(words[0])
        memlimit.choose(asked, ceiling)  # refused now if over GORUN_MEMORY_LIMIT
        s.memory = asked
    elif words:
        raise UsageError("usage: %memory SIZE | off   (SIZE: 512MiB, 2GiB, ...)")
    limit = memlimit.choose(s.memory, ceiling)
    shown = f"{limit} per program" if limit is not None else "no limit"
    if ceiling is not None:
        shown += f" (at most {ceiling}: {memlimit.ENV})"
    sink.stdout(f"memory: {shown}\n")


COMMANDS: dict[str, Command] = {
    "jobs": _jobs,
    "kill": _kill,
    "timing": _timing,
    "help": _help,
    "list": _list,
    "rm": _rm,
    "reset": _reset,
    "goflags": _goflags,
    "env": _env,
    "timeout": _timeout,
    "vet": _vet,
    "memory": _memory,
}


def run(
    d: cellhead.Directive, s: SessionSettings, engine: Callable[[], Engine], sink: OutputSink
) -> None:
    """Carry out one session command line."""
    COMMANDS[d.kind](cmdline.split_line(d.words), s, engine, sink)
