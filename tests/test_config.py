"""config.py: every GORUN_* variable in one place, read through it, documented from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gorun_kernel import config
from gorun_kernel.errors import GorunError

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "gorun_kernel"
NAMES = {var.name for var in config.VARIABLES}


def _sources() -> list[Path]:
    return sorted(p for ext in ("*.py", "*.go", "*.js") for p in PACKAGE.rglob(ext))


def test_every_gorun_variable_the_code_mentions_is_in_config():
    mentioned = {}
    for path in _sources():
        for name in re.findall(r"\bGORUN_[A-Z_]+[A-Z]\b", path.read_text()):
            mentioned.setdefault(name, path.relative_to(ROOT))
    unknown = {name: str(where) for name, where in mentioned.items() if name not in NAMES}
    assert unknown == {}, "add these to gorun_kernel/config.py"


def test_only_config_reads_a_gorun_variable():
    # A variable's name as a string of its own ("GORUN_X") is a read (or a write) of it;
    # elsewhere the code says config.X (or config.X.name), and messages name it in text.
    literal = re.compile(r"""(?<![\w{(])["']GORUN_[A-Z_]+["']""")
    found = [
        f"{path.relative_to(ROOT)}: {m.group()}"
        for path in _sources()
        if path.suffix == ".py" and path.name != "config.py"
        for m in literal.finditer(path.read_text())
    ]
    assert found == []


def test_names_are_unique_and_every_variable_is_described():
    assert len(NAMES) == len(config.VARIABLES)
    for var in config.VARIABLES:
        assert var.name.startswith("GORUN_") and var.value and var.default and var.meaning


@pytest.mark.parametrize("set_by_gorun", [False, True])
def test_the_docs_table_has_a_row_per_variable(set_by_gorun):
    table = config.markdown_table(set_by_gorun=set_by_gorun)
    rows = [line for line in table.splitlines() if line.startswith("| `GORUN_")]
    wanted = [v.name for v in config.VARIABLES if v.set_by_gorun == set_by_gorun]
    assert [row.split("`")[1] for row in rows] == wanted


def test_the_configuration_page_is_generated_from_config():
    page = (ROOT / "docs" / "configuration.md").read_text()
    assert "<!-- config: settings -->" in page and "<!-- config: set by gorun -->" in page
    assert "| `GORUN_" not in page, "the table comes from config.py: write no rows by hand"


def test_whole_numbers(monkeypatch):
    var = config.OUTPUT_LIMIT
    monkeypatch.delenv(var.name, raising=False)
    assert config.whole_number(var, 7, "bytes") == 7
    monkeypatch.setenv(var.name, "123")
    assert config.whole_number(var, 7, "bytes") == 123
    monkeypatch.setenv(var.name, "4MB")
    with pytest.raises(GorunError, match="GORUN_OUTPUT_LIMIT=4MB is not a number of bytes"):
        config.whole_number(var, 7, "bytes")


@pytest.mark.parametrize(
    ("text", "on"), [("", True), ("1", True), ("yes", True), ("0", False), ("OFF", False)]
)
def test_switches(monkeypatch, text, on):
    monkeypatch.setenv(config.WARM.name, text)
    assert config.switched_on(config.WARM) is on


@pytest.mark.parametrize(("text", "seconds"), [("", 0.5), ("2", 2.0), ("-1", 0.0), ("x", 0.5)])
def test_seconds(monkeypatch, text, seconds):
    monkeypatch.setenv(config.HELP_TIMEOUT.name, text)
    assert config.seconds(config.HELP_TIMEOUT, 0.5) == seconds


def test_a_relative_directory_is_taken_from_the_current_one(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(config.CACHE.name, "relcache")
    assert config.directory(config.CACHE) == tmp_path / "relcache"
    monkeypatch.setenv(config.CACHE.name, "")
    assert config.directory(config.CACHE) is None


def test_toolchain_reads_gorun_go_from_the_environment_it_is_given():
    assert config.GO.text({"GORUN_GO": "/opt/go/bin/go"}) == "/opt/go/bin/go"
    assert config.GO.text({}) == ""
