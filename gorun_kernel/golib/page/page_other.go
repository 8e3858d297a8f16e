//go:build !(js && wasm)

package page

import "gorun.dev/display"

// ID is "" outside a page.
func ID() string { return "" }

// SetHTML shows html as a display (a notebook output, or text outside one).
func SetHTML(html string) { display.HTML(html) }

// AppendHTML shows html as a display, as SetHTML does.
func AppendHTML(html string) { display.HTML(html) }

// SetHTMLAt shows html as a display, as SetHTML does.
func SetHTMLAt(selector, html string) { display.HTML(html) }

// On does nothing outside a page: there are no events to wait for.
func On(selector, event string, handler func(Event)) {}

// Wait returns at once outside a page.
func Wait() {}
