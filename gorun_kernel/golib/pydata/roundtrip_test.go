package pydata

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"
)

// body: a frame as In keeps it (without its length).
func body(t *testing.T, chunks [][]byte) []byte {
	all := bytes.Join(chunks, nil)
	if len(all)%align != 0 {
		t.Fatalf("a frame of %d bytes: not a multiple of %d", len(all), align)
	}
	if n := le64(all); int(n) != len(all)-8 {
		t.Fatalf("the frame says %d bytes, has %d", n, len(all)-8)
	}
	return all[8:]
}

type row struct {
	Name  string
	Score float64 `py:"score %"`
	N     int32
	When  time.Time
}

func TestRoundTrip(t *testing.T) {
	when := time.Date(2024, 2, 29, 12, 30, 0, 5, time.FixedZone("", 3600))
	cases := []any{
		true, 42, int64(math.MinInt64), uint64(math.MaxUint64), 2.5, complex(1, -2), "héllo ✓",
		[]byte{0, 1, 255}, []float64{1, math.Inf(1), -0.5}, []int{1, 2, 3}, []bool{true, false},
		[][]float64{{1, 2}, {3, 4}, {5, 6}}, []string{"a", ""}, map[string]int{"a": 1, "b": 2},
		map[int][]float64{1: {1.5}}, []row{{"x", 1.5, 7, when}, {"y", math.NaN(), -1, when.UTC()}},
		when, 90 * time.Second, []any{1, "a", nil},
	}
	for _, v := range cases {
		b := body(t, EncodeFrame("v", v))
		dst := reflect.New(reflect.TypeOf(v))
		name, err := Decode(b, dst.Interface())
		if err != nil || name != "v" {
			t.Fatalf("%#v: name %q, %v", v, name, err)
		}
		got := dst.Elem().Interface()
		if !equal(got, v) {
			t.Errorf("%#v came back as %#v", v, got)
		}
	}
}

func equal(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		return ta.Equal(b.(time.Time))
	}
	if ra, ok := a.([]row); ok {
		rb := b.([]row)
		for i := range ra {
			same := ra[i].Score == rb[i].Score || (math.IsNaN(ra[i].Score) && math.IsNaN(rb[i].Score))
			if ra[i].Name != rb[i].Name || !same || ra[i].N != rb[i].N || !ra[i].When.Equal(rb[i].When) {
				return false
			}
		}
		return len(ra) == len(rb)
	}
	return reflect.DeepEqual(a, b)
}

func TestWhatCannotCross(t *testing.T) {
	for _, v := range []any{func() {}, make(chan int), []any{1, func() {}}, bytes.ErrTooLarge} {
		b := body(t, EncodeFrame("v", v))
		r := &reader{buf: b}
		r.name()
		if tag := r.byte(); tag != tagCannot {
			t.Errorf("%T: tag %q, want %q", v, tag, tagCannot)
		}
	}
}

func TestBigArraysAreNotCopiedIn(t *testing.T) {
	xs := make([]float64, 1<<16)
	b := body(t, EncodeFrame("xs", xs))
	var out []float64
	if _, err := Decode(b, &out); err != nil {
		t.Fatal(err)
	}
	out[0] = 7
	r := &reader{buf: b}
	r.name()
	r.byte()
	h := readArray(r)
	if math.Float64frombits(le64(h.data)) != 7 {
		t.Error("the decoded slice is a copy of the frame's bytes, not the bytes themselves")
	}
}
