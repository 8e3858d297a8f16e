//go:build !(js && wasm)

package value

import (
	"os"
	"strconv"

	"gorun.dev/display/pydata"
)

// sender writes to the descriptor GORUN_VALUE_FD names; nil without one.
func sender() func([]byte) {
	fd, err := strconv.Atoi(os.Getenv("GORUN_VALUE_FD"))
	if err != nil {
		return nil
	}
	return func(b []byte) {
		f := os.NewFile(uintptr(fd), "gorun-value")
		_, _ = f.Write(b)
		_ = f.Close()
	}
}

// asData sends the value as data for Python, when the magic asked for it.
func asData(values ...any) { pydata.Final(values...) }
