"""compose/stdlib.py: the index of standard packages automatic imports use (pure).

One `go env` finds GOROOT; the rest reads files.
"""

from __future__ import annotations

from pathlib import Path

from golden import std_index

from gorun_kernel.compose.stdlib import StdIndex, scan_tree


def test_4_ambiguous_standard_names_follow_goimports():
    # (Moved from test_snippet_rules.py, whose other tests run in a kernel.)
    std = std_index()
    assert std.resolve("template", {"New", "Must"}) == "text/template"
    assert std.resolve("template", {"HTML"}) == "html/template"  # only html/template has it
    assert std.resolve("rand", {"Read"}) == "crypto/rand"  # goimports: crypto first
    assert std.resolve("rand", {"IntN"}) == "math/rand/v2"
    assert std.resolve("rand", {"Intn"}) == "math/rand"
    assert std.resolve("scanner", {"Scanner"}) == "text/scanner"
    assert std.resolve("pprof", {"Profile"}) == "runtime/pprof"
    assert std.resolve("pprof", {"Index"}) == "net/http/pprof"


def test_the_shipped_display_package_is_in_the_index():
    std = std_index()
    assert std.name_of("gorun.dev/display") == "display"
    assert std.resolve("display", {"Markdown"}) == "gorun.dev/display"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_a_scan_reads_exported_names_at_top_level_and_in_groups(tmp_path):
    write(
        tmp_path,
        {
            "geo/geo.go": "package geo\n\nfunc Area() {}\nfunc hidden() {}\ntype Shape int\n"
            "const (\n\tPi = 3\n\tTau, E = 6, 2\n\tsmall = 1\n)\nvar Origin, Unit int\n",
            "geo/geo_test.go": "package geo\n\nfunc TestOnly() {}\n",
            "geo/x.go": "//go:build ignore\n\npackage geo\n\nfunc Ignored() {}\n",
            "geo/internal/in.go": "package internal\n\nfunc In() {}\n",
            "geo/testdata/t.go": "package t\n\nfunc T() {}\n",
            "cmd/tool/main.go": "package main\n\nfunc Main() {}\n",
            "app/main.go": "package main\n\nfunc Run() {}\n",
        },
    )
    index = scan_tree(tmp_path)
    assert set(index) == {"geo"}  # internal, testdata, cmd and main packages are not imports
    assert index["geo"] == {"name": "geo", "exports": ["Area", "E", "Origin", "Pi", "Shape", "Tau"]}


def test_resolve_picks_the_package_that_has_every_name_used():
    std = StdIndex(
        {
            "a/rand": {"name": "rand", "exports": ["Int"]},
            "b/rand": {"name": "rand", "exports": ["Int", "Float"]},
            "zz/other/rand": {"name": "rand", "exports": ["Int", "Float"]},
        }
    )
    assert std.resolve("rand", {"Int"}) == "a/rand"  # the shortest path of those that fit
    assert std.resolve("rand", {"Float"}) == "b/rand"
    assert std.candidates("rand", {"Float"}) == ["b/rand", "zz/other/rand"]
    assert std.resolve("rand", {"Nope"}) is None and std.resolve("nope", set()) is None
