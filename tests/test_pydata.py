"""Data between Python and Go in the magic: %%gorun --in / --export and final values
as data (docs/data.md), through real IPython and the real go command."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

UTC = datetime.timezone.utc
PLUS2 = datetime.timezone(datetime.timedelta(hours=2))
DF = pd.DataFrame({"unit price": [1.5, 2.0], "region": ["north", "süd"], "n": [3, 4]})

# (Python value, Go's %T of it, Go's %v of it, what --export gives back)
ROWS = [
    (5, "int", "5", 5),
    (-(2**63), "int", str(-(2**63)), -(2**63)),
    (2**63 + 1, "uint64", str(2**63 + 1), 2**63 + 1),
    (2.5, "float64", "2.5", 2.5),
    (math.nan, "float64", "NaN", math.nan),
    (-math.inf, "float64", "-Inf", -math.inf),
    (True, "bool", "true", True),
    ("héllo ✓ 世界\n", "string", "héllo ✓ 世界\n", "héllo ✓ 世界\n"),
    (b"\x00\xffab", "[]uint8", "[0 255 97 98]", b"\x00\xffab"),
    (None, "<nil>", "<nil>", None),
    (1 + 2j, "complex128", "(1+2i)", 1 + 2j),
    ([1, 2, 3], "[]int", "[1 2 3]", np.array([1, 2, 3])),
    ((1, 2.5), "[]float64", "[1 2.5]", np.array([1.0, 2.5])),
    ([1, "a", None], "[]interface {}", "[1 a <nil>]", [1, "a", None]),
    ([[1.0, 2.0], [3.0]], "[][]float64", "[[1 2] [3]]", [np.array([1.0, 2.0]), np.array([3.0])]),
    ([], "[]interface {}", "[]", []),
    ({"a": 1, "b": 2}, "map[string]int", "map[a:1 b:2]", {"a": 1, "b": 2}),
    ({}, "map[string]interface {}", "map[]", {}),
    ({"xs": [1, 2]}, "map[string][]int", "map[xs:[1 2]]", {"xs": np.array([1, 2])}),
    ({1: "one"}, "map[int]string", "map[1:one]", {1: "one"}),
    (np.arange(3.0), "[]float64", "[0 1 2]", np.arange(3.0)),
    (np.array([1, -2], dtype=np.int32), "[]int32", "[1 -2]", np.array([1, -2], dtype=np.int32)),
    (np.array([True, False]), "[]bool", "[true false]", np.array([True, False])),
    (
        np.arange(6.0).reshape(2, 3),
        "[][]float64",
        "[[0 1 2] [3 4 5]]",
        np.arange(6.0).reshape(2, 3),
    ),
    (np.array([1 + 1j]), "[]complex128", "[(1+1i)]", np.array([1 + 1j])),
    (np.array([7], dtype=np.uint8), "[]uint8", "[7]", b"\x07"),
    (np.float32(1.5), "float32", "1.5", 1.5),
    (np.int16(-3), "int16", "-3", -3),
    (
        datetime.datetime(2024, 2, 29, 12, 30, 5, 250000, tzinfo=PLUS2),
        "time.Time",
        "2024-02-29 12:30:05.25 +0200 +0200",
        datetime.datetime(2024, 2, 29, 12, 30, 5, 250000, tzinfo=PLUS2),
    ),
    (
        datetime.datetime(2024, 1, 1, 8, 0),
        "time.Time",
        "2024-01-01 08:00:00 +0000 UTC",
        datetime.datetime(2024, 1, 1, 8, 0, tzinfo=UTC),
    ),
    (
        datetime.timedelta(minutes=1, microseconds=5),
        "time.Duration",
        "1m0.000005s",
        datetime.timedelta(minutes=1, microseconds=5),
    ),
    (
        np.array(["2024-01-02T03:04:05"], dtype="datetime64[s]"),
        "[]time.Time",
        "[2024-01-02 03:04:05 +0000 UTC]",
        [datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)],
    ),
    (DF, "[]main.VRow", "[{1.5 north 3} {2 süd 4}]", DF),
    (pd.Series([1.5, 2.5]), "[]float64", "[1.5 2.5]", np.array([1.5, 2.5])),
    (pd.Series(["a", "b"]), "[]string", "[a b]", ["a", "b"]),
]


def same(a, b) -> bool:
    """Equal, NaN equal to NaN, arrays and frames by value and type."""
    if isinstance(b, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        return isinstance(a, pd.DataFrame)
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    if isinstance(b, list):
        return type(a) is list and len(a) == len(b) and all(map(same, a, b))
    if isinstance(b, dict):
        return type(a) is dict and a.keys() == b.keys() and all(same(a[k], b[k]) for k in b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(
    "value,go_type,go_text,back", ROWS, ids=[r[1] + "-" + str(i) for i, r in enumerate(ROWS)]
)
def test_every_row_of_the_type_table_both_ways(ip, run, value, go_type, go_text, back):
    ip.user_ns["v"] = value
    result, out, err = run(
        '%%gorun --quiet --in v --export w\nfmt.Printf("%T|%v\\n", v, v)\nw := v\n'
    )
    assert result.success, out + err
    assert out == f"{go_type}|{go_text}\n"
    assert same(ip.user_ns["w"], back), (ip.user_ns["w"], back)


def test_go_values_without_a_python_counterpart_in_the_table_come_back_as_data(ip, run):
    cell = """%%gorun --quiet --export words,byID,pt,ptr,nilSlice,nilMap,big,small,names,when
type point struct{ X, y int }
words := []string{"a", "β", ""}
byID := map[int]string{2: "b", 1: "a"}
pt := point{1, 2}
ptr := &pt
var nilSlice []float64
var nilMap map[string]int
big := uint64(math.MaxUint64)
small := int64(math.MinInt64)
names := [2]string{"x", "y"}
when := time.Unix(0, 0).In(time.FixedZone("X", -3600))
"""
    result, out, err = run(cell)
    assert result.success, out + err
    ns = ip.user_ns
    assert ns["words"] == ["a", "β", ""]
    assert ns["byID"] == {1: "a", 2: "b"} and list(ns["byID"]) == [1, 2]
    assert ns["pt"] == {"X": 1, "y": 2} == ns["ptr"]  # main's own types: every field
    assert same(ns["nilSlice"], np.array([], dtype=np.float64)) and ns["nilMap"] == {}
    assert ns["big"] == 2**64 - 1 and ns["small"] == -(2**63)
    assert ns["names"] == ["x", "y"]
    assert ns["when"] == datetime.datetime(1970, 1, 1, tzinfo=UTC)
    assert ns["when"].utcoffset() == datetime.timedelta(hours=-1)


def test_empty_lists_and_maps_are_empty_not_nil_and_none_is_nil(ip, run):
    ip.user_ns.update(e=[], m={}, nothing=None)
    _, out, err = run(
        "%%gorun --quiet --in e,m,nothing\n"
        "fmt.Println(e == nil, len(e), m == nil, nothing == nil)\n"
    )
    assert out == "false 0 false true\n", out + err


def test_a_dataframe_with_times_and_durations(ip, run):
    ip.user_ns["events"] = pd.DataFrame(
        {
            "at": pd.to_datetime(["2024-03-01 10:00:00.000000001", "2024-03-02"], format="ISO8601"),
            "local": pd.to_datetime(["2024-03-01 10:00", "2024-03-02 00:00"]).tz_localize(
                "Europe/Paris"
            ),
            "took": pd.to_timedelta([1500, 2], unit="ms"),
        }
    )
    _, out, err = run(
        "%%gorun --quiet --in events --export back\n"
        "for _, e := range events { fmt.Println(e.At.Format(time.RFC3339Nano), e.Local, e.Took) }\n"
        "back := events\n"
    )
    assert out == (
        "2024-03-01T10:00:00.000000001Z 2024-03-01 10:00:00 +0100 +0100 1.5s\n"
        "2024-03-02T00:00:00Z 2024-03-02 00:00:00 +0100 +0100 2ms\n"
    ), out + err
    back = ip.user_ns["back"]
    assert list(back.columns) == ["at", "local", "took"]
    assert back["at"][1] == datetime.datetime(2024, 3, 2, tzinfo=UTC)
    assert back["local"][0] == datetime.datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert back["took"][0] == datetime.timedelta(milliseconds=1500)


def test_a_slice_of_structs_comes_back_as_a_dataframe_with_the_columns_names(ip, run):
    ip.user_ns["sales"] = pd.DataFrame({"unit price": [2.0, 3.0], "units": [10, 20]})
    result, out, err = run(
        "%%gorun --quiet --in sales --export sales2\n"
        "sales2 := sales\nfor i := range sales2 { sales2[i].Units *= 2 }\n"
    )
    assert result.success, out + err
    pd.testing.assert_frame_equal(
        ip.user_ns["sales2"], pd.DataFrame({"unit price": [2.0, 3.0], "units": [20, 40]})
    )
    assert "'unit price' → UnitPrice, 'units' → Units" in err
    # Shown once a session: the same frame again says nothing.
    result, out, err = run("%%gorun --quiet --in sales\nfmt.Println(len(sales))\n")
    assert out == "2\n" and "UnitPrice" not in err


def test_the_final_value_is_python_data_shown_as_go_text(ip, run):
    result, out, _err = run("%%gorun --quiet\n[]int{1, 2, 3}\n")
    v = result.result
    assert isinstance(v, np.ndarray) and v.tolist() == [1, 2, 3]
    assert repr(v) == "[1 2 3]" and "Out[" in out and "[1 2 3]" in out
    assert repr(v * 2) == "array([2, 4, 6])"  # what is made from it is plain
    assert ip.user_ns["_"] is v
    result, _, _ = run('%%gorun --quiet\nmap[string]int{"a": 1}\n')
    assert result.result == {"a": 1} and repr(result.result) == "map[a:1]"
    result, _, _ = run('%%gorun --quiet\nstrconv.Atoi("x1")\n')
    assert repr(result.result).startswith("(0, strconv.Atoi")  # an error inside: Go text
    assert "error" in result.result.note


def test_a_final_value_that_cannot_cross_stays_a_govalue_with_a_note(run):
    from gorun_kernel.frontends.magic import GoValue

    result, _out, _err = run("%%gorun --quiet\nmake(chan int)\n")
    assert isinstance(result.result, GoValue) and repr(result.result).startswith("0x")
    assert result.result.note == "a channel cannot cross to Python"
    result, _, _ = run("%%gorun --quiet\n[]func(){nil}\n")
    assert (
        isinstance(result.result, GoValue) and result.result.note == "a func cannot cross to Python"
    )
    result, _, _ = run("%%gorun --quiet\nvar p *int\np\n")
    assert isinstance(result.result, GoValue) and repr(result.result) == "<nil>"
    result, _, _ = run("%%gorun --quiet\n1 < 2\n")
    assert result.result is True


def test_big_values_travel_over_the_channel_and_main_go_stays_small(ip, run):
    import gorun_kernel.frontends.magic as magic

    ip.user_ns["xs"] = np.arange(2_000_000, dtype=np.float64)
    result, out, err = run(
        "%%gorun --quiet --in xs --export ys\n"
        "ys := make([]float64, len(xs))\nfor i, x := range xs { ys[i] = 2 * x }\n"
        "fmt.Println(len(xs), xs[len(xs)-1])\n"
    )
    assert result.success, out + err
    assert out == "2000000 1.999999e+06\n"
    assert np.array_equal(ip.user_ns["ys"], 2 * ip.user_ns["xs"])
    main_go = magic.magics_of(ip).engine().scratch.path / "main.go"
    assert main_go.stat().st_size < 4000, main_go.read_text()[:2000]
    assert 'gorunǂpydata.In[[]float64]("xs")' in main_go.read_text()
    # Like any snippet declaration, xs is there in later cells (its frame is sent again)
    # until replaced, and the Python variable changing later does not change it.
    ip.user_ns["xs"][0] = 99.0
    result, out, err = run("%%gorun --quiet\nfmt.Println(xs[0], xs[1])\n")
    assert out == "0 1\n", out + err
    result, out, err = run(
        "%%gotest\nfunc TestXs(t *testing.T) { if len(xs) != 2000000 { t.Fatal(len(xs)) } }\n"
    )
    assert result.success, out + err


def test_small_plain_values_are_literals_in_main_go(ip, run):
    import gorun_kernel.frontends.magic as magic

    ip.user_ns.update(n=3, names=["a", "b"])
    _result, out, err = run("%%gorun --quiet --in n,names\nfmt.Println(n, names)\n")
    assert out == "3 [a b]\n", out + err
    text = (magic.magics_of(ip).engine().scratch.path / "main.go").read_text()
    assert "var n = 3" in text and 'var names = []string{"a", "b"}' in text


@pytest.mark.parametrize(
    "setup,line,message",
    [
        ("s = {1, 2}", "--in s", "--in s: a Python set has no Go peer"),
        ("a = np.array([object()])", "--in a", "NumPy's dtype object has no Go peer"),
        ("a = np.zeros((2, 2, 2))", "--in a", "a 3-D NumPy array has no Go peer here"),
        ("big = 2**64", "--in big", "does not fit in a Go integer"),
        ("type = 1", "--in type", "'type' is a Go keyword"),
        ("len = 1", "--in len", "would hide Go's own len"),
        ("", "--in nothere", "there is no Python variable named nothere"),
        ("x = 1", "--in x-y", "--in wants Python variable names"),
        ("x = 1", "--export total", "--export total: the cell does not declare total"),
        ("df = pd.DataFrame({'a b': [1], 'a_b': [2]})", "--in df", "would both be the Go field AB"),
        ("df = pd.DataFrame({'c': pd.Series(['x', None])})", "--in df", "has missing values"),
        ("c = pd.Series([1, 'x'])", "--in c", "(object) has no Go peer"),
        ("x = 1", "--bg --in x", "not --bg programs"),
        ("x = 1", "--wasm --in x", "not --wasm pages"),
    ],
)
def test_bad_input_is_a_usage_error_and_nothing_is_done(ip, run, setup, line, message):
    ip.user_ns.update(np=np, pd=pd, ok=1)
    if setup:
        run(setup)
    result, out, err = run(f'%%gorun {line},ok\nfmt.Println("ran")\n'.replace(",,", ","))
    assert not result.success
    assert message in str(result.error_in_exec) + out + err
    assert "ran" not in out
    # nothing half-done: ok (given before the bad name or after it) was not declared
    result, out, err = run("%%gorun --quiet\nfmt.Println(ok)\n")
    assert not result.success and "undefined: ok" in out + err


def test_in_and_export_refuse_a_whole_program_cell(ip, run):
    ip.user_ns["x"] = 1
    result, _, _ = run("%%gorun --in x\npackage main\nfunc main() {}\n")
    assert "this cell is a whole program (package main)" in str(result.error_in_exec)
    result, _out, _err = run("%%gorun --in x\nx := 2\n")
    assert "--in x: the cell declares x too" in str(result.error_in_exec)


def test_an_export_that_cannot_cross_is_a_cell_error_and_no_export_is_assigned(ip, run):
    result, _, _ = run("%%gorun --quiet --export a_unsent,f\na_unsent := 1\nf := func() {}\n")
    assert type(result.error_in_exec).__name__ == "CellError"
    assert "--export f: a func cannot cross to Python; nothing was exported" in str(
        result.error_in_exec
    )
    assert "a_unsent" not in ip.user_ns
    result, _out, _err = run('%%gorun --quiet --export e\ne := errors.New("boom")\n')
    assert "--export e: *errors.errorString is an error: it stays Go text" in str(
        result.error_in_exec
    )
    result, _, _ = run(
        "%%gorun --quiet --export b_unsent\nb_unsent := 1\nif b_unsent == 1 { os.Exit(0) }\n"
    )
    assert "ended before the end of the cell's statements" in str(result.error_in_exec)
    assert "b_unsent" not in ip.user_ns


def test_a_failed_run_assigns_no_export(ip, run):
    result, _out, _err = run('%%gorun --quiet --export r\nr := 5\npanic("no")\n')
    assert not result.success and "r_unsent" not in ip.user_ns
