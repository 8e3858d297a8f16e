"""testflags.py: go test's flags split into the build's and the test binary's."""

from __future__ import annotations

import pytest

from gorun_kernel.errors import UsageError
from gorun_kernel.gotest import flags as testflags


def test_test_flags_go_to_the_binary_build_flags_and_options_to_the_build():
    t = testflags.parse(
        "-run X -count=3 -race --timeout 5 -tags a,b -vet off -bench . -benchmem -cover -short "
        "-timeout 1m -v -args -my-flag".split()
    )
    assert t.test_flags == [
        "-test.run=X", "-test.count=3", "-test.bench=.", "-test.benchmem", "-test.short",
        "-test.timeout=1m",
    ]  # fmt: skip
    assert t.cmd.build_flags == ["-race", "-tags=a,b", "-cover", "-vet=off"]
    assert t.cmd.timeout == 5.0  # --timeout is ours: kill the run; -timeout is go test's
    assert t.args == ["-my-flag"]
    assert t.verbose and t.cover
    assert t.value("count") == "3" and t.value("coverprofile") is None


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["-c"], "-c is not for a notebook"),
        (["-json"], "-json is not for a notebook"),
        (["-fuzz", "FuzzX"], "Fuzz functions run their seed corpus (f.Add) as tests"),
        (["./pkg"], "a test cell tests the session's code, it takes no package"),
        (["-run"], "flag needs an argument: -run"),
        (["--nope"], "flag provided but not defined: --nope"),
        (["--stdin-file", "in.txt"], "--stdin-file is for %%gorun: tests read no input"),
        (["--out", "x"], "--out is for %%gorun"),
        (["--bg"], "--bg is for %%gorun: a test cell runs its tests to their end"),
    ],
)
def test_what_a_test_cell_cannot_take_is_said_in_the_users_terms(words, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        testflags.parse(words)


def test_coverage_lists_cells_in_their_order_not_by_file_name(tmp_path):
    """go lists a profile by file name (cell[10] before cell[9]); the line does not."""
    from gorun_kernel.diagnostics import Origin
    from gorun_kernel.gotest.run import coverage_words

    profile = tmp_path / "cover.out"
    profile.write_text(
        "mode: set\n"
        "gorun/cell[10]:1.20,1.30 1 0\n"
        "gorun/cell[9]:1.10,2.2 2 1\n"
        "gorun/cell[9]:3.1,3.5 1 0\n"
    )
    table = {
        "cell[9]": [Origin(n, "x", cell="[9]") for n in (1, 2, 3)],
        "cell[10]": [Origin(1, "y", cell="[10]")],
    }
    words = coverage_words(profile, table)
    assert words == "coverage: 50.0% of statements (cell [9] 2/3, cell [10] 0/1)"
