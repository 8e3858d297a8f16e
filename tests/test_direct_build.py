"""The fast path for edited cells: go's compiler and linker called directly (issue 23 item 2).

build/direct.py asks go for its plan (`go build -n`) once per import set and
then compiles and links an edited cell itself. These tests hold it to go: the
same programs (Go's own test suite's `// run` programs) built through the fast
path print what `go run` prints, debug.ReadBuildInfo reads go's build info,
build flags go puts into the plan (-ldflags -X) take effect, and every case
the fast path must leave to go (cgo, //go:embed, a txtar cell with its own
module, -race/-cover, a test cell, a dependency go must compile first, a
compiler that fails or speaks, a dependency archive gone from go's cache)
is built by go, saying why.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from engine_tier import run

from gorun_kernel.build.direct import parse_plan
from gorun_kernel.build.gobuild import BuildJob
from gorun_kernel.build.toolchain import find_toolchain

pytestmark = pytest.mark.e2e

SALT = random.randrange(10**9)  # noqa: S311 (not a secret): sources no cache (go's or ours) has seen


def hello(i: object, imports: str = '"fmt"', extra: str = "") -> str:
    return (
        f'package main\n\nimport ({imports})\n\n{extra}func main() {{ fmt.Println("hello {i}") }}\n'
    )


def built(engine, code: str, flags: str = "", cwd: str = "."):
    outcome, sink = run(engine, code, flags, cwd=cwd)
    assert outcome.ok, (outcome.status, sink.text("stderr"))
    return outcome, sink.text()


def test_edited_cells_are_compiled_and_linked_directly(go_engine):
    first, out = built(go_engine, hello(f"a{SALT}"))
    # The first cell of an import set is direct when go's build cache has fmt's archive
    # (the plan is compile + link); in a cache where fmt was never built (a fresh
    # machine, a trimmed cache) go builds it, and says so: the fast path is for edits.
    new_deps = "a new import set whose plan is more than compile + link"
    assert out == f"hello a{SALT}\n", out
    assert first.built_by == "direct" or first.fallback == new_deps, first.fallback
    again, out = built(go_engine, hello(f"b{SALT}"))
    assert out == f"hello b{SALT}\n" and again.built_by == "direct"
    assert again.timing()["built_by"] == "direct"
    rerun, out = built(go_engine, hello(f"b{SALT}"))
    assert rerun.cached and rerun.built_by == "cache" and out == f"hello b{SALT}\n"
    snippet, out = built(go_engine, f'fmt.Println("snippet {SALT}")')
    assert out == f"snippet {SALT}\n" and snippet.built_by == "direct"


def go_run(tmp: Path, name: str, source: str) -> subprocess.CompletedProcess[str]:
    """Plain `go run file.go` in a module of its own, as a user would run the file."""
    (tmp / "go.mod").write_text("module example.org/gen\n\ngo 1.21\n")
    (tmp / name).write_text(source)
    env = {**os.environ, "GOWORK": "off"}
    return subprocess.run(
        [find_toolchain().go, "run", name], cwd=tmp, env=env, capture_output=True, text=True
    )


def go_test_programs() -> list[str]:
    """A spread of Go's own `// run` programs: plain programs, no arguments, no output file."""
    goroot = Path(find_toolchain().goroot) / "test"
    found = sorted(
        str(p.relative_to(goroot))
        for d in ("", "fixedbugs", "typeparam")
        for p in (goroot / d).glob("*.go")
        if p.read_text(errors="replace").split("\n", 1)[0] == "// run"
    )
    return found[7::60]  # 15 of ~900: every 60th, the same ones every time


@pytest.mark.parametrize("name", go_test_programs())
def test_gos_own_run_programs_print_the_same_built_both_ways(go_engine, tmp_path, name):
    source = (Path(find_toolchain().goroot) / "test" / name).read_text()
    expected = go_run(tmp_path, "prog.go", source)
    if expected.returncode != 0:
        pytest.skip(f"go run {name} fails on this machine: {expected.stderr[-300:]}")
    outcome, sink = run(go_engine, source)
    assert outcome.ok, (outcome.status, sink.text("stderr"))
    assert sink.text() == expected.stdout
    assert outcome.built_by in ("direct", "cache"), outcome.fallback


def test_build_info_is_gos(go_engine):
    """debug.ReadBuildInfo: the fast path links go's own modinfo (path, deps, settings)."""
    program = hello(
        SALT,
        '"fmt"; "runtime/debug"',
        "func init() { i, _ := debug.ReadBuildInfo(); fmt.Print(i) }\n",
    )
    direct, by_direct = built(go_engine, program.replace("hello", "one"))
    assert direct.built_by == "direct"
    go_engine.cells.direct.enabled = False
    try:
        by_go = built(go_engine, program.replace("hello", "two"))[1]
    finally:
        go_engine.cells.direct.enabled = True
    assert "build\t-ldflags=" in by_go and "path\tcommand-line-arguments" in by_go
    assert by_direct.replace("one", "two") == by_go


def test_flags_go_puts_in_its_plan_take_effect(go_engine):
    program = hello(SALT, extra='var v = "dev"\n').replace(f'"hello {SALT}"', "v")
    outcome, out = built(go_engine, program, '-ldflags="-X main.v=x1"')
    assert out == "x1\n" and outcome.built_by == "direct"
    outcome, out = built(go_engine, program + "\n", '-ldflags="-X main.v=x2"')
    assert out == "x2\n" and outcome.built_by == "direct"


def fallback(go_engine, code: str, flags: str = "", cwd: str = ".") -> tuple[str | None, str]:
    outcome, out = built(go_engine, code, flags, cwd)
    assert outcome.built_by == "go"
    return outcome.fallback, out


@pytest.mark.skipif(shutil.which("gcc") is None, reason="cgo needs a C compiler")
def test_cgo_is_built_by_go(go_engine):
    code = hello(SALT, '"fmt"\n\t"C"').replace("package main\n", "package main\n\n// int x;\n")
    assert fallback(go_engine, code) == ("cgo", f"hello {SALT}\n")


def test_embed_is_built_by_go(go_engine, tmp_path):
    (tmp_path / "data.txt").write_text(f"data {SALT}")
    code = (
        'package main\n\nimport (\n\t_ "embed"\n\t"fmt"\n)\n\n'
        "//go:embed data.txt\nvar data string\n\nfunc main() { fmt.Println(data) }\n"
    )
    assert fallback(go_engine, code, cwd=str(tmp_path)) == ("//go:embed", f"data {SALT}\n")


def test_a_txtar_cell_with_its_own_module_is_built_by_go(go_engine):
    code = f"-- go.mod --\nmodule m\n\ngo 1.21\n-- main.go --\n{hello(SALT)}"
    why, out = fallback(go_engine, code)
    assert why == "a txtar cell with its own module or packages" and out == f"hello {SALT}\n"


@pytest.mark.parametrize("flag", ["-race", "-cover"])
def test_race_and_cover_are_built_by_go(go_engine, flag):
    if flag == "-race" and shutil.which("gcc") is None:
        pytest.skip("-race needs cgo, and cgo a C compiler")
    assert fallback(go_engine, hello(f"{flag}{SALT}"), flag) == (flag, f"hello {flag}{SALT}\n")


def test_a_compiler_that_speaks_or_fails_leaves_it_to_go(go_engine):
    why, out = fallback(go_engine, hello(f"m{SALT}"), "-gcflags=-m")
    assert why == "the compiler printed something (go shows it)" and out == f"hello m{SALT}\n"
    failed = go_engine.cells.direct.why["the compiler failed (go says why)"]
    outcome, _ = run(go_engine, hello(SALT).replace("func main() {", "func main() { x := 1;"))
    assert go_engine.cells.direct.why["the compiler failed (go says why)"] == failed + 1
    # go's own message, at the cell's line, as before the fast path.
    assert outcome.error is not None and "declared and not used: x" in outcome.error.message


def test_a_dependency_go_must_compile_first_is_built_by_go(go_engine, tmp_path):
    """A library next to the notebook, new to go's cache: the plan compiles it first."""
    (tmp_path / "go.mod").write_text("module example.org/lib\n\ngo 1.21\n")
    (tmp_path / "lib.go").write_text(f"package lib\n\nfunc Salt() int {{ return {SALT} }}\n")
    code = (
        hello(SALT, '"fmt"; "example.org/lib"')
        .replace("hello {", "hello {")
        .replace(f'"hello {SALT}"', "lib.Salt()")
    )
    why, out = fallback(go_engine, code, cwd=str(tmp_path))
    assert why == "a new import set whose plan is more than compile + link"
    assert out == f"{SALT}\n"
    outcome, out = built(go_engine, code + "\n", cwd=str(tmp_path))  # now in go's cache
    assert outcome.built_by == "direct" and out == f"{SALT}\n", outcome.fallback


def test_a_dependency_archive_go_has_trimmed_is_asked_of_go_again(go_engine):
    built(go_engine, hello(f"t{SALT}", '"fmt"; "strings"', "var _ = strings.ToUpper\n"))
    direct = go_engine.cells.direct
    (key, recipe), *_ = [(k, r) for k, r in direct.recipes.items() if "strings" in r.imports]
    gone = recipe.archives()[0]
    direct.recipes[key] = dataclasses.replace(
        recipe, importcfg=recipe.importcfg.replace(gone, gone + ".trimmed")
    )
    plans = direct.plans
    code = hello(f"u{SALT}", '"fmt"; "strings"', "var _ = strings.ToUpper\n")
    outcome, out = built(go_engine, code)
    assert out == f"hello u{SALT}\n" and outcome.built_by == "direct"
    assert direct.plans == plans + 1  # go was asked for its plan again
    assert all(os.path.exists(a) for a in direct.recipes[key].archives())


def test_a_linked_archive_go_has_trimmed_is_asked_of_go_again(go_engine):
    """An archive only the linker reads (a dependency of a dependency), gone from go's
    cache: the link fails, go is asked for its plan again, and the cell still builds."""
    code = hello(f"l{SALT}", '"fmt"; "strings"', "var _ = strings.ToUpper\n")
    built(go_engine, code)
    direct = go_engine.cells.direct
    (key, recipe), *_ = [(k, r) for k, r in direct.recipes.items() if "strings" in r.imports]
    compiled = {line.split("=", 1)[1] for line in recipe.importcfg.splitlines() if "=" in line}
    gone = next(a for a in recipe.archives() if a not in compiled)
    direct.recipes[key] = dataclasses.replace(
        recipe, link_importcfg=recipe.link_importcfg.replace(gone, gone + ".trimmed")
    )
    plans = direct.plans
    outcome, out = built(go_engine, code.replace(f"l{SALT}", f"m{SALT}"))
    assert out == f"hello m{SALT}\n" and outcome.built_by == "direct"
    assert direct.plans == plans + 1
    assert all(os.path.exists(a) for a in direct.recipes[key].archives())


def test_an_edit_writes_only_its_source(go_engine):
    """The plan's importcfg files are written once per plan, into the session's own
    $WORK; the program is linked beside the executable cache and renamed into it:
    an edit leaves no build directory behind."""
    built(go_engine, hello(f"w{SALT}"))
    work = go_engine.cells.direct.work / "b001"
    before = {name: (work / name).stat() for name in ("importcfg", "importcfg.link")}
    outcome, out = built(go_engine, hello(f"x{SALT}"))
    assert out == f"hello x{SALT}\n" and outcome.built_by == "direct"
    for name, st in before.items():
        now = (work / name).stat()
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), name
    cache = go_engine.builder.cache.dir
    assert not [p.name for p in cache.iterdir() if p.name.startswith(".build-")]
    assert list((work / "exe").iterdir()) == []  # the program went into the cache
    # $WORK removed under the session (a cleaner, say): written again, still direct.
    shutil.rmtree(go_engine.cells.direct.work)
    outcome, out = built(go_engine, hello(f"y{SALT}"))
    assert out == f"hello y{SALT}\n" and outcome.built_by == "direct"


def test_a_cache_on_another_file_system_gets_programs_linked_beside_it(go_engine):
    """$WORK and the executable cache on two file systems (no rename from one to the
    other): the linker writes into a directory of the cache's, removed once renamed."""
    direct = go_engine.cells.direct
    direct._same_fs = False
    try:
        outcome, out = built(go_engine, hello(f"fs{SALT}"))
    finally:
        direct._same_fs = None
    assert out == f"hello fs{SALT}\n" and outcome.built_by == "direct"
    cache = go_engine.builder.cache.dir
    assert not [p.name for p in cache.iterdir() if p.name.startswith(".build-")]


def test_a_test_cell_is_left_to_go(go_engine):
    """go test builds a test binary (a testmain, the package twice): never the fast path."""
    job = BuildJob("test", ["-c"], ["."], ".", {}, key_parts=lambda: {"files": {}})
    assert go_engine.cells.direct.unfit(job, {"main_test.go": ""}, False) == "a test cell"


def test_the_plan_parser_refuses_more_than_compile_and_link(go_engine, tmp_path):
    """go build -n of a package with an assembly file: the plan runs asm too."""
    (tmp_path / "go.mod").write_text("module example.org/asm\n\ngo 1.21\n")
    (tmp_path / "main.go").write_text(hello(SALT) + "\nfunc add() int\n")
    (tmp_path / "add.s").write_text("TEXT ·add(SB),0,$0-8\n\tRET\n")  # planned, not run
    plan = subprocess.run(
        [find_toolchain().go, "build", "-n", "-o", str(tmp_path / "out"), "."],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "GOWORK": "off"},
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    assert parse_plan(plan.stderr) is None
    (tmp_path / "add.s").unlink()
    (tmp_path / "add_other.go").write_text("package main\n\nfunc add() int { return 0 }\n")
    plan = subprocess.run(
        [find_toolchain().go, "build", "-n", "-o", str(tmp_path / "out"), "."],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "GOWORK": "off"},
    )  # fmt: skip
    recipe = parse_plan(plan.stderr)
    assert recipe is not None and recipe.imports == {"fmt", "runtime"}
    assert sorted(recipe.files) == ["./add_other.go", "./main.go"]
