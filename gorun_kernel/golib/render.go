package display

import (
	"fmt"
	"html"
	"image"
	"reflect"
	"sort"
	"strings"
)

// Values that know how to show themselves, in the spirit of IPython's
// _repr_html_ and friends: Show and a snippet's final value use every one of
// these a value implements, next to its text form.
type (
	HTMLer     interface{ HTML() string }
	Markdowner interface{ Markdown() string }
	SVGer      interface{ SVG() string }
	PNGer      interface{ PNG() []byte }
	JPEGer     interface{ JPEG() []byte }
	LaTeXer    interface{ LaTeX() string }
	// MIMEBundler gives the whole bundle itself (values as in Bundle).
	MIMEBundler interface{ MIMEBundle() map[string]any }
)

// MaxTableRows bounds the HTML table of a slice; the text form stays whole.
const MaxTableRows = 1000

// Render returns the MIME bundle v displays as: its text form (Go's
// formatting: strings quoted, structs with field names) and, when it has one,
// a richer form: what its display methods return, an image.Image as PNG, a
// slice of structs or maps as an HTML table.
func Render(v any) map[string]any {
	if b, ok := v.(MIMEBundler); ok {
		return normalize(b.MIMEBundle())
	}
	out := map[string]any{"text/plain": Format(v)}
	if r, ok := v.(HTMLer); ok {
		out["text/html"] = r.HTML()
	}
	if r, ok := v.(Markdowner); ok {
		out["text/markdown"] = r.Markdown()
	}
	if r, ok := v.(SVGer); ok {
		out["image/svg+xml"] = r.SVG()
	}
	if r, ok := v.(PNGer); ok {
		out["image/png"] = r.PNG()
	}
	if r, ok := v.(JPEGer); ok {
		out["image/jpeg"] = r.JPEG()
	}
	if r, ok := v.(LaTeXer); ok {
		out["text/latex"] = r.LaTeX()
	}
	if len(out) > 1 {
		return out
	}
	if img, ok := v.(image.Image); ok && !isNil(v) {
		b := pngImageBundle(img)
		b["text/plain"] = out["text/plain"]
		if _, ok := b["image/png"]; ok {
			return b
		}
		return out
	}
	if table, ok := htmlTable(reflect.ValueOf(v)); ok {
		out["text/html"] = table
	}
	return out
}

// Format is a value's text form, as a snippet's final value shows it: %v,
// with strings quoted and structs (or pointers to them) with field names.
func Format(v any) string {
	switch {
	case v == nil:
		return "<nil>"
	case reflect.TypeOf(v).Kind() == reflect.String:
		return fmt.Sprintf("%q", v)
	case isStruct(reflect.TypeOf(v)):
		return fmt.Sprintf("%+v", v)
	default:
		return fmt.Sprintf("%v", v)
	}
}

func isNil(v any) bool {
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Invalid:
		return true
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return r.IsNil()
	}
	return false
}

func isStruct(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct
}

// htmlTable renders a non-empty slice or array of structs or of maps (or
// pointers to them) as a table, one row per element.
func htmlTable(v reflect.Value) (string, bool) {
	if (v.Kind() != reflect.Slice && v.Kind() != reflect.Array) || v.Len() == 0 {
		return "", false
	}
	elem := v.Type().Elem()
	for elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	var columns []string
	switch elem.Kind() {
	case reflect.Struct:
		for i := 0; i < elem.NumField(); i++ {
			columns = append(columns, elem.Field(i).Name)
		}
	case reflect.Map:
		columns = mapColumns(v)
	default:
		return "", false
	}
	if len(columns) == 0 {
		return "", false
	}
	var b strings.Builder
	b.WriteString("<table>\n<thead><tr><th></th>")
	for _, c := range columns {
		fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(c))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	rows := v.Len()
	if rows > MaxTableRows {
		rows = MaxTableRows
	}
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "<tr><th>%d</th>", i)
		for _, cell := range rowCells(v.Index(i), columns) {
			fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(cell))
		}
		b.WriteString("</tr>\n")
	}
	if more := v.Len() - rows; more > 0 {
		fmt.Fprintf(&b, "<tr><td colspan=\"%d\">… %d more rows</td></tr>\n", len(columns)+1, more)
	}
	b.WriteString("</tbody>\n</table>")
	return b.String(), true
}

// mapColumns: the keys of all the maps, in sorted order of their text.
func mapColumns(v reflect.Value) []string {
	seen := map[string]bool{}
	var columns []string
	for i := 0; i < v.Len() && i < MaxTableRows; i++ {
		row := reflect.Indirect(v.Index(i))
		if !row.IsValid() {
			continue
		}
		for _, k := range row.MapKeys() {
			name := fmt.Sprint(k)
			if !seen[name] {
				seen[name] = true
				columns = append(columns, name)
			}
		}
	}
	sort.Strings(columns)
	return columns
}

// rowCells: one element's values, in column order; a nil element is empty.
func rowCells(row reflect.Value, columns []string) []string {
	cells := make([]string, len(columns))
	for row.Kind() == reflect.Pointer || row.Kind() == reflect.Interface {
		if row.IsNil() {
			return cells
		}
		row = row.Elem()
	}
	switch row.Kind() {
	case reflect.Struct:
		for i := range cells {
			// fmt formats the value a reflect.Value holds, unexported fields too.
			cells[i] = fmt.Sprint(row.Field(i))
		}
	case reflect.Map:
		index := map[string]int{}
		for i, c := range columns {
			index[c] = i
		}
		for _, k := range row.MapKeys() {
			if i, ok := index[fmt.Sprint(k)]; ok {
				cells[i] = fmt.Sprint(row.MapIndex(k))
			}
		}
	}
	return cells
}
