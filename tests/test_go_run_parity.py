"""A program cell builds as `go run file.go` builds the file (issue 22 item 8).

go run, given files by name, ignores their build constraints: a generator
marked `//go:build ignore` runs, and so does a file constrained to another
GOOS. Go's own test suite has such programs. Each case here runs the same file
through plain `go run` and through a kernel cell and the %%gorun magic.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from kernel_client import execute

from gorun_kernel.build.toolchain import find_toolchain

pytestmark = pytest.mark.e2e

BODY = """
package main

import (
	"fmt"
	"runtime/debug"
)

func main() {
	info, _ := debug.ReadBuildInfo()
	fmt.Println("ran", info.Path)
}
"""
PROGRAMS = {
    "ignore": "//go:build ignore\n" + BODY,  # a generator, as `go generate` runs them
    "other GOOS": "//go:build windows || plan9\n" + BODY,
    "old form": "// +build ignore\n" + BODY,
}


def go_run(tmp_path: Path, source: str) -> str:
    """What plain `go run gen.go` prints, in a module of its own."""
    (tmp_path / "go.mod").write_text("module example.org/gen\n\ngo 1.21\n")
    (tmp_path / "gen.go").write_text(source)
    env = {**os.environ, "GOWORK": "off", "GOFLAGS": "-mod=mod"}
    res = subprocess.run(
        [find_toolchain().go, "run", "gen.go"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.mark.parametrize("case", PROGRAMS)
def test_a_kernel_program_cell_ignores_build_constraints_as_go_run_does(kc, tmp_path, case):
    expected = go_run(tmp_path, PROGRAMS[case])
    assert expected == "ran command-line-arguments\n"
    r = execute(kc, PROGRAMS[case])
    assert r.status == "ok", r.messages
    assert r.stream() == expected
    r = execute(kc, "%%gorun --vet\n" + PROGRAMS[case])  # go vet sees the same files
    assert r.status == "ok", r.messages
    assert r.stream() == expected


def test_a_magic_program_cell_ignores_build_constraints_as_go_run_does(run, tmp_path):
    expected = go_run(tmp_path, PROGRAMS["ignore"])
    result, out, err = run("%%gorun --quiet\n" + PROGRAMS["ignore"])
    assert result.success, err
    assert out == expected


def test_a_program_cell_named_by_file_still_embeds_files_next_to_the_notebook(run, tmp_path):
    (tmp_path / "data.txt").write_text("embedded")
    result, out, err = run(
        "%%gorun --quiet\n//go:build ignore\n\npackage main\n\n"
        'import (\n\t_ "embed"\n\t"fmt"\n)\n\n'
        "//go:embed data.txt\nvar data string\n\n"
        "func main() { fmt.Println(data) }\n"
    )
    assert result.success, err
    assert out == "embedded\n"
