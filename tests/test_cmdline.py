"""The command line: go run's grammar plus our two-dash options."""

from __future__ import annotations

import pytest

from gorun_kernel import cmdline
from gorun_kernel.build import gobuild as build
from gorun_kernel.errors import UsageError
from gorun_kernel.frontends import reference


def parse(line: str) -> cmdline.Command:
    return cmdline.parse(cmdline.split_line(line))


def test_go_flags_our_options_and_arguments_mix_before_positionals():
    cmd = parse("-race --timeout 1m30s -tags 'a b' --env K=V --quiet -- -x y")
    assert cmd.build_flags == ["-race", "-tags=a b"]
    assert cmd.timeout == 90 and cmd.env == {"K": "V"} and cmd.quiet
    assert cmd.positional == ["-x", "y"]


def test_flag_forms_of_gos_flag_package():
    cmd = parse("--race -ldflags=-s -gcflags '-N -l' -trimpath=false -p 4")
    assert cmd.build_flags == ["-race", "-ldflags=-s", "-gcflags=-N -l", "-trimpath=false", "-p=4"]


def test_positional_words_stop_flag_parsing():
    cmd = parse("-v ./cmd/tool -race --timeout 3")
    assert cmd.build_flags == ["-v"] and cmd.timeout is None
    assert cmd.package_and_args() == (["./cmd/tool"], ["-race", "--timeout", "3"])


def test_go_file_list_then_arguments():
    cmd = parse("a.go b.go x.go-not arg")
    assert cmd.package_and_args() == (["a.go", "b.go"], ["x.go-not", "arg"])


def test_exec_is_split_into_words():
    assert parse("-exec 'sudo -u nobody' .").exec_cmd == ["sudo", "-u", "nobody"]


def test_unknown_flags_are_left_for_go_to_judge():
    assert parse("-someday-flag .").build_flags == ["-someday-flag"]


def test_go_flags_may_take_two_dashes_as_in_go():
    cmd = parse("--race --tags=x --exec true .")
    assert cmd.build_flags == ["-race", "-tags=x"] and cmd.exec_cmd == ["true"]


def test_help_has_one_go_flags_heading_and_marks_magic_only_options():
    text = reference.part("options")
    assert text.count("Go build flags") == 1
    _, magic_only = text.split("Magic-only options")
    for option in ("--stdin VAR", "--out VAR", "--err VAR", "--no-raise-error"):
        assert option in magic_only and text.count(option) == 1, option


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--timeout", "flag needs an argument"),
        ("--timeout 0", "more than zero"),
        ("--timeout 5x", "invalid duration"),
        ("--quiet=yes", "takes no value"),
        ("--out 1abc", "Python variable name"),
        ("-race=maybe", "invalid boolean value"),
        ("-stdin x", "did you mean --stdin?"),
        ("-o prog", "go run does not take it"),
        ("-exec ''", "-exec needs a program"),
        # Reported as written (go's flag package would say -bogus), with our options named.
        ("--bogus", "not defined: --bogus .gorun's options: --timeout"),
        ("--bogus=1 .", "not defined: --bogus "),
        ("--o prog", "not defined: --o .go run does not take it"),
    ],
)
def test_malformed_command_lines(line, message):
    with pytest.raises(UsageError, match=message):
        parse(line)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5", 5), ("2.5", 2.5), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600), ("1.5h", 5400)],
)
def test_durations(text, seconds):
    assert cmdline.parse_duration(text) == pytest.approx(seconds)


def test_run_defaults_omit_debug_information_like_go_run():
    assert build.with_run_defaults([]) == ["-gcflags=-dwarf=false", "-ldflags=-s -w"]
    flags = build.with_run_defaults(["-ldflags=-X main.v=1"])
    assert "-ldflags=-s -w -X main.v=1" in flags
    # A pattern applies elsewhere: our default for the main package stays separate.
    flags = build.with_run_defaults(["-gcflags=all=-N -l"])
    assert flags[:2] == ["-gcflags=-dwarf=false", "-ldflags=-s -w"]


def test_watching_flags_are_not_cached():
    assert build.is_cacheable(["-race", "-tags=x"])
    assert not build.is_cacheable(["-x"]) and not build.is_cacheable(["-a"])
    assert not build.is_cacheable(["-overlay=o.json"])


def test_memory_is_one_value_not_given_off_or_a_limit():
    from gorun_kernel.proc import memlimit

    assert cmdline.parse([]).memory is None
    assert cmdline.parse(["--memory", "off"]).memory is memlimit.OFF
    assert cmdline.parse(["--memory=1GiB"]).memory == memlimit.MemoryLimit(1 << 30)
    ceiling = memlimit.MemoryLimit(2 << 30)
    assert memlimit.choose(None, ceiling) == ceiling  # the default applies
    assert memlimit.choose(None, None) is None
    assert memlimit.choose(memlimit.OFF, None) is None
    assert memlimit.choose(memlimit.MemoryLimit(1 << 30), ceiling) == memlimit.MemoryLimit(1 << 30)
    for over in (memlimit.OFF, memlimit.MemoryLimit(3 << 30)):
        with pytest.raises(UsageError, match="only a lower limit"):
            memlimit.choose(over, ceiling)
