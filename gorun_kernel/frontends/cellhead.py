"""The kernel's `%` and `!` lines at the top of a cell.

    %%gorun -race --timeout 5 -- arg    options for this cell (the magic's words)
    %%gotest -run TestX -v              the cell holds tests: run them with go test
    %gotest -cover                      run all of the session's tests again
    %gorun ./cmd/tool arg               run a package, as the line magic does
    %goflags -race --timeout 10s        words added to every later cell's command line
    %env NAME=VALUE                     environment for every later build and run
    %timeout 10s | %timeout off         the session's default timeout
    %timing on | off                    build and run times on the status line
    %vet on | %vet off                  go vet every later cell, alongside its build
    %memory 2GiB | %memory off          the session's memory limit per program
    %list  %rm [-r] NAME...  %reset [--go-mod]  %help
    !ls -l                              a shell command in the notebook's directory

The rest of the cell, if any, is Go. Its line numbers count the header lines,
as the notebook shows the cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from gorun_kernel.errors import UsageError

# The % lines that are session commands (session_commands.COMMANDS: a test checks
# the two agree; imported from there, this module would import the engine).
SESSION_COMMANDS = (
    "goflags",
    "env",
    "timeout",
    "timing",
    "vet",
    "memory",
    "list",
    "rm",
    "reset",
    "help",
    "jobs",
    "kill",
)


@dataclass
class Directive:
    line: int  # 1-based line of the cell
    kind: str  # "cell", "testcell", "package", "tests", "shell", or a session command name
    words: str  # the rest of the line


@dataclass
class Head:
    directives: list[Directive]
    body: str  # the Go code after the header lines
    first_line: int  # the cell line where body starts


def split(code: str) -> Head:
    lines = code.split("\n")
    directives: list[Directive] = []
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        if text.startswith("!"):
            directives.append(Directive(i + 1, "shell", text[1:].strip()))
        elif text.startswith("%%gorun"):
            directives.append(Directive(i + 1, "cell", text[len("%%gorun") :]))
        elif text.startswith("%%gotest"):
            directives.append(Directive(i + 1, "testcell", text[len("%%gotest") :]))
        elif text.startswith("%"):
            name, _, rest = text[1:].partition(" ")
            if name in ("gorun", "gotest"):
                directives.append(Directive(i + 1, "package" if name == "gorun" else "tests", rest))
            elif name in SESSION_COMMANDS:
                directives.append(Directive(i + 1, name, rest.strip()))
            else:
                raise UsageError(f"line {i + 1}: unknown command %{name}; see %help")
        elif text:
            break  # Go starts here (a comment too: it may document what follows)
        i += 1
    if not directives:
        return Head([], code, 1)
    rest = "\n".join(lines[i:]).strip()
    if any(d.kind == "package" for d in directives) and rest:
        raise UsageError("a cell with %gorun runs a package; put Go code in a cell of its own")
    if any(d.kind == "tests" for d in directives) and rest:
        raise UsageError(
            "%gotest runs the session's tests; to run tests written in this cell, "
            "start it with %%gotest"
        )
    if {"cell", "testcell"} <= {d.kind for d in directives}:
        raise UsageError("a cell is a program (%%gorun) or tests (%%gotest), not both")
    return Head(directives, "\n".join(lines[i:]), i + 1)
