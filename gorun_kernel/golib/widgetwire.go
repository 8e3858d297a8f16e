package display

import (
	"encoding/binary"
	"io"
)

// The widget wire: package widgets (gorun.dev/display/widgets) sends widget
// models over this channel and receives the notebook's events on it. Programs
// use that package, not these functions.
//
// Events come back on the same socket as the acknowledgements of sync frames:
// an ack is the single byte 0x01; an event is a frame
//
//	"GRE" | flags (0) | length (uint32, big-endian) | JSON
//
// Once a program listens for events, one goroutine reads the socket, hands
// acks to the display call waiting for one, and events to the handler, in
// order.

var listener struct {
	acks chan struct{} // non-nil once the reader goroutine runs
}

// WidgetFrame sends a widget frame ({"type": "widget", ...}); sync waits for the
// kernel to take it. False when there is no notebook.
func WidgetFrame(v map[string]any, sync bool) bool {
	v["type"] = "widget"
	return sendRaw(v, sync)
}

// ListenWidgetEvents starts reading the notebook's events (once; later calls
// change nothing) and gives each event's JSON to handle, in order, on the
// reader's goroutine; closed is called once when the channel ends. False when
// there is no notebook.
func ListenWidgetEvents(handle func(body []byte), closed func()) bool {
	channel.Lock()
	defer channel.Unlock()
	conn := connection()
	if conn == nil {
		return false
	}
	if listener.acks != nil {
		return true
	}
	// Started under the channel's lock: no display call is reading an ack now,
	// and every later one waits on acks instead of reading.
	acks := make(chan struct{}, 1)
	listener.acks = acks
	go func() {
		defer close(acks)
		defer closed()
		var one [1]byte
		for {
			if _, err := io.ReadFull(conn, one[:]); err != nil {
				return
			}
			if one[0] == 0x01 {
				acks <- struct{}{}
				continue
			}
			var head [headerSize - 1]byte
			if one[0] != 'G' {
				return
			}
			if _, err := io.ReadFull(conn, head[:]); err != nil || head[0] != 'R' || head[1] != 'E' {
				return
			}
			n := binary.BigEndian.Uint32(head[3:])
			if n > maxFrame {
				return
			}
			body := make([]byte, n)
			if _, err := io.ReadFull(conn, body); err != nil {
				return
			}
			handle(body)
		}
	}()
	return true
}

// readAck waits for the kernel's acknowledgement of a sync frame; called with
// the channel locked.
func readAck() error {
	if listener.acks != nil {
		if _, ok := <-listener.acks; !ok {
			return io.EOF
		}
		return nil
	}
	var ack [1]byte
	_, err := io.ReadFull(channel.conn, ack[:])
	return err
}
