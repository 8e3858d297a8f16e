"""The reference (frontends/reference/*.md): one source for %help, %%gorun? and the docs.

Every command a kernel cell's header may hold, every magic and every option of the
command line appears in it, so adding one without documenting it fails here.
"""

from __future__ import annotations

import re

import pytest

from gorun_kernel import cmdline
from gorun_kernel.frontends import cellhead, reference


def _keys(markdown: str) -> list[str]:
    """The first column of the Markdown tables: what each row documents."""
    return [
        row.split("|")[1].strip()
        for row in markdown.splitlines()
        if row.startswith("| ") and not row.startswith("| ---")
    ]


def _named(markdown: str, word: str) -> bool:
    """Whether some table row documents `word` (its key starts with it, as code)."""
    keys = [key.replace("\\|", "|") for key in _keys(markdown)]
    return any(re.match(rf"`{re.escape(word)}(?![\w-])", key) for key in keys)


KERNEL = reference.page("kernel")
MAGIC = reference.page("magic")


@pytest.mark.parametrize("command", sorted(cellhead.SESSION_COMMANDS))
def test_every_session_command_of_the_kernel_is_in_its_reference(command):
    assert _named(KERNEL, f"%{command}"), f"%{command}: add a row to reference/kernel.md"


@pytest.mark.parametrize("line", ["%%gorun", "%gorun", "%%gotest", "%gotest", "!command"])
def test_every_other_kernel_line_is_in_its_reference(line):
    assert _named(KERNEL, line)


def test_every_magic_is_in_the_magic_reference():
    from gorun_kernel.frontends.magic import GorunMagics

    magics = {f"%{name}" for name in GorunMagics.magics["line"]}
    magics |= {f"%%{name}" for name in GorunMagics.magics["cell"]}
    assert magics >= {"%%gorun", "%gorun", "%gorun_list"}  # the table was read
    missing = [m for m in sorted(magics) if not _named(MAGIC, m)]
    assert missing == [], "add rows to reference/magic.md"


@pytest.mark.parametrize("option", sorted(cmdline.OUR_OPTIONS))
def test_every_option_is_in_both_references(option):
    for page in (KERNEL, MAGIC):
        assert _named(page, f"--{option}"), f"--{option}: add a row to reference/options.md"


@pytest.mark.parametrize("flag", ["-exec", "-C"])
def test_the_go_flags_gorun_handles_itself_are_in_the_reference(flag):
    assert _named(reference.part("options"), flag)


def test_the_check_can_fail():
    assert not _named(KERNEL, "%nosuchcommand") and not _named(KERNEL, "--nosuchoption")
    assert not _named(KERNEL, "--wait")  # a prefix of --wait-port is not the option


def test_help_is_a_markdown_bundle_with_a_plain_text_fallback():
    bundle = reference.bundle("kernel")
    assert bundle["text/markdown"] == KERNEL
    text = bundle["text/plain"]
    assert "`" not in text and "| ---" not in text and "**" not in text
    assert "  %timeout D | off     default timeout for every later cell" in text.splitlines()
    # A key too long for the first column: its meaning on the next line, indented.
    lines = text.splitlines()
    i = lines.index("  %gotest [go test flags]")
    assert lines[i + 1].strip() == "run all of the session's tests again"


def test_plain_text_fits_a_terminal():
    for page in (KERNEL, MAGIC):
        long = [line for line in reference.plain(page).splitlines() if len(line) > 80]
        # Only a key wider than the terminal may overflow (it is not broken up).
        assert all(line.startswith("  %") for line in long), long


def test_the_magic_docstrings_are_the_magic_reference():
    from gorun_kernel.frontends.magic import GorunMagics

    assert GorunMagics.gorun.__doc__ == reference.plain(MAGIC)
    assert GorunMagics.gotest.__doc__ == reference.plain(MAGIC)
