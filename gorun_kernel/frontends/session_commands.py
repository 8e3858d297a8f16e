"""The session commands: `%goflags`, `%env`, `%timeout`, `%vet`, `%memory`, `%list`,
`%rm`, `%reset`, `%timing`, `%jobs`, `%kill`, `%help` in the kernel (see cellhead.py
for how the lines are found), and the magic's `%gorun_list`, `%gorun_rm`, ...: one
implementation, the same validation in both front-ends.

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
from gorun_kernel.frontends import reference, render
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


@dataclass
class Call:
    """One session command as the user wrote it, in either front-end."""

    name: str  # as written: "%jobs" in the kernel, "%gorun_jobs" in the magic
    words: list[str]
    settings: SessionSettings
    engine: Engines
    sink: OutputSink

    def say(self, text: str) -> None:
        """A line of the command's output."""
        self.sink.stdout(text + "\n")

    def usage(self, rest: str = "") -> UsageError:
        return UsageError(f"usage: {self.name}{' ' + rest if rest else ''}")


Command = Callable[[Call], None]


def _help(c: Call) -> None:
    c.sink.event(Display(reference.bundle("kernel")))  # Markdown, and plain text for consoles


def _list(c: Call) -> None:
    if c.words:  # what it would mean is name?? already: the source of one declaration
        raise c.usage("(no arguments; a cell of just NAME?? shows a declaration's source)")
    c.say(render.listing(c.engine().declarations()))


def _rm(c: Call) -> None:
    """`%rm [-r] NAME...`: forget declarations, and say what went.

    A declaration other declarations use is kept, naming them, unless -r says
    to remove them too: removing it alone would break every later cell.
    """
    recursive = "-r" in c.words
    names = [w for w in c.words if w != "-r"]
    if not names or any(n.startswith("-") for n in names):
        raise c.usage("[-r] NAME [NAME...]")
    engine = c.engine()
    users = [
        f"{', '.join(n for n in d.names if n and n not in names) or d.kind + ' _'} (cell {d.cell})"
        for d in engine.session.dependents(names)
    ]
    if users and not recursive:
        raise UsageError(
            f"not removed: {', '.join(names)} {'is' if len(names) == 1 else 'are'} used by "
            f"{'; '.join(users)}; {c.name} -r {' '.join(names)} removes those too"
        )
    before = engine.declarations()
    missing = engine.remove(*names, dependents=recursive)
    if len(missing) < len(names):
        c.say(render.removed(before, engine.declarations()))
    if missing:
        raise UsageError(f"not declared in this session: {', '.join(missing)}")


def _reset(c: Call) -> None:
    if any(w != "--go-mod" for w in c.words):
        raise c.usage("[--go-mod]")
    c.say(render.forgotten(c.engine().reset(go_mod="--go-mod" in c.words)))


def _goflags(c: Call) -> None:
    s = c.settings
    if c.words == ["--clear"]:
        s.words = []
    elif c.words:
        probe = s.command(c.words, cmdline.USAGE_CELL)  # fails now, not in later cells
        if probe.positional:
            raise UsageError(f"{c.name} takes flags and options, not arguments")
        if probe.chdir is not None:
            raise UsageError("-C dir is for %gorun package runs, not for every cell")
        s.words = c.words
    c.say(f"goflags: {shlex.join(s.words) or '(none)'}")


def _env(c: Call) -> None:
    s = c.settings
    for w in c.words:
        k, v = cmdline.parse_env(w)
        s.env[k] = v
    shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in s.env.items())
    c.say(f"env: {shown or '(none)'}")


def _timeout(c: Call) -> None:
    s = c.settings
    if c.words in (["off"], ["none"]):
        s.timeout = None
    elif len(c.words) == 1:
        s.timeout = cmdline.parse_duration(c.words[0])
    elif c.words:
        raise c.usage("D | off")
    c.say(f"timeout: {format_duration(s.timeout) if s.timeout else 'none'}")


def _timing(c: Call) -> None:
    if c.words in (["on"], ["off"]):
        c.settings.timing = c.words == ["on"]
    elif c.words:
        raise c.usage("on | off")
    c.say(f"timing: {'on' if c.settings.timing else 'off'}")


def _vet(c: Call) -> None:
    if c.words in (["on"], ["off"]):
        c.settings.vet = c.words == ["on"]
    elif c.words:
        raise c.usage("on | off")
    c.say(f"vet: {'on' if c.settings.vet else 'off'}")


def _jobs(c: Call) -> None:
    if c.words:
        raise c.usage()
    c.say(c.engine().jobs.listing())


def _kill(c: Call) -> None:
    if len(c.words) != 1:
        raise c.usage("N | all")
    c.sink.stdout(c.engine().jobs.kill_report(c.words[0]))


def _memory(c: Call) -> None:
    s = c.settings
    ceiling = c.engine().runner.memory_ceiling
    if len(c.words) == 1:
        asked = memlimit.ask(c.words[0])
        memlimit.choose(asked, ceiling)  # refused now if over GORUN_MEMORY_LIMIT
        s.memory = asked
    elif c.words:
        raise c.usage("SIZE | off   (SIZE: 512MiB, 2GiB, ...)")
    limit = memlimit.choose(s.memory, ceiling)
    shown = f"{limit} per program" if limit is not None else "no limit"
    if ceiling is not None:
        shown += f" (at most {ceiling}: {memlimit.ENV})"
    c.say(f"memory: {shown}")


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
# The magic's %gorun_NAME commands: the same functions (the settings that only
# shape the kernel's command lines have no magic form: %%gorun takes options).
MAGIC_COMMANDS = ("list", "rm", "reset", "timing", "jobs", "kill")


def run(
    kind: str, line: str, settings: SessionSettings, engine: Engines, sink: OutputSink, name: str
) -> None:
    """Carry out one session command line (`name`: the command as the user wrote it)."""
    COMMANDS[kind](Call(name, cmdline.split_line(line), settings, engine, sink))
