//go:build !(js && wasm)

package display

import (
	"os"
	"strconv"
)

func openChannel(value string) *os.File {
	fd, err := strconv.Atoi(value)
	if err != nil || fd < 3 {
		return nil // unset or nonsense: not in a notebook
	}
	f := os.NewFile(uintptr(fd), "gorun-display")
	if f == nil {
		return nil
	}
	// Only a socket can be ours: an fd 3 inherited from somewhere else (a
	// file, a pipe) must not receive frames.
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeSocket == 0 {
		return nil
	}
	return f
}
