// Command typeinfo answers completion and inspection requests for gorun_kernel.
//
// It reads one JSON request per line on standard input and writes one JSON
// reply per line on standard output, until its input ends (the kernel went
// away). It uses only the standard library: go/parser and go/types type-check
// the program a cell would become, and the packages it imports are read from
// export data that `go list -export` finds in go's build cache. Nothing here
// reaches the network: modules come from the module cache, where the session's
// builds put them.
//
// Requests are answered one at a time; the kernel never sends a second one
// before the first is answered, so a slow answer is simply late (the kernel
// has already fallen back to its own, simpler, completion).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Request is one line of input.
type Request struct {
	ID      int               `json:"id"`
	Op      string            `json:"op"`      // "complete", "inspect" or "ping"
	Dir     string            `json:"dir"`     // where go list runs (the session's module)
	Modfile string            `json:"modfile"` // go.mod to use there (-modfile), or ""
	Gen     string            `json:"gen"`     // changes when go.mod, go.sum or a local module change
	File    string            `json:"file"`    // the file the cursor is in
	Files   map[string]string `json:"files"`   // the program's files, by name
	Offset  int               `json:"offset"`  // the cursor, in bytes into Files[File]
}

// Reply is one line of output.
type Reply struct {
	ID     int         `json:"id"`
	OK     bool        `json:"ok"`
	Error  string      `json:"error,omitempty"`
	Prefix string      `json:"prefix"`          // the identifier part before the cursor
	Items  []Candidate `json:"items,omitempty"` // completion candidates
	Hover  *Hover      `json:"hover,omitempty"` // what is under the cursor
	// Unresolved is set when the operand before a "." has no type: the kernel
	// may know better (a standard package that a build would import itself).
	Unresolved bool `json:"unresolved,omitempty"`
	Errors     int  `json:"errors"` // type errors seen (ignored; partial information is used)
}

func main() {
	goCmd := flag.String("go", "go", "the go command to run")
	goroot := flag.String("goroot", "", "the toolchain's GOROOT (for builtin docs)")
	flag.Parse()
	// A completion helper should stay small: collect garbage early.
	debug.SetGCPercent(50)
	s := newServer(*goCmd, *goroot)
	in := json.NewDecoder(bufio.NewReaderSize(os.Stdin, 1<<16))
	out := json.NewEncoder(os.Stdout)
	for {
		var req Request
		if err := in.Decode(&req); err == io.EOF {
			return
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "typeinfo: bad request:", err)
			return
		}
		if err := out.Encode(s.answer(&req)); err != nil {
			return // the kernel is gone
		}
	}
}

func (s *server) answer(req *Request) (reply *Reply) {
	defer func() {
		// A bug here must cost one answer, not the helper.
		if r := recover(); r != nil {
			reply = &Reply{ID: req.ID, Error: fmt.Sprintf("internal error: %v\n%s", r, debug.Stack())}
		}
	}()
	switch req.Op {
	case "ping":
		return &Reply{ID: req.ID, OK: true}
	case "complete":
		return s.complete(req)
	case "inspect":
		return s.inspect(req)
	}
	return &Reply{ID: req.ID, Error: "unknown op " + req.Op}
}
