// Package pydata carries values between a Python notebook and a Go snippet:
// `%%gorun --in NAME` (Python data becomes a Go variable), `--export NAME`
// (a Go variable becomes Python data) and a cell's final value. The values
// travel over a socket the program inherits (GORUN_PYDATA_FD), in the binary
// format docs/data.md describes ("The wire protocol"), never as Go source.
//
// Package main reaches it through generated code only: a declaration
// `var xs = gorunǂpydata.In[[]float64]("xs")` and, at the end of main,
// `gorunǂexport("total", total)`.
package pydata

import (
	"fmt"
	"math"
	"unsafe"
)

// FDEnv names the environment variable that holds the channel's descriptor.
const FDEnv = "GORUN_PYDATA_FD"

// Value tags: the first byte of every encoded value.
const (
	tagNil      = 'n' // nil, None
	tagBool     = '?' // 1 byte, 0 or 1
	tagInt      = 'i' // int64
	tagUint     = 'u' // uint64
	tagFloat    = 'f' // float64
	tagComplex  = 'c' // two float64: real, imaginary
	tagString   = 's' // u64 length, UTF-8 bytes
	tagBytes    = 'y' // u64 length, bytes
	tagTime     = 't' // i64 seconds since 1970 UTC, u32 nanoseconds, i32 zone offset (seconds)
	tagDuration = 'd' // i64 nanoseconds
	tagArray    = 'a' // kind, item size, ndim, dims (u64 each), padding, raw little-endian items
	tagList     = 'l' // u64 count, values
	tagTuple    = 'p' // u64 count, values (several final values)
	tagMap      = 'm' // u64 count, key and value pairs
	tagRecord   = 'r' // u32 fields, (u32 name length, name, value) each
	tagTable    = 'T' // u64 rows, u32 columns, (u32 name length, name, column) each
	tagTyped    = 'V' // u32 length, Go type, value (Python -> Go, where the Go type is any)
	tagCannot   = 'x' // u64 length, why the value cannot cross (Go -> Python)
)

// align: array data starts at a multiple of this many bytes from the frame's
// start (and every frame is a multiple of it long), so either side may use
// it in place.
const align = 8

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// reader decodes one frame held in memory.
type reader struct {
	buf []byte
	pos int
}

func (r *reader) fail(format string, args ...any) {
	panic(fmt.Sprintf("pydata: "+format, args...))
}

func (r *reader) take(n int) []byte {
	if n < 0 || r.pos+n > len(r.buf) {
		r.fail("the frame ends early (%d bytes wanted at %d of %d)", n, r.pos, len(r.buf))
	}
	b := r.buf[r.pos : r.pos+n]
	r.pos += n
	return b
}

func (r *reader) byte() byte { return r.take(1)[0] }

func (r *reader) u32() uint32 {
	b := r.take(4)
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	return le64(b)
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func (r *reader) count() int {
	n := r.u64()
	if n > uint64(len(r.buf)) {
		r.fail("a count of %d in a frame of %d bytes", n, len(r.buf))
	}
	return int(n)
}

func (r *reader) str() string { return string(r.take(r.count())) }

func (r *reader) name() string { return string(r.take(int(r.u32()))) }

func (r *reader) f64() float64 { return math.Float64frombits(r.u64()) }

func (r *reader) pad() {
	if rem := r.pos % align; rem != 0 {
		r.take(align - rem)
	}
}

// writer builds one frame as a list of chunks: small parts are appended to
// the current chunk; a big array's bytes are referenced where they are (no
// copy), so exporting 80 MB costs no 80 MB more.
type writer struct {
	chunks [][]byte
	cur    []byte
	size   int // bytes so far, for padding
}

func (w *writer) bytes(b []byte) {
	w.cur = append(w.cur, b...)
	w.size += len(b)
}

func (w *writer) ref(b []byte) {
	if len(b) < 4096 {
		w.bytes(b)
		return
	}
	w.chunks = append(w.chunks, w.cur, b)
	w.cur = nil
	w.size += len(b)
}

func (w *writer) byte(b byte) { w.bytes([]byte{b}) }

func (w *writer) u32(v uint32) { w.bytes([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }

func (w *writer) u64(v uint64) {
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	w.bytes(b[:])
}

func (w *writer) f64(v float64) { w.u64(math.Float64bits(v)) }

func (w *writer) str(s string) {
	w.u64(uint64(len(s)))
	w.bytes([]byte(s))
}

func (w *writer) name(s string) {
	w.u32(uint32(len(s)))
	w.bytes([]byte(s))
}

func (w *writer) pad() {
	for w.size%align != 0 {
		w.byte(0)
	}
}

func (w *writer) done() [][]byte {
	w.pad()
	return append(w.chunks, w.cur)
}

// frame starts a frame: its body length is filled in by finish.
func newFrame(name string) *writer {
	w := &writer{}
	w.u64(0) // the length, patched in finish
	w.name(name)
	return w
}

func (w *writer) finish() [][]byte {
	chunks := w.done()
	n := uint64(w.size - 8)
	for i := 0; i < 8; i++ {
		chunks[0][i] = byte(n >> (8 * i)) // the header is always in the first chunk
	}
	return chunks
}
