// Package page is a --wasm cell's way to its part of the notebook page: a div
// of its own under the cell, which it fills with HTML (and SVG), and events
// from it (clicks, input, keys) delivered to Go functions.
//
// A --wasm program runs in a Web Worker, which has no DOM: SetHTML and On
// send messages to the page, which applies them to the program's div and
// sends events back. A program that waits for events ends with Wait (or any
// other way of blocking forever, such as select {}); the page's stop button
// ends it.
//
// Built for another target than js/wasm (a cell run without --wasm), SetHTML
// and AppendHTML show the HTML as a notebook display, On does nothing and
// Wait returns at once: the same cell still shows its first drawing.
package page

// Event is what happened in the program's div.
type Event struct {
	Type  string  // "click", "input", "change", "keydown", ...
	ID    string  // the id of the element that matched the selector ("" if it has none)
	Value string  // its value (an <input>, <select> or <textarea>), else ""
	Key   string  // the key, for keyboard events
	X, Y  float64 // where the pointer was, relative to the element, for mouse events
}
