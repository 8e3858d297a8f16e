"""%gorun: go run's package forms, through real IPython and the real toolchain."""

from __future__ import annotations

from pathlib import Path

import pytest

import gorun_kernel

pytestmark = pytest.mark.e2e


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


ARGS_MAIN = (
    'package main\nimport ("fmt"; "os")\nfunc main() {{ fmt.Println("{0}", os.Args[1:]) }}\n'
)


@pytest.fixture
def module(tmp_path: Path) -> Path:
    """A Go module around the notebook's directory (tmp_path)."""
    write(
        tmp_path,
        {
            "go.mod": "module example.org/mymod\n\ngo 1.21\n",
            "main.go": ARGS_MAIN.format("root"),
            "cmd/tool/main.go": ARGS_MAIN.format("tool"),
            "tagged/main.go": 'package main\nimport "fmt"\nfunc main() { fmt.Println(mode) }\n',
            "tagged/plain.go": '//go:build !extra\n\npackage main\nconst mode = "plain"\n',
            "tagged/extra.go": '//go:build extra\n\npackage main\nconst mode = "extra"\n',
            "files/a.go": 'package main\nimport "fmt"\nfunc main() { fmt.Println(b()) }\n',
            "files/b.go": 'package main\nfunc b() string { return "from b.go" }\n',
        },
    )
    return tmp_path


def test_versioned_package_from_the_proxy(run):
    result, out, _ = run("%gorun example.com/hello@v1.0.0 a b")
    assert result.success, out
    assert out.startswith("hello from v1.0.0 [a b]\n")


def test_latest_version(run):
    _, out, _ = run("%gorun example.com/hello@latest")
    assert out.startswith("hello from v1.1.0 []\n")


def test_versioned_run_ignores_the_go_mod_around_the_notebook(run, tmp_path):
    # A go.mod that go could not even parse: pkg@version must not look at it.
    (tmp_path / "go.mod").write_text("this is not a go.mod\n")
    _, out, _ = run("%gorun example.com/hello@v1.1.0 x")
    assert out.startswith("hello from v1.1.0 [x]\n")


def test_nonexistent_version_is_a_clear_error(run):
    result, out, _ = run("%gorun example.com/hello@v9.9.9")
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)
    assert "example.com/hello@v9.9.9" in out
    assert "Traceback" not in out


def test_directory_path_and_dot(run, module):
    _, out, _ = run("%gorun ./cmd/tool -v x")  # words after the package are the program's
    assert out.startswith("tool [-v x]\n")
    _, out, _ = run("%gorun . one")
    assert out.startswith("root [one]\n")


def test_import_path_and_pattern_matching_one_package(run, module):
    _, out, _ = run("%gorun example.org/mymod/cmd/tool")
    assert out.startswith("tool []\n")
    _, out, _ = run("%gorun ./cmd/...")
    assert out.startswith("tool []\n")


def test_list_of_go_files_then_arguments(run, module):
    _, out, _ = run("%gorun files/a.go files/b.go")
    assert out.startswith("from b.go\n")


def test_tags_select_a_file(run, module):
    _, out, _ = run("%gorun ./tagged")
    assert out.startswith("plain\n")
    _, out, _ = run("%gorun -tags extra ./tagged")
    assert out.startswith("extra\n")


def test_chdir_flag(run, module, tmp_path):
    (tmp_path / "cmd" / "tool" / "note.txt").write_text("in tool dir")
    write(
        tmp_path,
        {
            "cmd/reader/main.go": 'package main\nimport ("fmt"; "os")\n'
            'func main() { b, _ := os.ReadFile("../tool/note.txt"); fmt.Println(string(b)) }\n'
        },
    )
    _, out, _ = run("%gorun -C cmd/reader .")
    assert out.startswith("in tool dir\n")


def test_edits_to_a_local_package_are_seen(run, module, tmp_path):
    _, out, _ = run("%gorun ./cmd/tool")
    assert out.startswith("tool []")
    (tmp_path / "cmd/tool/main.go").write_text(ARGS_MAIN.format("edited"))
    _, out, _ = run("%gorun ./cmd/tool")
    assert out.startswith("edited []")


def test_missing_package_path_is_gos_message(run, module):
    result, out, _ = run("%gorun ./nosuchdir")
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)
    assert "nosuchdir" in out and "Traceback" not in out


def test_no_package_is_a_usage_error(run):
    result, out, err = run("%gorun -race")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "%gorun needs a package" in out + err


@pytest.mark.network
def test_real_module_proxy(run, online):
    result, out, _ = run(
        '%%gorun\npackage main\nimport ("fmt"; "github.com/google/uuid")\n'
        "func main() { fmt.Println(len(uuid.NewString())) }\n"
    )
    assert result.success, out
    assert out.startswith("36\n")


def test_a_package_that_is_not_main(run, module, tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "lib.go").write_text("package lib\n\nfunc X() {}\n")
    result, out, _ = run("%gorun ./lib")
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)
    assert "./lib is not a main package" in out and "cache" not in out
    result, out, _ = run("%%gorun\npackage lib\n\nfunc X() {}\n")
    assert "the cell is not a main package" in out


def test_a_pattern_matching_several_main_packages(run, module):
    result, out, _ = run("%gorun ./...")
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)
    assert "matches several main packages" in out


def test_a_package_argument_that_looks_like_a_flag_is_not_a_flag(run, module):
    result, out, _ = run("%gorun -- -x")
    assert isinstance(result.error_in_exec, gorun_kernel.BuildError)
    assert "-x" in out and "WORK=" not in out  # go did not take it as its -x flag


def test_dash_n_prints_the_commands_and_runs_nothing(run, module):
    result, out, err = run("%gorun -n ./cmd/tool")
    assert result.success
    assert "tool [" not in out  # the program did not run
    assert "compile" in err or "link" in err


def test_relative_overlay_is_the_notebooks_file(run, tmp_path, ip):
    replacement = tmp_path / "replacement.go"
    replacement.write_text('package main\nimport "fmt"\nfunc main() { fmt.Println("overlaid") }\n')
    # The overlay names the file that the cell becomes in the scratch module.
    import json

    import gorun_kernel.frontends.magic as magic

    target = magic.magics_of(ip).engine().scratch.path / "main.go"
    overlay = {"Replace": {str(target): str(replacement)}}
    (tmp_path / "overlay.json").write_text(json.dumps(overlay))
    result, out, _ = run(
        '%%gorun -overlay overlay.json\npackage main\nfunc main() { println("x") }\n'
    )
    assert result.success, out
    assert out.startswith("overlaid\n")


def test_cross_compiled_binaries_that_run_here_run_directly(run):
    result, out, err = run(
        "%%gorun --quiet --env GOARCH=386 --env CGO_ENABLED=0\n"
        'package main\nimport ("fmt"; "runtime")\nfunc main() { fmt.Println(runtime.GOARCH) }\n'
    )
    if not result.success and "Exec format error" in out + err:
        pytest.skip("this machine cannot run 386 binaries")
    assert result.success, out + err
    assert out == "386\n"
