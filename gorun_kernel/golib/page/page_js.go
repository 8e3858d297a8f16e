//go:build js && wasm

package page

import (
	"fmt"
	"os"
	"syscall/js"
)

// bridge is what the page's worker script defines (run/wasm_page.js); it is
// undefined when the module runs somewhere else (under node, say).
func bridge() (js.Value, bool) {
	b := js.Global().Get("gorunPage")
	return b, b.Truthy()
}

// ID is the id of the program's div in the page (also in $GORUN_WASM_DIV).
func ID() string { return os.Getenv("GORUN_WASM_DIV") }

// SetHTML replaces the content of the program's div.
func SetHTML(html string) { send("", html, false) }

// AppendHTML adds to the end of the program's div.
func AppendHTML(html string) { send("", html, true) }

// SetHTMLAt replaces the content of the elements in the program's div that
// match selector (a CSS selector: "#chart"), leaving the rest as it is: an
// <input> the reader is dragging keeps its place.
func SetHTMLAt(selector, html string) { send(selector, html, false) }

func send(selector, html string, appendIt bool) {
	if b, ok := bridge(); ok {
		b.Call("html", html, appendIt, selector)
		return
	}
	fmt.Println(html) // not in a page: the HTML as text, as display does outside a notebook
}

// On calls handler for each event of type event (a DOM event name: "click",
// "input") on an element in the program's div that matches selector (a CSS
// selector: "#go", "button"), or is inside one. Handlers run one at a time, on
// the program's event loop: a handler that blocks holds up the next.
func On(selector, event string, handler func(Event)) {
	b, ok := bridge()
	if !ok {
		return
	}
	fn := js.FuncOf(func(this js.Value, args []js.Value) any {
		e := args[0]
		handler(Event{
			Type:  e.Get("type").String(),
			ID:    e.Get("id").String(),
			Value: e.Get("value").String(),
			Key:   e.Get("key").String(),
			X:     e.Get("x").Float(),
			Y:     e.Get("y").Float(),
		})
		return nil
	})
	b.Call("on", selector, event, fn)
}

// Wait blocks for ever, so that handlers registered with On keep being
// called; the page's stop button (or clearing the output) ends the program.
func Wait() { select {} }
