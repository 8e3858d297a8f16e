"""The command line of `%%gorun`, `%gorun` and the kernel's `%` lines.

It mirrors `go run [build flags] [-exec xprog] package [arguments...]`, parsed
the way Go's flag package parses it: `-flag`, `--flag`, `-flag=value`,
`-flag value` (not for boolean flags); parsing stops at `--` or at the first
word that is not a flag, and everything after that is positional.

Our own options are spelled with two dashes and none has a go flag's name, so
both kinds mix freely before the positional words.
"""

from __future__ import annotations

import keyword
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gorun_kernel.errors import UsageError
from gorun_kernel.proc import memlimit
from gorun_kernel.proc.memlimit import MemoryAsk
from gorun_kernel.proc.stdinfeed import StdinFile

# `go help build`: the build flags that `go run` accepts, and whether each one
# takes a value. Boolean flags also accept `-flag=true|false`.
GO_BOOL_FLAGS = frozenset(
    "a n race msan asan cover v work x json linkshared modcacherw trimpath buildvcs".split()
)
GO_VALUE_FLAGS = frozenset(
    "p covermode coverpkg asmflags buildmode compiler gccgoflags gcflags installsuffix "
    "ldflags mod modfile overlay pgo pkgdir tags toolexec "
    "debug-actiongraph debug-runtime-trace debug-trace".split()
)
# `go build` has -o, but `go run` does not: the binary is ours to place.
NOT_RUN_FLAGS = frozenset({"o"})

USAGE_CELL = "%%gorun [go build flags] [-exec xprog] [options] [--] [program arguments]"
USAGE_LINE = "%gorun [go build flags] [-exec xprog] [options] package [program arguments]"


_GO_FLAGS = GO_BOOL_FLAGS | GO_VALUE_FLAGS | NOT_RUN_FLAGS | {"exec", "C"}

# Our options: name -> takes a value.
OUR_OPTIONS = {
    "timeout": True,
    "memory": True,
    "env": True,
    "stdin": True,
    "stdin-file": True,
    "out": True,
    "in": True,
    "export": True,
    "err": True,
    "no-raise-error": False,
    "quiet": False,
    "vet": False,
    "bg": False,
    "wait-port": True,
    "wait-url": True,
    "wasm": False,
}

_PYTHON_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"  # digits, a point: no 1_0, 1e3, inf or nan
_SECONDS = re.compile(rf"^{_NUMBER}$")
_DURATION_PART = re.compile(rf"({_NUMBER})(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}  # fmt: skip


@dataclass
class Command:
    """One parsed command line."""

    build_flags: list[str] = field(default_factory=list)  # as go build takes them
    exec_cmd: list[str] | None = None  # -exec xprog, split into words
    chdir: str | None = None  # -C dir
    timeout: float | None = None  # seconds
    memory: MemoryAsk = None  # --memory SIZE or off; None: not given
    env: dict[str, str] = field(default_factory=dict)
    stdin_var: str | None = None
    stdin_file: str | None = None
    out_var: str | None = None
    in_vars: list[str] = field(default_factory=list)  # --in: Python -> Go
    export_vars: list[str] = field(default_factory=list)  # --export: Go -> Python
    err_var: str | None = None
    raise_error: bool = True
    quiet: bool = False
    vet: bool = False  # --vet: go vet the cell alongside the build
    background: bool = False  # --bg: start the program and return
    wait_port: int | None = None  # --wait-port: return once it accepts connections there
    wait_url: str | None = None  # --wait-url: ... once this URL answers
    wasm: bool = False  # --wasm: built for js/wasm, run in the notebook page
    positional: list[str] = field(default_factory=list)  # after the flags

    def package_and_args(self) -> tuple[list[str], list[str]]:
        """Split positional words as `go run` does: a package or a .go file list, then args."""
        words = self.positional
        if not words:
            return [], []
        n = 1
        if words[0].endswith(".go"):
            while n < len(words) and words[n].endswith(".go"):
                n += 1
        return words[:n], words[n:]


def split_line(line: str) -> list[str]:
    """Split a magic line into words with shell quoting rules (no shell is run)."""
    if "\0" in line:
        # No argument, variable or path can hold one (exec and the kernel take
        # NUL-terminated strings): refused here, before any of it is kept.
        raise UsageError(
            "a NUL byte (\\0) cannot be part of a command line: no program argument, "
            "environment variable or file name can hold one"
        )
    try:
        return shlex.split(line, comments=False, posix=True)
    except ValueError as e:
        raise UsageError(f"cannot split the command line: {e}") from None


def parse_duration(text: str) -> float:
    """Seconds from "5", "2.5", or a Go duration such as "1m30s" or "500ms"."""
    t = text.strip()
    if _SECONDS.match(t):
        seconds = float(t)
    else:
        # Python's float() would also take "1_0", "1e3", "inf": not what anyone
        # means by a timeout, and not Go's syntax either.
        pos, seconds = 0, 0.0
        for m in _DURATION_PART.finditer(t):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
            pos = m.end()
        if pos != len(t) or not t:
            raise UsageError(
                f"invalid duration {text!r}: give seconds (5, 2.5) or a Go duration (1m30s)"
            ) from None
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError(f"invalid duration {text!r}: it must be more than zero")
    return seconds


def parse_env(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise UsageError(f"--env wants NAME=VALUE, got {text!r}")
    if "\0" in value:
        raise UsageError(f"--env {name}: an environment variable cannot hold a NUL byte")
    return name, value


def parse(words: list[str], usage: str = USAGE_CELL, help_hint: str = "%gorun?") -> Command:
    """Parse command-line words into a Command, or raise UsageError."""
    cmd = Command()
    i = 0

    def fail(message: str) -> UsageError:
        return UsageError(f"{message}\nusage: {usage}\n(see {help_hint} for the options)")

    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            break
        if not word.startswith("-") or word == "-":
            i -= 1
            break
        double = word.startswith("--")
        name, has_value, value = word[2 if double else 1 :].partition("=")
        takes_value = (double and OUR_OPTIONS.get(name)) or name in GO_VALUE_FLAGS
        takes_value = takes_value or name in ("exec", "C")
        if takes_value and not has_value:
            if i >= len(words):
                raise fail(f"flag needs an argument: {word}")
            value, i = words[i], i + 1

        if double and name in OUR_OPTIONS:
            _our_option(cmd, name, value, has_value, fail)
        elif name in OUR_OPTIONS:
            raise fail(f"flag provided but not defined: {word} (did you mean --{name}?)")
        elif double and name not in _GO_FLAGS:
            # Two dashes mark our options; go's flag package would report this
            # one as `-name`, a word the user never wrote.
            raise fail(
                f"flag provided but not defined: --{name} (gorun's options: "
                f"--{', --'.join(OUR_OPTIONS)}; a go build flag takes one dash: -{name})"
            )
        elif name == "exec":
            try:
                cmd.exec_cmd = shlex.split(value)
            except ValueError as e:
                raise fail(f"-exec {value!r}: {e}") from None
            if not cmd.exec_cmd:
                raise fail("-exec needs a program")
        elif name == "C":
            cmd.chdir = value
        elif name in GO_BOOL_FLAGS:
            if has_value and value.lower() not in ("true", "false", "1", "0", "t", "f", "auto"):
                raise fail(f'invalid boolean value "{value}" for -{name}')
            cmd.build_flags.append(f"-{name}" + (f"={value}" if has_value else ""))
        elif name in GO_VALUE_FLAGS:
            cmd.build_flags.append(f"-{name}={value}")
        elif name in NOT_RUN_FLAGS:
            raise fail(f"flag provided but not defined: {word} (go run does not take it)")
        else:
            # A flag we do not know: maybe newer than this table. Hand it to go
            # as it is written, so that go answers with its own error or meaning.
            cmd.build_flags.append(word)
    cmd.positional = words[i:]
    if (cmd.wait_port or cmd.wait_url) and not cmd.background:
        raise fail("--wait-port and --wait-url are for background programs: add --bg")
    return cmd


def _our_option(
    cmd: Command, name: str, value: str, has_value: bool, fail: Callable[[str], UsageError]
) -> None:
    if name in ("quiet", "no-raise-error", "vet", "bg", "wasm"):
        if has_value:
            raise fail(f"option --{name} takes no value")
        if name == "wasm":
            cmd.wasm = True
        elif name == "quiet":
            cmd.quiet = True
        elif name == "vet":
            cmd.vet = True
        elif name == "bg":
            cmd.background = True
        else:
            cmd.raise_error = False
    elif name == "wait-port":
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise fail(f"--wait-port wants a port number (1-65535), got {value!r}")
        cmd.wait_port = int(value)
    elif name == "wait-url":
        if not value.startswith(("http://", "https://")):
            raise fail(f"--wait-url wants an http:// or https:// URL, got {value!r}")
        cmd.wait_url = value
    elif name == "timeout":
        cmd.timeout = parse_duration(value)
    elif name == "memory":
        cmd.memory = memlimit.ask(value)
    elif name == "env":
        k, v = parse_env(value)
        cmd.env[k] = v
    elif name == "stdin-file":
        cmd.stdin_file = value
    elif name in ("in", "export"):
        names = [n.strip() for n in value.split(",")]
        for n in names:
            if not n.isidentifier() or keyword.iskeyword(n):
                raise fail(f"--{name} wants Python variable names (a,b), got {value!r}")
        have = cmd.in_vars if name == "in" else cmd.export_vars
        have.extend(n for n in names if n not in have)
    else:
        if not _PYTHON_NAME.match(value):
            raise fail(f"--{name} wants a Python variable name, got {value!r}")
        setattr(cmd, f"{name}_var", value)


def stdin_file(cmd: Command, cwd: str) -> StdinFile | None:
    """--stdin-file, a path relative to the notebook's directory (opened by the run)."""
    if cmd.stdin_file is None:
        return None
    if cmd.stdin_var is not None:
        raise UsageError("give --stdin or --stdin-file, not both")
    f = StdinFile(str(Path(cwd) / cmd.stdin_file), cmd.stdin_file)
    f.check()
    return f
