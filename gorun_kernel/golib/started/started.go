// Package started tells the run that a snippet's program got past its
// initialization: every variable of package main is initialized and every
// init function ran, and main began. Only then do the cell's declarations join
// the session (a declaration whose initializer panics would otherwise make
// every later cell panic the same way).
package started

import (
	"os"
	"strconv"
)

// Report writes one byte to the descriptor GORUN_STARTED_FD names, and closes
// it; it does nothing outside a run of gorun's (no such variable). Package
// main calls it through a variable, first thing in main, so that what go says
// about package main (-gcflags=-m, -S) is about the user's code only.
//
//go:noinline
func Report() {
	fd, err := strconv.Atoi(os.Getenv("GORUN_STARTED_FD"))
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "gorun-started")
	_, _ = f.Write([]byte{1})
	_ = f.Close()
}
