package cache

import (
	"bytes"
	"encoding/gob"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

type Row struct {
	Name string
	When time.Time
	Tags map[string]bool
}

type secret struct {
	Name  string
	count int
}

func TestValueComputesOnceThenReads(t *testing.T) {
	t.Setenv(dirEnv, t.TempDir())
	calls := 0
	make := func() []Row {
		calls++
		return []Row{{Name: "a", When: time.Unix(1, 0).UTC(), Tags: map[string]bool{"x": true}}}
	}
	first := Value("rows", make)
	second := Value("rows", make)
	if calls != 1 {
		t.Fatalf("computed %d times", calls)
	}
	if second[0].Name != "a" || !second[0].When.Equal(first[0].When) || !second[0].Tags["x"] {
		t.Errorf("read back %+v", second)
	}
	Forget("rows")
	Value("rows", make)
	if calls != 2 {
		t.Errorf("Forget did not drop the value")
	}
}

func TestAChangedTypeIsComputedAgain(t *testing.T) {
	t.Setenv(dirEnv, t.TempDir())
	Value("k", func() int { return 1 })
	if got := Value("k", func() string { return "two" }); got != "two" {
		t.Errorf("got %q", got)
	}
	if got := Value("k", func() float64 { return 3 }); got != 3 {
		t.Errorf("got %v", got)
	}
}

func TestWithoutASessionValueJustComputes(t *testing.T) {
	t.Setenv(dirEnv, "")
	calls := 0
	for i := 0; i < 2; i++ {
		Value("k", func() int { calls++; return calls })
	}
	if calls != 2 {
		t.Errorf("computed %d times", calls)
	}
}

func TestUnstorableTypesPanicBeforeComputing(t *testing.T) {
	t.Setenv(dirEnv, t.TempDir())
	cases := map[string]func(){
		"field count of cache.secret is unexported, and gob stores only exported fields (name it Count)": func() {
			Value("s", func() []secret { t.Error("computed"); return nil })
		},
		"a func cannot be stored": func() { Value("f", func() map[string]func() { t.Error("computed"); return nil }) },
		"struct {} has no fields": func() { Value("set", func() map[string]struct{} { t.Error("computed"); return nil }) },
	}
	for want, call := range cases {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "cache.Value(") || !strings.Contains(msg, want) {
					t.Errorf("panic %q, want one containing %q", msg, want)
				}
			}()
			call()
		}()
	}
}

func TestAValueThatFailsToEncodeIsReturnedWithANote(t *testing.T) {
	t.Setenv(dirEnv, t.TempDir())
	r, w, _ := os.Pipe()
	saved := os.Stderr
	os.Stderr = w
	got := Value("any", func() []any { return []any{Row{Name: "unregistered"}} })
	os.Stderr = saved
	w.Close()
	var note bytes.Buffer
	note.ReadFrom(r)
	if len(got) != 1 || !strings.Contains(note.String(), `cache.Value("any"): not stored: gob: type not registered`) {
		t.Errorf("got %v, note %q", got, note.String())
	}
}

func TestSlicesOfNumbersRoundTripAsMemory(t *testing.T) {
	t.Setenv(dirEnv, t.TempDir())
	big := func() []float64 {
		s := make([]float64, 1<<20)
		for i := range s {
			s[i] = float64(i) / 3
		}
		return s
	}
	first := Value("floats", big)
	again := Value("floats", func() []float64 { t.Error("computed again"); return nil })
	if len(again) != len(first) || again[12345] != first[12345] || again[len(again)-1] != first[len(first)-1] {
		t.Errorf("read back %d values", len(again))
	}
	empty := Value("none", func() []int32 { return []int32{} })
	if got := Value("none", func() []int32 { return []int32{9} }); len(got) != 0 || empty == nil {
		t.Errorf("an empty slice read back as %v", got)
	}
	// The same key as another element type is not read into the wrong shape.
	if got := Value("floats", func() []float32 { return []float32{1} }); len(got) != 1 {
		t.Errorf("a []float32 read from a []float64's memory: %d values", len(got))
	}
}

// A nil slice is nil when read back, and an empty one empty, as compute gave
// them: `x == nil` must not change between the computing cell and a later one.
func TestNilAndEmptyValuesReadBackAsComputed(t *testing.T) {
	t.Setenv(dirEnv, t.TempDir())
	calls := 0
	for run := 0; run < 2; run++ {
		check := func(what string, isNil, wantNil bool) {
			if isNil != wantNil {
				t.Errorf("run %d: %s: nil is %v, computed %v", run, what, isNil, wantNil)
			}
		}
		got1 := Value("nil ints", func() []int { calls++; return nil })
		check("nil []int", got1 == nil, true)
		got2 := Value("empty ints", func() []int { calls++; return []int{} })
		check("empty []int", got2 == nil, false)
		got3 := Value("nil strings", func() []string { calls++; return nil })
		check("nil []string", got3 == nil, true)
		got4 := Value("empty strings", func() []string { calls++; return []string{} })
		check("empty []string", got4 == nil, false)
		got5 := Value("nil map", func() map[string]int { calls++; return nil })
		check("nil map", got5 == nil, true)
		got6 := Value("empty map", func() map[string]int { calls++; return map[string]int{} })
		check("empty map", got6 == nil, false)
		got7 := Value("nil pointer", func() *Row { calls++; return nil })
		check("nil *Row", got7 == nil, true)
		got8 := Value("nil any", func() any { calls++; return nil })
		check("nil any", got8 == nil, true)
	}
	if calls != 8 {
		t.Errorf("computed %d times for 8 keys: some were not read from the cache", calls)
	}
}

// A stored slice whose header claims more numbers than the file holds (a
// damaged or tampered file) is computed again, not allocated.
func TestARawLengthTheFileCannotHoldIsComputedAgain(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(dirEnv, dir)
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(header{Key: "k", Type: describe(reflect.TypeOf([]int(nil)), map[reflect.Type]bool{}), Raw: 1 << 50}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filePath(dir, "k"), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := Value("k", func() []int { return []int{7} }); len(got) != 1 || got[0] != 7 {
		t.Errorf("got %v", got)
	}
}
