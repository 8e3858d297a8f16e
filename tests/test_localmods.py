"""Cells importing the Go module around the notebook (a library's docs/ notebooks)."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from kernel_client import execute, start

import gorun_kernel
from gorun_kernel.build.localmods import around, read_module

pytestmark = pytest.mark.e2e


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


SHAPES = """
package shapes

// Area is the area of a w by h rectangle.
func Area(w, h int) int { return w * h }
"""


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A library module that depends on example.com/greet, with docs/ beside its packages."""
    lib = tmp_path / "lib"
    write(
        lib,
        {
            "go.mod": "module example.org/lib\n\ngo 1.21\n\nrequire example.com/greet v1.0.0\n",
            "shapes/shapes.go": SHAPES,
            "welcome/welcome.go": """
                package welcome

                import "example.com/greet"

                func Message() string { return greet.Hello("docs") }
                """,
            "docs/README.md": "notebooks live here\n",
        },
    )
    subprocess.run(["go", "mod", "download", "-x"], cwd=lib, check=True, capture_output=True)
    subprocess.run(["go", "mod", "tidy"], cwd=lib, check=True, capture_output=True)
    return lib


def test_a_snippet_imports_the_library_and_sees_edits(run, library, monkeypatch):
    monkeypatch.chdir(library / "docs")
    result, out, err = run(
        '%%gorun --quiet\nimport "example.org/lib/shapes"\nfmt.Println(shapes.Area(2, 3))\n'
    )
    assert result.success, out + err
    assert out == "6\n"
    (library / "shapes" / "shapes.go").write_text(SHAPES.replace("w * h", "w * h * 10"))
    result, out, _ = run("%%gorun --quiet\nfmt.Println(shapes.Area(2, 3))\n")
    assert out == "60\n"  # the edit, not a cached binary


def test_the_librarys_own_dependencies_resolve(run, library, monkeypatch):
    monkeypatch.chdir(library / "docs")
    result, out, err = run(
        '%%gorun --quiet\npackage main\nimport ("fmt"; "example.org/lib/welcome")\n'
        "func main() { fmt.Println(welcome.Message()) }\n"
    )
    assert result.success, out + err
    assert out == "Hello, docs!\n"  # greet v1.0.0, as the library requires


def test_a_notebook_outside_any_module_is_unaffected(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result, out, _ = run('%%gorun --quiet\nimport "example.org/lib/shapes"\nshapes.Area(1, 1)\n')
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)
    assert "example.org/lib" in out


def test_a_go_work_around_the_notebook_is_honoured(run, library, tmp_path, monkeypatch):
    other = tmp_path / "other"
    write(
        other,
        {
            "go.mod": "module example.org/other\n\ngo 1.21\n",
            "util/util.go": "package util\n\nfunc Twice(x int) int { return 2 * x }\n",
        },
    )
    nb = tmp_path / "notebooks"
    nb.mkdir()
    (tmp_path / "go.work").write_text("go 1.21\n\nuse (\n\t./lib\n\t./other\n)\n")
    assert {m.path for m in around(str(nb), None)} == {"example.org/lib", "example.org/other"}
    monkeypatch.chdir(nb)
    result, out, err = run(
        '%%gorun --quiet\nimport ("example.org/other/util"; "example.org/lib/shapes")\n'
        "fmt.Println(util.Twice(shapes.Area(2, 2)))\n"
    )
    assert result.success, out + err
    assert out == "8\n"


def test_replace_directives_of_the_module_are_made_absolute(tmp_path):
    write(tmp_path / "m", {"go.mod": """
        module example.org/m // a comment

        replace example.com/greet => ../greet
        replace (
            example.com/a v1.0.0 => example.com/b v1.1.0
        )
        """})  # fmt: skip
    module = read_module(tmp_path / "m" / "go.mod")
    assert module is not None and module.path == "example.org/m"
    assert module.replaces == (
        ("example.com/greet", str((tmp_path / "greet").resolve())),
        ("example.com/a@v1.0.0", "example.com/b@v1.1.0"),
    )


def test_the_kernel_imports_the_library_next_to_the_notebook(library):
    cwd = os.getcwd()
    os.chdir(library / "docs")  # jupyter_client starts the kernel in the current directory
    try:
        km, kc = start()
    finally:
        os.chdir(cwd)
    try:
        execute(kc, 'import "example.org/lib/shapes"')
        assert execute(kc, "shapes.Area(4, 5)").value == "20"
        (library / "shapes" / "shapes.go").write_text(SHAPES.replace("w * h", "w + h"))
        assert execute(kc, "shapes.Area(4, 5)").value == "9"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
