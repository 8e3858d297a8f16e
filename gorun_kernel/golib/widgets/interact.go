package widgets

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"

	"gorun.dev/display"
)

// replayEnv is set by the kernel when it runs a cell's program again for an
// Interact: "N:[values]", the Interact call N (counted from 0) and its
// controls' values now.
const replayEnv = "GORUN_INTERACT"

var interactCount atomic.Int64

// replaying: the program runs again for an Interact, not as the cell.
var replaying = os.Getenv(replayEnv) != ""

// Interact shows controls and an output area below them; each time a control
// changes in the notebook, f runs with the controls' values (in order, one
// argument each: int for IntSlider and Play, float64 for FloatSlider, bool for
// Checkbox, string for Dropdown, Text and Textarea), and what it prints and
// displays replaces the area's contents.
//
// This works after the program has ended: the kernel runs the cell's program
// again, from its executable (no build), with the new values; the code
// before Interact runs again with its output hidden, and the program ends
// after f returns. So f should depend only on its arguments.
func Interact(f any, controls ...Widget) {
	fv := reflect.ValueOf(f)
	n := interactCount.Add(1) - 1
	if err := checkInteract(fv, controls); err != nil {
		fmt.Fprintln(os.Stderr, "widgets.Interact:", err)
		return
	}
	if replaying {
		replay(fv, n)
		return
	}
	out := NewOutput()
	Show(NewVBox(append(append([]Widget(nil), controls...), out)...))
	exe, err := os.Executable()
	if err != nil {
		return
	}
	ids := make([]any, len(controls))
	for i, c := range controls {
		ids[i] = c.model().id
	}
	display.WidgetFrame(map[string]any{
		"method": "interact", "id": out.id,
		"state": map[string]any{"controls": ids, "exe": exe, "args": os.Args[1:], "index": n},
	}, true)
}

func checkInteract(fv reflect.Value, controls []Widget) error {
	if fv.Kind() != reflect.Func {
		return fmt.Errorf("f is a %s, not a function", fv.Kind())
	}
	if fv.Type().NumIn() != len(controls) {
		return fmt.Errorf("f takes %d arguments for %d controls", fv.Type().NumIn(), len(controls))
	}
	for i, c := range controls {
		want := valueKind(c)
		if got := fv.Type().In(i).Kind(); want == reflect.Invalid || got != want {
			return fmt.Errorf("argument %d of f is %s; control %d (%s) gives %s",
				i+1, fv.Type().In(i), i+1, c.model().name, want)
		}
	}
	return nil
}

func valueKind(w Widget) reflect.Kind {
	switch w.(type) {
	case *IntSlider, *Play:
		return reflect.Int
	case *FloatSlider:
		return reflect.Float64
	case *Checkbox:
		return reflect.Bool
	case *Dropdown, *Text:
		return reflect.String
	}
	return reflect.Invalid
}

// replay is an Interact in a program the kernel runs again: the call the
// kernel asked for runs f with its values, and the program ends.
func replay(fv reflect.Value, n int64) {
	spec := os.Getenv(replayEnv)
	head, values, ok := strings.Cut(spec, ":")
	want, err := strconv.ParseInt(head, 10, 64)
	if !ok || err != nil || want != n {
		return
	}
	var raw []any
	if json.Unmarshal([]byte(values), &raw) != nil || len(raw) != fv.Type().NumIn() {
		fmt.Fprintln(os.Stderr, "widgets.Interact: the kernel sent values that do not fit f")
		os.Exit(2)
	}
	args := make([]reflect.Value, len(raw))
	for i, v := range raw {
		t := fv.Type().In(i)
		switch t.Kind() {
		case reflect.Int:
			args[i] = reflect.ValueOf(toInt(v)).Convert(t)
		case reflect.Float64:
			args[i] = reflect.ValueOf(toFloat(v)).Convert(t)
		case reflect.Bool:
			b, _ := v.(bool)
			args[i] = reflect.ValueOf(b).Convert(t)
		default:
			s, _ := v.(string)
			args[i] = reflect.ValueOf(s).Convert(t)
		}
	}
	// What the program showed before this point is not the Interact's: the
	// kernel drops it (text written so far is flushed by this sync frame).
	display.WidgetFrame(map[string]any{"method": "begin", "id": "interact"}, true)
	fv.Call(args)
	os.Exit(0)
}
