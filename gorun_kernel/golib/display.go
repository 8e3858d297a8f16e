// Package display shows rich output from a Go program run in a notebook by
// gorun_kernel: HTML, Markdown, SVG, PNG and JPEG images, image.Image values,
// JSON, LaTeX and any MIME bundle, and outputs updated in place.
//
//	display.HTML("<b>bold</b>")
//	display.Image(img)
//	bar := display.New()
//	for i := 0; i <= 100; i++ {
//		bar.HTML(progress(i)) // replaces the output made by New
//	}
//
// Order: a display appears after everything the program wrote to os.Stdout
// and os.Stderr before the call, and before what it writes after the call
// returns (each display waits for the kernel to take it). Output buffered in
// the program (a bufio.Writer) counts when it is flushed. Updates do not wait:
// the kernel shows the latest state of each output a few times a second.
//
// Outside a notebook (plain go run, or a program that cannot reach the
// notebook's channel) nothing fails: each display prints its text form as one
// line on stdout, and updates print theirs.
//
// Every display carries a text/plain form next to its rich one, for consoles
// and for saved notebooks that are compared as text.
package display

import (
	"fmt"
	"image"
	"os"
	"sync/atomic"
	"time"
)

// HTML shows s as HTML.
func HTML(s string) { show(htmlBundle(s)) }

// Markdown shows s as Markdown.
func Markdown(s string) { show(markdownBundle(s)) }

// SVG shows an SVG image given as its XML text.
func SVG(s string) { show(svgBundle(s)) }

// PNG shows PNG-encoded image data.
func PNG(b []byte) { show(imageBundle("image/png", b)) }

// JPEG shows JPEG-encoded image data.
func JPEG(b []byte) { show(imageBundle("image/jpeg", b)) }

// Image shows img, encoded as PNG.
func Image(img image.Image) { show(pngImageBundle(img)) }

// JSON shows v as JSON (a notebook may render it as a tree). v is any value
// encoding/json can encode, or JSON text as a string, []byte or
// json.RawMessage.
func JSON(v any) { show(jsonBundle(v)) }

// LaTeX shows s as LaTeX math: "$x^2$" or "$$\int f$$".
func LaTeX(s string) { show(latexBundle(s)) }

// Text shows s as plain text, an output of its own (unlike fmt.Print).
func Text(s string) { show(textBundle(s)) }

// Bundle shows several representations of one thing, keyed by MIME type; the
// notebook picks the richest it can render. Values: a string for text types
// (text/*, image/svg+xml), []byte for binary ones (image/png; a string is taken
// as already base64-encoded), any JSON value for application/json. A
// text/plain form is added when missing.
func Bundle(b map[string]any) { show(normalize(b)) }

// Show displays any value the way a snippet's final value is shown: rich when
// it can be (see Render), with its text form.
func Show(v any) { show(Render(v)) }

// Clear removes the cell's output so far, when the next output arrives (so
// an animation redrawn with Clear does not flicker). Outside a notebook it
// does nothing.
func Clear() { send(frame{Type: "clear", Wait: true}, true) }

func show(data map[string]any) {
	if !send(frame{Type: "display", Data: data}, true) {
		printText(data)
	}
}

// A Display is one output that can be replaced in place, made by New.
type Display struct {
	id string
}

// New makes an empty output at this point of the cell's output, to fill and
// replace later with the methods of Display: a progress bar, a plot redrawn
// as data arrives.
func New() *Display {
	d := &Display{id: newID()}
	send(frame{Type: "display", ID: d.id, Data: textBundle("")}, true)
	return d
}

// ID is the output's display id in the notebook.
func (d *Display) ID() string { return d.id }

// Update replaces the output with v, rendered as Show renders it.
func (d *Display) Update(v any) { d.update(Render(v)) }

// HTML replaces the output with HTML.
func (d *Display) HTML(s string) { d.update(htmlBundle(s)) }

// Markdown replaces the output with Markdown.
func (d *Display) Markdown(s string) { d.update(markdownBundle(s)) }

// SVG replaces the output with an SVG image.
func (d *Display) SVG(s string) { d.update(svgBundle(s)) }

// PNG replaces the output with PNG-encoded image data.
func (d *Display) PNG(b []byte) { d.update(imageBundle("image/png", b)) }

// JPEG replaces the output with JPEG-encoded image data.
func (d *Display) JPEG(b []byte) { d.update(imageBundle("image/jpeg", b)) }

// Image replaces the output with img, encoded as PNG.
func (d *Display) Image(img image.Image) { d.update(pngImageBundle(img)) }

// JSON replaces the output with v as JSON.
func (d *Display) JSON(v any) { d.update(jsonBundle(v)) }

// LaTeX replaces the output with LaTeX math.
func (d *Display) LaTeX(s string) { d.update(latexBundle(s)) }

// Text replaces the output with plain text.
func (d *Display) Text(s string) { d.update(textBundle(s)) }

// Bundle replaces the output with a MIME bundle (see the function Bundle).
func (d *Display) Bundle(b map[string]any) { d.update(normalize(b)) }

// update does not wait for the kernel: updates replace each other, and the
// kernel keeps only the latest of a fast series.
func (d *Display) update(data map[string]any) {
	if !send(frame{Type: "update", ID: d.id, Data: data}, false) {
		printText(data)
	}
}

var idCount atomic.Uint64

// newID: display ids are unique in the whole notebook, since an update
// replaces every output with its id, in any cell: process, time, count.
// (Not crypto/rand: it alone would add a third to a small program's link time.)
func newID() string {
	return fmt.Sprintf("gorun-%x-%x-%d", os.Getpid(), time.Now().UnixNano(), idCount.Add(1))
}
