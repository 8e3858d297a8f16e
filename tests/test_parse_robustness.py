"""Property tests: random and truncated Go text never breaks our code.

Whatever a cell holds, reading and composing it raises nothing but our own
clear error types (CellError for a bad multi-file layout, main plus
statements); the compiler, not the parser, judges Go.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gorun_kernel import cmdline
from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.compose import txtar
from gorun_kernel.compose.emit import emit
from gorun_kernel.compose.parse import parse_cell
from gorun_kernel.compose.session import Session
from gorun_kernel.compose.stdlib import StdIndex
from gorun_kernel.engine import Engine
from gorun_kernel.errors import GorunError
from gorun_kernel.events import BaseSink
from gorun_kernel.outcome import RunOptions

SAMPLES = [
    'package main\nimport "fmt"\nfunc main() { fmt.Println("hi") }\n',
    "func sq(x int) int { return x*x }\nfmt.Println(sq(7))\nsq(3)\n",
    "type P struct{ X, Y int }\nfunc (p *P) Sum() int { return p.X + p.Y }\n",
    "const (\n\tA = iota\n\tB\n)\nvar a, b = 1, `raw\nstring`\n",
    "func Map[T, U any](xs []T, f func(T) U) []U { return nil }\n",
    'import (\n\t"strings"\n\tm "math"\n)\nx := strings.ToUpper("é")\n_ = m.Pi\n',
    "for i := 0; i < 3; i++ {\n\tswitch v := any(i).(type) { case int: _ = v }\n}\n",
    "package main\nfunc main() {}\n-- sub/x.go --\npackage sub\n-- data.txt --\nhello\n",
    "// comment only\n/* block */\n",
    "func init() { println(1) }\n//go:noinline\nfunc f() {}\n",
]

go_text = st.one_of(
    st.text(max_size=300),
    st.text(
        alphabet="{}()[];:=.,\n\t \"'`/*-+<>!&|^%func var const type import package main",
        max_size=300,
    ),
    st.builds(lambda s, n: s[:n], st.sampled_from(SAMPLES), st.integers(0, 400)),
    st.builds(lambda a, b: a + b, st.sampled_from(SAMPLES), st.sampled_from(SAMPLES)),
)


@pytest.fixture(scope="module")
def std() -> StdIndex:
    tc = find_toolchain()
    return StdIndex.for_goroot(tc.goroot, tc.version)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(code=go_text, first_line=st.integers(1, 5))
def test_reading_and_composing_raises_only_our_errors(std, code, first_line):
    session = Session()
    try:
        if txtar.is_txtar(code):
            files, _table = txtar.split(code, first_line)
            assert all(not name.startswith(("/", "..")) for name in files)
            return
        cell = parse_cell(code)
        plan = session.plan(cell, code, first_line, "[1]", std)
        program = emit(plan, std, show=plan.final is not None)
        assert program.files["main.go"].startswith("package main\n")
        session.commit(plan)
        emit(session.plan(parse_cell(code), code, 1, "[2]", std), std, show=False)
    except GorunError:
        pass


@pytest.fixture(scope="module")
def engine():
    e = Engine(find_toolchain())
    yield e
    e.close()


class Quiet(BaseSink):
    def stdout(self, text: str) -> None: ...
    def stderr(self, text: str) -> None: ...
    def input_wanted(self, prompt: str) -> None:
        return None


@pytest.mark.e2e
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(code=st.builds(lambda s, n: s[:n], st.sampled_from(SAMPLES), st.integers(1, 200)))
def test_truncated_cells_through_the_whole_engine(engine, tmp_path, code):
    """Built and run for real: any failure is an Outcome with our error, never an exception."""
    try:
        outcome = engine.run_cell(code, cmdline.parse(["--timeout", "10"]), Quiet(),
                                  RunOptions(str(tmp_path)))  # fmt: skip
    except GorunError:
        return
    assert outcome.error is None or isinstance(outcome.error, GorunError)
