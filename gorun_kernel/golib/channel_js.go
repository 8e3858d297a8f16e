//go:build js && wasm

package display

import "os"

// In a --wasm cell the program runs in the page's Web Worker, which has no
// descriptors to inherit: the page's script (run/wasm_page.js) serves the
// channel as a file at the path GORUN_DISPLAY_PAGE names, and renders the
// frames in the cell's output. The frames and their acknowledgements are the
// same as over the kernel's socket.
const pageEnv = "GORUN_DISPLAY_PAGE"

func openChannel(string) *os.File {
	path := os.Getenv(pageEnv)
	if path == "" {
		return nil // not in a page of ours (node, say): text on stdout
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	return f
}
