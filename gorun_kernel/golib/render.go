package display

import (
	"gorun.dev/display/value"
)

// Values that know how to show themselves, in the spirit of IPython's
// _repr_html_ and friends: Show and a snippet's final value use every one of
// these a value implements, next to its text form.
type (
	HTMLer      = value.HTMLer
	Markdowner  = value.Markdowner
	SVGer       = value.SVGer
	PNGer       = value.PNGer
	JPEGer      = value.JPEGer
	LaTeXer     = value.LaTeXer
	MIMEBundler = value.MIMEBundler
)

// MaxTableRows bounds the HTML table of a slice; the text form stays whole.
const MaxTableRows = value.MaxTableRows

// Render returns the MIME bundle v displays as: its text form (Go's
// formatting: strings quoted, structs with field names) and, when it has one,
// a richer form: what its display methods return, an image.Image as PNG, a
// slice of structs or maps as an HTML table.
func Render(v any) map[string]any {
	f := value.Of(v)
	out := map[string]any{}
	if f.Image != nil {
		out = pngImageBundle(f.Image)
		if _, ok := out["image/png"]; !ok {
			out = map[string]any{} // it would not encode: the text alone
		}
	}
	for mime, data := range f.Rich {
		out[mime] = data
	}
	out["text/plain"] = f.Text
	return normalize(out)
}

// Format is a value's text form, as a snippet's final value shows it: %v,
// with strings quoted and structs (or pointers to them) with field names.
func Format(v any) string { return value.Format(v) }
