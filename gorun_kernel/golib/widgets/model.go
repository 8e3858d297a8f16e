// Package widgets puts interactive controls in a notebook and gives their
// events to the running Go program: sliders, checkboxes, dropdowns, text
// fields, buttons, progress bars, HTML, output areas and boxes.
//
//	zoom := widgets.NewIntSlider("zoom", 1, 10, 1)
//	zoom.OnChange(func(v int) { fmt.Println("zoom", v) })
//	widgets.Show(zoom)
//	widgets.Wait() // callbacks run until the cell is interrupted
//
// The controls are Jupyter's standard widgets (ipywidgets' models,
// @jupyter-widgets/controls 2.x), so JupyterLab, Notebook 7, VS Code and
// Voilà render them with nothing else installed, and a notebook saved with its
// widget state shows them in nbconvert's HTML.
//
// Callbacks run on one goroutine of the package, one at a time, in the order
// the notebook sent the events. Outside a notebook, widgets are inert: Show
// prints a line of text, and no callback is ever called.
package widgets

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorun.dev/display"
)

// A Widget is any control of this package; Show displays it, boxes hold it.
type Widget interface {
	model() *Model
}

// Model is what every widget shares: its id, its state as the notebook sees
// it, and its layout.
type Model struct {
	id       string
	name     string // the model's name, for text output
	mu       sync.Mutex
	state    map[string]any
	layout   string // id of its Layout model ("" for layout models themselves)
	onUpdate []func(state map[string]any)
	onCustom []func(content map[string]any)
}

func (m *Model) model() *Model { return m }

// ID is the widget's model id in the notebook.
func (m *Model) ID() string { return m.id }

const (
	controls = "@jupyter-widgets/controls"
	base     = "@jupyter-widgets/base"
	version  = "2.0.0"
)

var idCount atomic.Uint64

func newModelID() string {
	return fmt.Sprintf("gorun%x%x%d", os.Getpid(), time.Now().UnixNano(), idCount.Add(1))
}

// open sends a model's whole state to the kernel, which opens its comm.
func open(modelModule, modelName, viewModule, viewName string, state map[string]any) *Model {
	m := &Model{id: newModelID(), name: modelName, state: state}
	state["_model_module"] = modelModule
	state["_model_module_version"] = version
	state["_model_name"] = modelName
	state["_view_module"] = viewModule
	state["_view_module_version"] = version
	state["_view_name"] = viewName
	if modelModule == "@jupyter-widgets/output" {
		state["_model_module_version"] = "1.0.0"
		state["_view_module_version"] = "1.0.0"
	}
	state["_view_count"] = nil
	register(m)
	if replaying {
		return m // the kernel has these models from the cell's run
	}
	display.WidgetFrame(map[string]any{"method": "open", "id": m.id, "state": state}, false)
	return m
}

// control opens a DOM widget with its Layout and its style models.
func control(name, view, style string, state map[string]any) *Model {
	layout := open(base, "LayoutModel", base, "LayoutView", map[string]any{})
	state["layout"] = "IPY_MODEL_" + layout.id
	state["_dom_classes"] = []any{}
	state["tabbable"] = nil
	state["tooltip"] = nil
	if style != "" {
		s := open(controls, style, base, "StyleView", map[string]any{"description_width": ""})
		state["style"] = "IPY_MODEL_" + s.id
	}
	m := open(controls, name, controls, view, state)
	m.layout = layout.id
	return m
}

// set changes state keys and sends them to the notebook.
func (m *Model) set(kv map[string]any) {
	m.mu.Lock()
	for k, v := range kv {
		m.state[k] = v
	}
	m.mu.Unlock()
	if replaying {
		return
	}
	display.WidgetFrame(map[string]any{"method": "update", "id": m.id, "state": kv}, false)
}

func (m *Model) get(key string) any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state[key]
}

// SetDescription sets the label shown next to the control.
func (m *Model) SetDescription(s string) { m.set(map[string]any{"description": s}) }

// SetDisabled greys the control out (it takes no input).
func (m *Model) SetDisabled(b bool) { m.set(map[string]any{"disabled": b}) }

// SetTooltip sets the text shown when the pointer rests on the control.
func (m *Model) SetTooltip(s string) { m.set(map[string]any{"tooltip": s}) }

// SetLayout sets CSS layout properties of the control: "width", "height",
// "margin", "padding", "border_top", "display", "flex", ... (ipywidgets'
// Layout names, with underscores).
func (m *Model) SetLayout(props map[string]string) {
	if m.layout == "" {
		return
	}
	kv := map[string]any{}
	for k, v := range props {
		kv[k] = v
	}
	l := lookup(m.layout)
	if l != nil {
		l.set(kv)
	}
}

// SetWidth sets the control's CSS width ("300px", "50%").
func (m *Model) SetWidth(w string) { m.SetLayout(map[string]string{"width": w}) }

// SetDescriptionWidth sets the width given to the description ("initial": as wide as it needs).
func (m *Model) SetDescriptionWidth(w string) {
	s, _ := m.get("style").(string)
	if st := lookup(trimRef(s)); st != nil {
		st.set(map[string]any{"description_width": w})
	}
}

// onValue calls f with the new "value" after each change made in the notebook.
func (m *Model) onValue(f func(v any)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onUpdate = append(m.onUpdate, func(state map[string]any) {
		if v, ok := state["value"]; ok {
			f(v)
		}
	})
}

// Show displays widgets in the cell's output, one after the other.
func Show(ws ...Widget) {
	if replaying {
		return
	}
	for _, w := range ws {
		m := w.model()
		if !display.InNotebook() {
			fmt.Println(m.text())
			continue
		}
		display.Bundle(map[string]any{
			"application/vnd.jupyter.widget-view+json": map[string]any{
				"model_id": m.id, "version_major": 2, "version_minor": 0,
			},
			"text/plain": m.text(),
		})
	}
}

// text is a widget's text form: its kind, and its value if it has one.
func (m *Model) text() string {
	kind := strings.TrimSuffix(m.name, "Model")
	if v := m.get("value"); v != nil {
		return fmt.Sprintf("%s(%v)", kind, v)
	}
	return kind
}

// Wait runs the widgets' callbacks until the cell is interrupted (or the
// notebook goes away); then it returns, and the program can end.
func Wait() {
	listen()
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt)
	defer signal.Stop(interrupted)
	select {
	case <-interrupted:
	case <-events.closed:
	}
}

func trimRef(s string) string {
	if len(s) > 10 && s[:10] == "IPY_MODEL_" {
		return s[10:]
	}
	return s
}

func toInt(v any) int {
	switch x := v.(type) {
	case float64:
		return int(math.Round(x))
	case int:
		return x
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	}
	return 0
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return 0
}
