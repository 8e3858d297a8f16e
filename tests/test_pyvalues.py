"""Python values as Go types and frames (compose/pyvalues.py, compose/pywire.py): pure."""

from __future__ import annotations

import math

import hypothesis.strategies as st
from hypothesis import given, settings

from gorun_kernel.compose import goliteral, pyvalues, pywire

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_plain_values_get_the_papermill_translators_types(value):
    """A value's Go type does not depend on its size: the literal path (goliteral) and
    the channel path (pyvalues.infer) agree wherever both take it."""
    try:
        lit = goliteral.literal(value)
    except goliteral.GoLiteralError:
        return
    assert pyvalues.infer(value) == lit.type


def test_go_field_names_for_columns():
    assert pyvalues.go_field("unit price") == "UnitPrice"
    assert pyvalues.go_field("x_1") == "X1"
    assert pyvalues.go_field("2024") == "X2024"
    assert pyvalues.go_field("名前") == "X名前"
    assert pyvalues.go_field("été") == "Été"


def test_frames_are_whole_multiples_of_eight_with_arrays_aligned():
    import numpy as np

    w = pywire.Writer("xs")
    pyvalues.encode(w, np.arange(1000.0), "[]float64", 0)
    data = bytearray(b"".join(bytes(c) for c in w.finish()))
    assert len(data) % 8 == 0
    ((name, value),) = pywire.frames(data)
    assert name == "xs" and value.tolist() == list(range(1000))
    assert value.ctypes.data % 8 == 0 and value.flags.writeable


def test_a_big_array_is_referenced_not_copied_into_the_frame():
    import numpy as np

    a = np.zeros(100_000)
    w = pywire.Writer("a")
    pyvalues.encode(w, a, "[]float64", 0)
    chunks = w.finish()
    assert any(isinstance(c, memoryview) and c.obj is not None and c.nbytes == a.nbytes
               for c in chunks)  # fmt: skip


def test_a_cut_stream_yields_the_whole_frames_only():
    w = pywire.Writer("n")
    pyvalues.encode(w, 5, "int", 0)
    frame = b"".join(bytes(c) for c in w.finish())
    assert list(pywire.frames(bytearray(frame + frame[:9]))) == [("n", 5)]


def test_nan_survives_the_frame():
    w = pywire.Writer("f")
    pyvalues.encode(w, math.nan, "float64", 0)
    ((_, v),) = pywire.frames(bytearray(b"".join(bytes(c) for c in w.finish())))
    assert math.isnan(v)


def test_values_without_a_go_peer_say_which_and_why():
    import numpy as np
    import pytest

    cases = {
        "a Python set has no Go peer": {1, 2},
        "NumPy's dtype <U1 has no Go peer": np.array(["a"]),
        "NumPy's dtype float16 has no Go peer": np.zeros(2, dtype=np.float16),
        "NumPy's dtype object has no Go peer": np.array([None, 1]),
        "a 3-D NumPy array has no Go peer here": np.zeros((1, 1, 1)),
        "a NumPy datetime64[D] scalar has no Go peer here": np.datetime64("2024-01-01"),
        "does not fit in a Go integer": [1, 2**64],
        "a Go map key cannot be a list or a map": {(1, 2): 3},
    }
    for message, value in cases.items():
        with pytest.raises(pyvalues.NoGoPeer, match=message.replace("[", r"\[")):
            pyvalues.declare("x", value)


def test_final_values_keep_go_text_and_pickle_as_plain_values():
    import pickle

    import numpy as np
    import pandas as pd

    from gorun_kernel.frontends import pydata

    for value, text in [
        (np.arange(3), "[0 1 2]"),
        (pd.DataFrame({"A": [1]}), "[{1}]"),
        ([1, "a"], "[1 a]"),
        (5, "5"),
    ]:
        shown = pydata.final_value(None, value, text, {"text/plain": text})
        assert repr(shown) == text and shown._repr_mimebundle_() == {"text/plain": text}
        back = pickle.loads(pickle.dumps(shown))  # noqa: S301 (our own bytes)
        assert type(back) in (type(value), pydata.GoList, pydata.GoInt)
        assert not isinstance(back, np.ndarray | pd.DataFrame) or type(back) is type(value)


def test_a_final_value_changed_in_python_shows_pythons_repr_not_stale_go_text():
    import numpy as np
    import pandas as pd

    from gorun_kernel.frontends import pydata

    def made(value, text):
        return pydata.final_value(None, value, text, {"text/plain": text})

    xs = made([1, 2], "[1 2]")
    xs.append(3)
    assert repr(xs) == "[1, 2, 3]" and xs._repr_mimebundle_() == {"text/plain": "[1, 2, 3]"}
    m = made({"a": 1}, "map[a:1]")
    m["b"] = 2
    assert repr(m) == "{'a': 1, 'b': 2}"
    a = made(np.arange(3), "[0 1 2]")
    a[0] = 5
    assert repr(a) == "array([5, 1, 2])"
    f = made(pd.DataFrame({"A": [1, 2]}), "[{1} {2}]")
    assert repr(f) == "[{1} {2}]"
    f.loc[0, "A"] = 9
    assert repr(f) != "[{1} {2}]" and f._repr_mimebundle_() is None


def test_the_go_kernel_refuses_in_and_export():
    import pytest

    from gorun_kernel.errors import UsageError
    from gorun_kernel.frontends.session_commands import SessionSettings

    for words in (["--in", "xs"], ["--export", "total"]):
        with pytest.raises(UsageError, match="it is for the %%gorun magic"):
            SessionSettings().command(words, "usage")
