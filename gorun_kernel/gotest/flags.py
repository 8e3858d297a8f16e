"""The command line of `%%gotest` and `%gotest`: go test's flags, split as go test splits them.

`go test` builds a test binary (with the build flags: -race, -cover, -tags...)
and runs it with the test flags (-run, -bench, -count, -short, -timeout, -v...),
which the binary takes as -test.run, -test.bench, ... Here the build flags and
our own --options go through cmdline.parse, as for %%gorun; the test flags
become the binary's -test.* flags, with go's meaning. `-args` ends the flags:
the words after it go to the test binary as they are.

`-timeout` (one dash) is go test's: the binary panics after that long and
names the test that was running; `--timeout` (two dashes) is ours: the run is
killed after that long, as for %%gorun.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gorun_kernel import cmdline
from gorun_kernel.errors import UsageError

USAGE = "%%gotest [go test flags] [build flags] [--vet] [options] [-args test binary arguments]"
USAGE_LINE = "%gotest [go test flags] [build flags] [--vet] [options] [-args arguments]"

# `go help testflag`: flags of the test binary. Those with a value, and booleans.
TEST_VALUE_FLAGS = frozenset(
    "bench benchtime count cpu list parallel run skip timeout shuffle outputdir coverprofile "
    "blockprofile blockprofilerate cpuprofile memprofile memprofilerate mutexprofile "
    "mutexprofilefraction trace fuzztime fuzzminimizetime".split()
)
TEST_BOOL_FLAGS = frozenset("benchmem failfast fullpath short v artifacts".split())
# go test's own flags that mean nothing here, and why.
REFUSED = {
    "c": "a test cell always builds its test binary (go test -c) and runs it",
    "o": "the test binary is kept in gorun's executable cache",
    "json": "the table is made from go's JSON test events already",
    "fuzz": "fuzzing runs until stopped, which a notebook cell should not; Fuzz functions "
    "run their seed corpus (f.Add) as tests",
}
# Flags that go test hands to the build: value flags of `go test` itself.
_BUILD_VALUE_FLAGS = frozenset({"vet"})


@dataclass
class TestCommand:
    """A parsed %%gotest line: the build's command line and the binary's flags."""

    cmd: cmdline.Command  # build flags, -exec, our --options
    test_flags: list[str] = field(default_factory=list)  # -test.run=..., in order
    args: list[str] = field(default_factory=list)  # after -args
    given: set[str] = field(default_factory=set)  # names of the test flags given
    verbose: bool = False  # -v: show every test's output, not only a failing one's

    @property
    def cover(self) -> bool:
        names = {f.lstrip("-").split("=", 1)[0] for f in self.cmd.build_flags}
        return bool(names & {"cover", "covermode", "coverpkg"})

    def value(self, name: str) -> str | None:
        """The last value given for test flag `name`."""
        found = None
        for f in self.test_flags:
            if f.startswith(f"-test.{name}="):
                found = f.split("=", 1)[1]
        return found


def parse(words: list[str], usage: str = USAGE, help_hint: str = "%gotest?") -> TestCommand:
    """Split go test's flags from the build's; UsageError for what cannot be used."""
    build: list[str] = []
    test: list[str] = []
    given: set[str] = set()
    args: list[str] = []
    go_test_build: list[str] = []  # -vet: a flag of go test's build, unknown to go build
    verbose = False
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word in ("-args", "--args", "--"):
            args = words[i:]
            break
        if not word.startswith("-") or word == "-":
            raise UsageError(
                f"{word!r}: a test cell tests the session's code, it takes no package; "
                f"put the test binary's own arguments after -args\nusage: {usage}"
            )
        double = word.startswith("--")
        name, has_value, value = word[2 if double else 1 :].partition("=")
        ours = double and name in cmdline.OUR_OPTIONS
        if name in REFUSED and not ours:
            raise UsageError(f"-{name} is not for a notebook: {REFUSED[name]}")
        if name in _BUILD_VALUE_FLAGS and not ours:  # go test's own, for the build
            if not has_value and i < len(words):
                value, i = words[i], i + 1
            go_test_build.append(f"-{name}={value}")
            continue
        if ours or not (name in TEST_VALUE_FLAGS or name in TEST_BOOL_FLAGS):
            # A build flag or one of our options: cmdline.parse reads it (and its value).
            takes = cmdline.OUR_OPTIONS.get(name) if ours else _build_takes_value(name)
            if takes and not has_value and i < len(words):
                word, i = f"{word}={words[i]}", i + 1  # one word: cmdline.parse reads both
            build.append(word)
            continue
        if name in TEST_VALUE_FLAGS and not has_value:
            if i >= len(words):
                raise UsageError(f"flag needs an argument: {word}\nusage: {usage}")
            value, i = words[i], i + 1
        given.add(name)
        if name == "v":  # the binary always runs with -test.v=test2json; -v shows all output
            verbose = value.lower() not in ("false", "0", "f") if has_value else True
            continue
        has = has_value or name in TEST_VALUE_FLAGS
        test.append(f"-test.{name}" + (f"={value}" if has else ""))
    cmd = cmdline.parse(build, usage, help_hint)
    cmd.build_flags += go_test_build
    if cmd.positional:
        raise UsageError(f"{cmd.positional[0]!r}: a test cell takes no package\nusage: {usage}")
    for name in ("stdin_var", "stdin_file", "out_var", "err_var"):
        if getattr(cmd, name):
            option = "--" + name.removesuffix("_var").replace("_", "-")
            raise UsageError(f"{option} is for %%gorun: tests read no input and keep no output")
    if cmd.background:  # (--wait-port and --wait-url need --bg: refused with it)
        raise UsageError("--bg is for %%gorun: a test cell runs its tests to their end")
    return TestCommand(cmd, test, args, given, verbose)


def _build_takes_value(name: str) -> bool:
    return name in cmdline.GO_VALUE_FLAGS or name in ("exec", "C")
