package printed_test

import (
	"errors"
	"testing"

	"gorun.dev/display/printed"
	"gorun.dev/display/value"
)

// A print call's results are written as value writes them: one text, whichever
// package a cell links.
func TestTupleIsValuesEncoding(t *testing.T) {
	type point struct{ X, Y int }
	for _, values := range [][]any{
		{0, errors.New("disk full")},
		{3, errors.New("quote \" and \\ and \n and \u2028")},
		{"s", point{1, 2}, nil, []byte("\xff")},
	} {
		got, want := string(printed.Tuple(values...)), string(value.Encode(values...))
		if got != want {
			t.Errorf("Tuple(%v) = %s, value.Encode = %s", values, got, want)
		}
	}
	want := `{"data":{"text/plain":"(0, disk full)"}}`
	if got := string(printed.Tuple(0, errors.New("disk full"))); got != want {
		t.Errorf("Tuple = %s, want %s", got, want)
	}
}
