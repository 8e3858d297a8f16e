"""Building a --wasm cell: the js/wasm target, what it cannot do, and Go's glue for it.

A --wasm cell is composed as any cell (snippets and session declarations
included) and built by the same builder with GOOS=js GOARCH=wasm; the page
runs it (run/wasm.py). What js/wasm lacks shows up in two ways. Some of it go
refuses to build (cgo, most of syscall, golang.org/x/sys/unix): go's own error
at the cell's line, and under it a one-line hint (`with_hint`). The rest go
builds, and it fails in the reader's browser (os/exec finds no programs,
net.Listen listens on an in-memory network nobody else can reach): those the
cell check (`check_cell`) reports before the build, at the cell's line, in
go's format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from gorun_kernel.cmdline import Command
from gorun_kernel.errors import BuildError, UsageError

TARGET = {"GOOS": "js", "GOARCH": "wasm"}
HINT = (
    "hint: a --wasm cell runs in the reader's browser (GOOS=js GOARCH=wasm): no cgo, no "
    "processes, no listening sockets, no system calls; run it without --wasm for that"
)

# Go's words for what js/wasm does not have, in a build error.
_TARGET_FAILURES = re.compile(
    r"undefined: (syscall|unix|signal)\.|build constraints exclude all Go files"
    r"|imports? \"C\"|cgo|not supported (by|on) (js|wasm)|GOOS=js"
)

# What builds for js/wasm but cannot work in a browser, as the cell says it.
_UNUSABLE = [
    (
        re.compile(r'^\s*(?:import\s+)?(?:\w+\s+)?"os/exec"'),
        '"os/exec" starts programs, and a page has none to start',
    ),
    (
        re.compile(r"\bexec\.(?:Command|CommandContext|LookPath)\("),
        "os/exec starts programs, and a page has none to start",
    ),
    (
        re.compile(r'^\s*(?:import\s+)?(?:_\s+)?"C"\s*$'),
        'import "C": cgo does not build for js/wasm',
    ),
    (
        re.compile(r"\b(?:net\.Listen(?:Packet|TCP|UDP|Unix)?|http\.ListenAndServe(?:TLS)?)\("),
        "a listener in the page is on an in-memory network: nothing outside it can connect",
    ),
]


def for_page(cmd: Command) -> Command:
    """The command with -trimpath, unless it says otherwise: a module published in a page
    carries no paths of the author's machine (the session's scratch directory, the
    module cache under their home), and the same cell builds the same bytes in any
    session, so a re-run notebook's saved output does not change."""
    if any(f.split("=", 1)[0] == "-trimpath" for f in cmd.build_flags):
        return cmd
    return replace(cmd, build_flags=["-trimpath", *cmd.build_flags])


def target_env(env: Mapping[str, str]) -> dict[str, str]:
    """env for a js/wasm build; a cell that names another target is a usage error."""
    for name, value in TARGET.items():
        if env.get(name) not in (None, "", value):
            raise UsageError(
                f"--wasm builds for {name}={value}; --env {name}={env[name]} "
                "asks for another target"
            )
    return {**env, **TARGET}


def check_cell(code: str, first_line: int) -> None:
    """A BuildError at the first line of the cell that uses what a page cannot give.

    Comments and strings are not parsed: a line must start the import or the
    call as Go code would (a commented-out `// net.Listen(` is a comment)."""
    for i, text in enumerate(code.split("\n")):
        code_part = text.split("//", 1)[0]
        for pattern, why in _UNUSABLE:
            m = pattern.search(code_part)
            if m is None:
                continue
            col = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            caret = "".join(ch if ch == "\t" else " " for ch in text[:col]) + "^"
            raise BuildError(
                f"line {first_line + i}: {why}",
                [f"    {text}", f"    {caret}", HINT],
            )


def with_hint(error: BuildError) -> BuildError:
    """go's build error, with the hint when it is about the target; else as it is."""
    if not _TARGET_FAILURES.search(error.go_output or error.message):
        return error
    return BuildError(error.message, [*error.details, HINT], error.go_output)


def wasm_exec_js(goroot: str) -> Path:
    """The toolchain's own wasm_exec.js, the glue between the Go runtime and JavaScript
    (in lib/wasm since Go 1.24, in misc/wasm before)."""
    for sub in ("lib/wasm", "misc/wasm"):
        path = Path(goroot, sub, "wasm_exec.js")
        if path.is_file():
            return path
    raise BuildError(
        f"this Go toolchain has no wasm_exec.js (looked in {goroot}/lib/wasm "
        "and misc/wasm): it cannot run a --wasm cell in a page"
    )


def check_command(cmd: Command) -> None:
    """UsageError for the options that are about a process on this machine.

    --timeout and --memory (and the kernel's %timeout, %memory) do not apply:
    the program runs in the reader's browser, where its stop button ends it."""
    unusable = {
        "--bg": cmd.background,
        "--stdin": cmd.stdin_var is not None,
        "--stdin-file": cmd.stdin_file is not None,
        "--out": cmd.out_var is not None,
        "--err": cmd.err_var is not None,
        "-exec": cmd.exec_cmd is not None,
        "--in": bool(cmd.in_vars),
        "--export": bool(cmd.export_vars),
    }
    given = [name for name, on in unusable.items() if on]
    if given:
        raise UsageError(
            f"{', '.join(given)}: not for a --wasm cell, whose program runs in "
            "the reader's browser (its stop button ends it)"
        )
