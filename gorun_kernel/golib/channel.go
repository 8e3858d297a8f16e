package display

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"sync"
)

// The channel to the notebook: a socket the program inherits, its number in
// the environment variable GORUN_DISPLAY_FD. Outside a notebook the variable
// is unset; a program started some other way (under -exec, by another
// program) may have the variable without the socket. Either way the channel is
// "unusable" and every display degrades to a line of text on stdout.
//
// Wire format, one frame per display, update or clear:
//
//	"GRD" | flags (1 byte: bit 0 = sync) | length (uint32, big-endian) | JSON
//
// The JSON is {"type": "display"|"update"|"clear", "id": ..., "data": {mime:
// value}, "metadata": {...}, "wait": bool}; binary values are base64 strings,
// as Jupyter wants them. After a sync frame the program waits for one byte
// back: the kernel sends it once it has shown everything the program wrote to
// stdout and stderr before the frame, and the frame itself. That is what
// keeps displays in order with the program's text.
const (
	fdEnv      = "GORUN_DISPLAY_FD"
	headerSize = 8
	flagSync   = 1
	// maxFrame bounds one frame; the kernel applies its own, smaller, limit
	// per cell and says so when a display is over it.
	maxFrame = 1 << 30
)

type frame struct {
	Type     string         `json:"type"`
	ID       string         `json:"id,omitempty"`
	Data     map[string]any `json:"data,omitempty"`
	Metadata map[string]any `json:"metadata"`
	Wait     bool           `json:"wait,omitempty"`
}

var channel struct {
	sync.Mutex
	opened bool
	conn   *os.File // nil when unusable
}

// connection opens the channel on first use; nil when there is none. Called
// with the channel locked.
func connection() *os.File {
	if !channel.opened {
		channel.opened = true
		channel.conn = openChannel(os.Getenv(fdEnv)) // channel_fd.go, channel_js.go
	}
	return channel.conn
}

// InNotebook reports whether displays reach a notebook; when false they are
// printed as text on stdout.
func InNotebook() bool {
	channel.Lock()
	defer channel.Unlock()
	return connection() != nil
}

// send writes one frame; false when there is no usable channel (the caller
// then prints text instead).
func send(f frame, sync bool) bool {
	if f.Metadata == nil {
		f.Metadata = map[string]any{}
	}
	return sendRaw(f, sync)
}

// sendRaw writes any JSON value as one frame (see send).
func sendRaw(f any, sync bool) bool {
	body, err := json.Marshal(f)
	if err != nil || len(body) > maxFrame {
		return false
	}
	head := [headerSize]byte{'G', 'R', 'D', 0}
	if sync {
		head[3] = flagSync
	}
	binary.BigEndian.PutUint32(head[4:], uint32(len(body)))

	channel.Lock()
	defer channel.Unlock()
	conn := connection()
	if conn == nil {
		return false
	}
	if _, err := conn.Write(append(head[:], body...)); err != nil {
		channel.conn = nil // the kernel is gone or refused the channel: text from now on
		return false
	}
	if sync {
		if err := readAck(); err != nil {
			channel.conn = nil
			// The frame was written; whether it was shown is unknown, so the
			// text goes to stdout as well rather than being lost.
			return false
		}
	}
	return true
}

// printText is how a display degrades outside a notebook: one line on stdout.
func printText(data map[string]any) {
	text, _ := data["text/plain"].(string)
	fmt.Fprintln(os.Stdout, text)
}
