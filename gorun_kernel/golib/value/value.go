// Package value gives the forms a Go value is shown in: its text, as a
// snippet's final value prints it, and a richer form when it has one (what
// its display methods return, an HTML table for a slice of structs or maps,
// an image). It is what display.Render and gorun_kernel's final values share,
// kept light (no encoding/json, no image/png) because every snippet that
// shows a value links it.
package value

import (
	"fmt"
	"image"
	"reflect"

	"gorun.dev/display/printed"
)

// Values that know how to show themselves, in the spirit of IPython's
// _repr_html_ and friends. The display package names them too.
type (
	HTMLer     interface{ HTML() string }
	Markdowner interface{ Markdown() string }
	SVGer      interface{ SVG() string }
	PNGer      interface{ PNG() []byte }
	JPEGer     interface{ JPEG() []byte }
	LaTeXer    interface{ LaTeX() string }
	// MIMEBundler gives the whole bundle itself: MIME type -> string (text
	// types, or base64 for binary ones), []byte (binary), or a JSON value.
	MIMEBundler interface{ MIMEBundle() map[string]any }
)

// Forms of one value.
type Forms struct {
	Text  string         // text/plain: Format(v)
	Rich  map[string]any // richer forms by MIME type (may be empty)
	Image image.Image    // the value as an image, to encode, when it is one
}

// Of returns the forms of v: a MIMEBundler's bundle; else the outputs of the
// display methods v has; else v as an image (its text a description, such
// as "[*image.RGBA 640x480]"); else an HTML table for a non-empty slice or
// array of structs or maps.
func Of(v any) Forms {
	f := Forms{Text: Format(v), Rich: map[string]any{}}
	if b, ok := v.(MIMEBundler); ok {
		for mime, data := range b.MIMEBundle() {
			f.Rich[mime] = data
		}
		if t, ok := f.Rich["text/plain"].(string); ok {
			f.Text = t
		}
		delete(f.Rich, "text/plain")
		return f
	}
	methods(v, f.Rich)
	if len(f.Rich) > 0 {
		return f
	}
	if img, ok := v.(image.Image); ok && !isNil(v) {
		// Its pixels as text (%v) would be megabytes of numbers: a description.
		r := img.Bounds()
		f.Text = fmt.Sprintf("[%T %dx%d]", v, r.Dx(), r.Dy())
		f.Image = img
		return f
	}
	if table, ok := HTMLTable(reflect.ValueOf(v)); ok {
		f.Rich["text/html"] = table
	}
	return f
}

func methods(v any, out map[string]any) {
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
}

// Format is a value's text form, as a snippet's final value shows it: %v,
// with strings quoted and structs (or pointers to them) with field names
// (package printed's rules, shared with what a final print call links).
func Format(v any) string { return printed.Format(v) }

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
