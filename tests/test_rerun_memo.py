"""An unchanged cell's re-run skips its build's bookkeeping (issue 23 item 1).

The engine remembers, per session, what each cell's build found (build/rerun.py):
a re-run of the same cell, composed the same against the session's
declarations, with the same flags and environment, checks that go.mod, go.sum,
the display package's tree and the library's next to the notebook are as they
were and that the binary is still in the executable cache, and runs it, without
computing the cache key (reading those files, walking those trees) again.

Each test here changes one thing the program depends on and holds the next run
to the new program's output: a memo that ignored that input would run the old
binary and print the old output.
"""

from __future__ import annotations

import os
import random
import textwrap

import pytest
from engine_tier import edit_in_place, run, words_library

from gorun_kernel.engine import Engine

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("stamps_trusted_at_once")]

SALT = random.randrange(10**9)  # noqa: S311 (not a secret): texts no cache has seen


@pytest.fixture
def engine(fresh_engine):
    return fresh_engine


def output(engine: Engine, code: str, flags: str = "", cwd: str = ".") -> str:
    outcome, sink = run(engine, code, flags, cwd=cwd)
    assert outcome.ok, (outcome.status, sink.text("stderr"))
    return sink.text()


def hits(engine: Engine) -> int:
    return engine.cells.memo.hits


def test_an_unchanged_rerun_is_served_from_the_memo(engine):
    code = f'import "fmt"\n\nfmt.Println("memo {SALT}")'
    assert output(engine, code) == f"memo {SALT}\n"
    assert hits(engine) == 0
    scratch = engine.scratch.path
    written = {p.name: p.stat().st_mtime_ns for p in scratch.glob("*.go")}
    outcome, sink = run(engine, code)
    assert outcome.ok and sink.text() == f"memo {SALT}\n"
    assert hits(engine) == 1 and outcome.cached and outcome.built_by == "cache"
    # Nothing of the cell was written again.
    assert {p.name: p.stat().st_mtime_ns for p in scratch.glob("*.go")} == written
    assert output(engine, code) == f"memo {SALT}\n" and hits(engine) == 2


def test_an_earlier_cell_redefining_a_declaration(engine):
    use = f'import "fmt"\n\nfmt.Println(word(), {SALT})'
    output(engine, 'func word() string { return "one" }')
    assert output(engine, use) == f"one {SALT}\n"
    assert output(engine, use) == f"one {SALT}\n" and hits(engine) == 1
    output(engine, 'func word() string { return "two" }')  # same size
    assert output(engine, use) == f"two {SALT}\n"
    assert hits(engine) == 1


def test_an_edit_to_a_local_modules_file(engine, tmp_path):
    source, code, cwd = words_library(tmp_path, SALT)
    assert output(engine, code, cwd=cwd) == f"aaa {SALT}\n"
    assert output(engine, code, cwd=cwd) == f"aaa {SALT}\n" and hits(engine) == 1
    size = source.stat().st_size
    edit_in_place(source)  # the same size, the same second: only the nanoseconds tell
    assert source.stat().st_size == size
    assert output(engine, code, cwd=cwd) == f"bbb {SALT}\n"
    assert hits(engine) == 1
    assert output(engine, code, cwd=cwd) == f"bbb {SALT}\n" and hits(engine) == 2


LOOP = (
    'import "fmt"\n\nvar fs []func()\nfor i := 0; i < 3; i++ {\n'
    "\tfs = append(fs, func() { fmt.Print(i) })\n}\n"
    f'for _, f := range fs {{\n\tf()\n}}\nfmt.Println(" {SALT}")'
)


def test_go_mod_changed(engine):
    # Loop variables are per iteration from go 1.22 on: the go line changes the output.
    assert output(engine, LOOP) == f"012 {SALT}\n"
    assert output(engine, LOOP) == f"012 {SALT}\n" and hits(engine) == 1
    go_mod = engine.scratch.go_mod
    st = go_mod.stat()
    text = go_mod.read_text()
    line = next(w for w in text.splitlines() if w.startswith("go "))
    old = "go 1.21.0"[: len(line)].ljust(len(line), "0")  # same size
    go_mod.write_text(text.replace(line, old))
    os.utime(go_mod, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same time
    assert go_mod.stat().st_size == st.st_size
    assert output(engine, LOOP) == f"333 {SALT}\n"
    assert hits(engine) == 1


PROGRAM = textwrap.dedent(f"""\
    package main

    import "fmt"

    var word = "none"

    func main() {{ fmt.Println(word, {SALT}) }}
    """)


def test_a_changed_flag_on_the_cell_line(engine):
    assert output(engine, PROGRAM, "-ldflags=-X=main.word=one") == f"one {SALT}\n"
    assert output(engine, PROGRAM, "-ldflags=-X=main.word=one") == f"one {SALT}\n"
    assert hits(engine) == 1
    assert output(engine, PROGRAM, "-ldflags=-X=main.word=two") == f"two {SALT}\n"
    assert hits(engine) == 1


TAGS = textwrap.dedent(f"""\
    package main

    import (
    \t"fmt"
    \t"runtime/debug"
    )

    func main() {{
    \tinfo, _ := debug.ReadBuildInfo()
    \tfor _, s := range info.Settings {{
    \t\tif s.Key == "-tags" {{
    \t\t\tfmt.Println(s.Value, {SALT})
    \t\t}}
    \t}}
    }}
    """)


def test_a_changed_environment_on_the_cell_line(engine):
    # GOFLAGS is go's: the build tags it sets are in the binary's build info.
    assert output(engine, TAGS, "--env GOFLAGS=-tags=one") == f"one {SALT}\n"
    assert output(engine, TAGS, "--env GOFLAGS=-tags=one") == f"one {SALT}\n"
    assert hits(engine) == 1
    assert output(engine, TAGS, "--env GOFLAGS=-tags=two") == f"two {SALT}\n"
    assert hits(engine) == 1


def test_the_executable_removed_from_the_cache(engine):
    code = f'import "fmt"\n\nfmt.Println("gone {SALT}")'
    assert output(engine, code) == f"gone {SALT}\n"
    assert output(engine, code) == f"gone {SALT}\n" and hits(engine) == 1
    binaries = [engine.builder.cache.dir / m.exe_key for m in engine.cells.memo.entries.values()]
    assert binaries and all(b.exists() for b in binaries)
    for b in binaries:
        b.unlink()
    assert output(engine, code) == f"gone {SALT}\n"
    assert hits(engine) == 1 and all(b.exists() for b in binaries)  # built again


def test_a_library_file_added_beside_the_others(engine, tmp_path):
    # A new file in a package of the library (a directory's listing changes,
    # no file that was there does) makes the build go's again.
    lib = tmp_path / "lib"
    (lib / "words").mkdir(parents=True)
    (lib / "go.mod").write_text("module example.org/lib\n\ngo 1.21\n")
    (lib / "words" / "words.go").write_text(
        'package words\n\nvar extra = ""\n\nfunc Word() string { return "w" + extra }\n'
    )
    code = f'import (\n\t"fmt"\n\t"example.org/lib/words"\n)\n\nfmt.Println(words.Word(), {SALT})'
    assert output(engine, code, cwd=str(lib)) == f"w {SALT}\n"
    assert output(engine, code, cwd=str(lib)) == f"w {SALT}\n" and hits(engine) == 1
    (lib / "words" / "more.go").write_text('package words\n\nfunc init() { extra = "x" }\n')
    assert output(engine, code, cwd=str(lib)) == f"wx {SALT}\n"
    assert hits(engine) == 1


def test_a_failed_build_of_a_changed_library_is_not_hidden(engine, tmp_path):
    # The memo never answers for a cell whose library no longer builds.
    lib = tmp_path / "lib"
    (lib / "words").mkdir(parents=True)
    (lib / "go.mod").write_text("module example.org/lib\n\ngo 1.21\n")
    source = lib / "words" / "words.go"
    source.write_text('package words\n\nfunc Word() string { return "ok" }\n')
    code = f'import (\n\t"fmt"\n\t"example.org/lib/words"\n)\n\nfmt.Println(words.Word(), {SALT})'
    assert output(engine, code, cwd=str(lib)) == f"ok {SALT}\n"
    source.write_text('package words\n\nfunc Word() string { return "ok" + }\n')
    outcome, _ = run(engine, code, cwd=str(lib))
    assert not outcome.ok and hits(engine) == 0
    source.write_text('package words\n\nfunc Word() string { return "ok" }\n')
    assert output(engine, code, cwd=str(lib)) == f"ok {SALT}\n"
