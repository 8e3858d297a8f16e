package widgets

import "gorun.dev/display"

// IntSlider picks a whole number between min and max.
type IntSlider struct{ *Model }

// NewIntSlider makes a slider from min to max (step 1) at value.
func NewIntSlider(description string, min, max, value int) *IntSlider {
	return &IntSlider{control("IntSliderModel", "IntSliderView", "SliderStyleModel", map[string]any{
		"description": description, "description_allow_html": false, "disabled": false,
		"min": min, "max": max, "step": 1, "value": value, "behavior": "drag-tap",
		"continuous_update": true, "orientation": "horizontal", "readout": true, "readout_format": "d",
	})}
}

// Value is the slider's value now.
func (s *IntSlider) Value() int { return toInt(s.get("value")) }

// SetValue moves the slider.
func (s *IntSlider) SetValue(v int) { s.set(map[string]any{"value": v}) }

// SetStep sets the slider's step.
func (s *IntSlider) SetStep(step int) { s.set(map[string]any{"step": step}) }

// OnChange calls f with the new value each time it is moved in the notebook.
func (s *IntSlider) OnChange(f func(v int)) {
	s.onValue(func(v any) { f(toInt(v)) })
	listen()
}

// FloatSlider picks a number between min and max.
type FloatSlider struct{ *Model }

// NewFloatSlider makes a slider from min to max in steps of step, at value.
func NewFloatSlider(description string, min, max, step, value float64) *FloatSlider {
	return &FloatSlider{control("FloatSliderModel", "FloatSliderView", "SliderStyleModel", map[string]any{
		"description": description, "description_allow_html": false, "disabled": false,
		"min": min, "max": max, "step": step, "value": value, "behavior": "drag-tap",
		"continuous_update": true, "orientation": "horizontal", "readout": true, "readout_format": ".2f",
	})}
}

// Value is the slider's value now.
func (s *FloatSlider) Value() float64 { return toFloat(s.get("value")) }

// SetValue moves the slider.
func (s *FloatSlider) SetValue(v float64) { s.set(map[string]any{"value": v}) }

// OnChange calls f with the new value each time it is moved in the notebook.
func (s *FloatSlider) OnChange(f func(v float64)) {
	s.onValue(func(v any) { f(toFloat(v)) })
	listen()
}

// Checkbox is a yes/no box.
type Checkbox struct{ *Model }

// NewCheckbox makes a checkbox, checked when value is true.
func NewCheckbox(description string, value bool) *Checkbox {
	return &Checkbox{control("CheckboxModel", "CheckboxView", "CheckboxStyleModel", map[string]any{
		"description": description, "description_allow_html": false, "disabled": false,
		"indent": true, "value": value,
	})}
}

// Value is whether the box is checked.
func (c *Checkbox) Value() bool { v, _ := c.get("value").(bool); return v }

// SetValue checks or unchecks the box.
func (c *Checkbox) SetValue(v bool) { c.set(map[string]any{"value": v}) }

// OnChange calls f each time the box is checked or unchecked in the notebook.
func (c *Checkbox) OnChange(f func(v bool)) {
	c.onValue(func(v any) { b, _ := v.(bool); f(b) })
	listen()
}

// Dropdown picks one of a list of options.
type Dropdown struct {
	*Model
	options []string
}

// NewDropdown makes a dropdown of options, showing value (the first option
// when value is not one of them).
func NewDropdown(description string, options []string, value string) *Dropdown {
	index := 0
	for i, o := range options {
		if o == value {
			index = i
		}
	}
	labels := make([]any, len(options))
	for i, o := range options {
		labels[i] = o
	}
	var idx any = index
	if len(options) == 0 {
		idx = nil
	}
	d := &Dropdown{control("DropdownModel", "DropdownView", "DescriptionStyleModel", map[string]any{
		"description": description, "description_allow_html": false, "disabled": false,
		"_options_labels": labels, "index": idx,
	}), append([]string(nil), options...)}
	return d
}

// Index is the position of the chosen option (-1 for none).
func (d *Dropdown) Index() int {
	if v := d.get("index"); v != nil {
		return toInt(v)
	}
	return -1
}

// Value is the chosen option ("" for none).
func (d *Dropdown) Value() string {
	if i := d.Index(); i >= 0 && i < len(d.options) {
		return d.options[i]
	}
	return ""
}

// SetValue chooses an option by its text (nothing changes if it is not one).
func (d *Dropdown) SetValue(v string) {
	for i, o := range d.options {
		if o == v {
			d.set(map[string]any{"index": i})
		}
	}
}

// OnChange calls f with the option chosen in the notebook.
func (d *Dropdown) OnChange(f func(v string)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.onUpdate = append(d.onUpdate, func(state map[string]any) {
		if i, ok := state["index"]; ok && i != nil {
			if n := toInt(i); n >= 0 && n < len(d.options) {
				f(d.options[n])
			}
		}
	})
	listen()
}

// Text is a one-line text field; Textarea (NewTextarea) has several lines.
type Text struct{ *Model }

// NewText makes a one-line text field holding value.
func NewText(description, value string) *Text {
	return newText("TextModel", "TextView", description, value)
}

// NewTextarea makes a text field of several lines holding value.
func NewTextarea(description, value string) *Text {
	return newText("TextareaModel", "TextareaView", description, value)
}

func newText(name, view, description, value string) *Text {
	return &Text{control(name, view, "TextStyleModel", map[string]any{
		"description": description, "description_allow_html": false, "disabled": false,
		"continuous_update": true, "placeholder": "\u200b", "value": value,
	})}
}

// Value is the text now.
func (t *Text) Value() string { s, _ := t.get("value").(string); return s }

// SetValue replaces the text.
func (t *Text) SetValue(s string) { t.set(map[string]any{"value": s}) }

// SetPlaceholder sets the grey text shown while the field is empty.
func (t *Text) SetPlaceholder(s string) { t.set(map[string]any{"placeholder": s}) }

// OnChange calls f with the text after each edit in the notebook.
func (t *Text) OnChange(f func(v string)) {
	t.onValue(func(v any) { s, _ := v.(string); f(s) })
	listen()
}

// Button is a push button.
type Button struct{ *Model }

// NewButton makes a button labelled description.
func NewButton(description string) *Button {
	return &Button{control("ButtonModel", "ButtonView", "ButtonStyleModel", map[string]any{
		"description": description, "disabled": false, "button_style": "", "icon": "",
	})}
}

// SetStyle sets the button's look: "primary", "success", "info", "warning", "danger" or "".
func (b *Button) SetStyle(s string) { b.set(map[string]any{"button_style": s}) }

// OnClick calls f each time the button is clicked in the notebook.
func (b *Button) OnClick(f func()) {
	b.mu.Lock()
	b.onCustom = append(b.onCustom, func(content map[string]any) {
		if content["event"] == "click" {
			f()
		}
	})
	b.mu.Unlock()
	listen()
}

// Play counts from min to max on its own, one step every interval
// milliseconds, with play, pause and stop buttons.
type Play struct{ *Model }

// NewPlay makes a player from min to max in steps of step, every interval milliseconds.
func NewPlay(min, max, step, interval int) *Play {
	return &Play{control("PlayModel", "PlayView", "DescriptionStyleModel", map[string]any{
		"description": "", "description_allow_html": false, "disabled": false,
		"min": min, "max": max, "step": step, "interval": interval, "value": min,
		"playing": false, "repeat": false, "show_repeat": true,
	})}
}

// Value is the player's count now.
func (p *Play) Value() int { return toInt(p.get("value")) }

// SetValue sets the count.
func (p *Play) SetValue(v int) { p.set(map[string]any{"value": v}) }

// OnChange calls f with each new count.
func (p *Play) OnChange(f func(v int)) {
	p.onValue(func(v any) { f(toInt(v)) })
	listen()
}

// Progress is a progress bar from min to max.
type Progress struct{ *Model }

// NewProgress makes a progress bar from min to max, at min.
func NewProgress(description string, min, max int) *Progress {
	return &Progress{control("IntProgressModel", "ProgressView", "ProgressStyleModel", map[string]any{
		"description": description, "description_allow_html": false,
		"min": min, "max": max, "value": min, "bar_style": "", "orientation": "horizontal",
	})}
}

// Value is the bar's position.
func (p *Progress) Value() int { return toInt(p.get("value")) }

// SetValue moves the bar.
func (p *Progress) SetValue(v int) { p.set(map[string]any{"value": v}) }

// SetStyle colours the bar: "success", "info", "warning", "danger" or "".
func (p *Progress) SetStyle(s string) { p.set(map[string]any{"bar_style": s}) }

// HTML shows HTML that the program can replace; Label (NewLabel) shows plain text.
type HTML struct{ *Model }

// NewHTML makes an HTML widget showing html.
func NewHTML(html string) *HTML {
	return &HTML{control("HTMLModel", "HTMLView", "HTMLStyleModel", map[string]any{
		"description": "", "description_allow_html": false, "placeholder": "\u200b", "value": html,
	})}
}

// NewLabel makes a widget showing plain text.
func NewLabel(text string) *HTML {
	return &HTML{control("LabelModel", "LabelView", "LabelStyleModel", map[string]any{
		"description": "", "description_allow_html": false, "placeholder": "\u200b", "value": text,
	})}
}

// Value is the HTML (or text) shown.
func (h *HTML) Value() string { s, _ := h.get("value").(string); return s }

// SetValue replaces what is shown.
func (h *HTML) SetValue(s string) { h.set(map[string]any{"value": s}) }

// Output is an area of output the program fills and replaces: text, HTML,
// images, any value display.Render can show.
type Output struct{ *Model }

// NewOutput makes an empty output area.
func NewOutput() *Output {
	layout := open(base, "LayoutModel", base, "LayoutView", map[string]any{})
	m := open("@jupyter-widgets/output", "OutputModel", "@jupyter-widgets/output", "OutputView",
		map[string]any{
			"_dom_classes": []any{}, "layout": "IPY_MODEL_" + layout.id, "msg_id": "",
			"outputs": []any{}, "tabbable": nil, "tooltip": nil,
		})
	m.layout = layout.id
	return &Output{m}
}

// Set replaces the area's contents with v, shown as display.Show shows it.
func (o *Output) Set(v any) { o.set(map[string]any{"outputs": []any{displayOutput(v)}}) }

// Clear empties the area.
func (o *Output) Clear() { o.set(map[string]any{"outputs": []any{}}) }

// Append adds v after what the area shows.
func (o *Output) Append(v any) {
	o.mu.Lock()
	outs, _ := o.state["outputs"].([]any)
	outs = append(append([]any(nil), outs...), displayOutput(v))
	o.mu.Unlock()
	o.set(map[string]any{"outputs": outs})
}

func displayOutput(v any) map[string]any {
	return map[string]any{"output_type": "display_data", "data": display.Render(v), "metadata": map[string]any{}}
}

// Box lays widgets out in a row (NewHBox) or a column (NewVBox).
type Box struct{ *Model }

// NewHBox lays out children side by side.
func NewHBox(children ...Widget) *Box { return newBox("HBoxModel", "HBoxView", children) }

// NewVBox lays out children one above the other.
func NewVBox(children ...Widget) *Box { return newBox("VBoxModel", "VBoxView", children) }

func newBox(name, view string, children []Widget) *Box {
	refs := make([]any, len(children))
	for i, c := range children {
		refs[i] = "IPY_MODEL_" + c.model().id
	}
	return &Box{control(name, view, "", map[string]any{"box_style": "", "children": refs})}
}
