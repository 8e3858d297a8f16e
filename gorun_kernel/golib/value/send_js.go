//go:build js && wasm

package value

import "syscall/js"

// sender hands the value to the page's worker script (run/wasm_page.js): a
// js/wasm program has no descriptors but its standard ones. nil when the
// module runs somewhere else (under node, say).
func sender() func([]byte) {
	page := js.Global().Get("gorunPage")
	if !page.Truthy() {
		return nil
	}
	return func(b []byte) { page.Call("value", string(b)) }
}

// asData does nothing in a page: there is no Python there (and leaving pydata out
// keeps it out of every --wasm snippet's module: 0.19 MB of page).
func asData(...any) {}
