package value

// Show sends a snippet's final value (one value, or several as a tuple) to the
// run, as Encode writes it: to the descriptor GORUN_VALUE_FD names (send_fd.go),
// or in a --wasm cell to the page (send_js.go); in a run of the %%gorun magic,
// also as data for Python (asData: pydata.Final). It lives here, not in the
// program's package main, so that what go says about package main (-gcflags=-m,
// -S) is about the user's code only: inlining os.NewFile there would bring
// sync/atomic instantiations into its output.
//
//go:noinline
func Show(values ...any) {
	if send := sender(); send != nil {
		send(Encode(values...))
	}
	asData(values...)
}

// ShowCall shows a call's results, unless its only result is a nil error (or
// another nil interface): nothing to see.
//
//go:noinline
func ShowCall(values ...any) {
	if len(values) == 1 && values[0] == nil {
		return
	}
	Show(values...)
}

// ShowWrite shows a printing or writing call's results only when its error
// (the last result) is not nil: `(n, <nil>)` is noise.
//
//go:noinline
func ShowWrite(values ...any) {
	if len(values) == 0 || values[len(values)-1] == nil {
		return
	}
	Show(values...)
}
