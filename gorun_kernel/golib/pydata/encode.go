package pydata

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"
	"unsafe"
)

// cannot is why a value cannot cross to Python (a func, a channel, ...).
type cannot struct{ why string }

var (
	writeMu  sync.Mutex
	errorTyp = reflect.TypeOf((*error)(nil)).Elem()
)

// maxDepth bounds nesting: a pointer cycle is refused, not followed forever.
const maxDepth = 100

// Export sends the variable name's value to Python (`%%gorun --export name`);
// the magic calls it at the end of main. Outside a run of the magic it does
// nothing. A value that cannot cross is sent as the reason why, and the
// magic reports it.
//
//go:noinline
func Export(name string, v any) {
	send(name, v)
}

// Final sends a snippet's final value (several values as a tuple); golib/value's
// Show calls it. Outside a run of the magic it does nothing.
func Final(values ...any) {
	if theChannel() == nil {
		return
	}
	if len(values) == 1 {
		send("", values[0])
		return
	}
	send("", tuple(values))
}

type tuple []any

func send(name string, v any) {
	f := theChannel()
	if f == nil {
		return
	}
	chunks := EncodeFrame(name, v)
	writeMu.Lock()
	defer writeMu.Unlock()
	for _, c := range chunks {
		if _, err := f.Write(c); err != nil {
			return // Python is gone: nothing to tell
		}
	}
}

// EncodeFrame is one frame: name and v's value, or why v cannot cross.
func EncodeFrame(name string, v any) (chunks [][]byte) {
	w := newFrame(name)
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		c, ok := p.(cannot)
		if !ok {
			panic(p)
		}
		w = newFrame(name)
		w.byte(tagCannot)
		w.str(c.why)
		chunks = w.finish()
	}()
	rv := reflect.ValueOf(v)
	if t, ok := v.(tuple); ok {
		w.byte(tagTuple)
		w.u64(uint64(len(t)))
		for _, e := range t {
			encode(w, addressable(reflect.ValueOf(e)), 0)
		}
		return w.finish()
	}
	encode(w, addressable(rv), 0)
	return w.finish()
}

// addressable: a copy of v that can be addressed, so that unexported fields of
// main's own types can be read in place.
func addressable(v reflect.Value) reflect.Value {
	if !v.IsValid() {
		return v
	}
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	return p.Elem()
}

// readable: v without the read-only mark of an unexported field.
func readable(v reflect.Value) reflect.Value {
	if v.CanInterface() || !v.CanAddr() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

func refuse(format string, args ...any) {
	panic(cannot{fmt.Sprintf(format, args...)})
}

func encode(w *writer, v reflect.Value, depth int) {
	if depth > maxDepth {
		refuse("it is nested over %d deep (a pointer cycle?)", maxDepth)
	}
	if !v.IsValid() {
		w.byte(tagNil)
		return
	}
	v = readable(v)
	t := v.Type()
	switch t {
	case timeType:
		tm := v.Interface().(time.Time)
		_, off := tm.Zone()
		w.byte(tagTime)
		w.u64(uint64(tm.Unix()))
		w.u32(uint32(tm.Nanosecond()))
		w.u32(uint32(int32(off)))
		return
	case durationType:
		w.byte(tagDuration)
		w.u64(uint64(v.Int()))
		return
	}
	if t.Kind() != reflect.Interface && t.Kind() != reflect.Pointer && t.Implements(errorTyp) {
		refuse("%s is an error: it stays Go text", t)
	}
	switch t.Kind() {
	case reflect.Bool:
		w.byte(tagBool)
		if v.Bool() {
			w.byte(1)
		} else {
			w.byte(0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.byte(tagInt)
		w.u64(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		w.byte(tagUint)
		w.u64(v.Uint())
	case reflect.Float32, reflect.Float64:
		w.byte(tagFloat)
		w.f64(v.Float())
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		w.byte(tagComplex)
		w.f64(real(c))
		w.f64(imag(c))
	case reflect.String:
		w.byte(tagString)
		w.str(v.String())
	case reflect.Slice, reflect.Array:
		encodeSeq(w, v, depth)
	case reflect.Map:
		encodeMap(w, v, depth)
	case reflect.Struct:
		fields := structFields(t)
		w.byte(tagRecord)
		w.u32(uint32(len(fields)))
		for _, f := range fields {
			w.name(f.name)
			encode(w, v.Field(f.index), depth+1)
		}
	case reflect.Pointer:
		if t.Implements(errorTyp) && !v.IsNil() {
			refuse("%s is an error: it stays Go text", t)
		}
		if v.IsNil() {
			w.byte(tagNil)
			return
		}
		encode(w, v.Elem(), depth+1)
	case reflect.Interface:
		if v.IsNil() {
			w.byte(tagNil)
			return
		}
		encode(w, addressable(v.Elem()), depth+1)
	default: // func, chan, unsafe.Pointer, uintptr
		refuse("a %s cannot cross to Python", kindWords(t))
	}
}

func kindWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Func:
		return "func"
	case reflect.Chan:
		return "channel"
	}
	return t.String()
}

// rawBytes: the memory of a slice or an addressable array of numbers, in place.
func rawBytes(v reflect.Value) []byte {
	n := v.Len() * int(v.Type().Elem().Size())
	if n == 0 {
		return nil
	}
	var p unsafe.Pointer
	if v.Kind() == reflect.Slice {
		p = v.UnsafePointer()
	} else {
		p = unsafe.Pointer(v.UnsafeAddr())
	}
	b := unsafe.Slice((*byte)(p), n)
	if littleEndian {
		return b
	}
	return swapped(b, int(v.Type().Elem().Size()), v.Type().Elem().Kind())
}

// swapped: items made little-endian on a big-endian machine.
func swapped(b []byte, size int, kind reflect.Kind) []byte {
	out := make([]byte, len(b))
	part := size
	if kind == reflect.Complex64 || kind == reflect.Complex128 {
		part = size / 2
	}
	for i := 0; i < len(b); i += part {
		for j := 0; j < part; j++ {
			out[i+j] = b[i+part-1-j]
		}
	}
	return out
}

func writeArrayHead(w *writer, kind byte, size int, dims ...int) {
	w.byte(tagArray)
	w.byte(kind)
	w.byte(byte(size))
	w.byte(byte(len(dims)))
	for _, d := range dims {
		w.u64(uint64(d))
	}
	w.pad()
}

func encodeSeq(w *writer, v reflect.Value, depth int) {
	et := v.Type().Elem()
	n := v.Len()
	if et.Kind() == reflect.Uint8 {
		w.byte(tagBytes)
		w.u64(uint64(n))
		w.ref(rawBytes(v))
		return
	}
	if kind, size, ok := itemKind(et); ok && (v.Kind() == reflect.Slice || v.CanAddr()) {
		writeArrayHead(w, kind, size, n)
		w.ref(rawBytes(v))
		return
	}
	// Rows of numbers, all as long: a 2-D array.
	if et.Kind() == reflect.Slice || et.Kind() == reflect.Array {
		if kind, size, ok := itemKind(et.Elem()); ok && n > 0 {
			cols := v.Index(0).Len()
			same := true
			for i := 1; i < n && same; i++ {
				same = v.Index(i).Len() == cols
			}
			if same && (et.Kind() == reflect.Slice || v.CanAddr()) {
				writeArrayHead(w, kind, size, n, cols)
				for i := 0; i < n; i++ {
					w.ref(rawBytes(v.Index(i)))
				}
				return
			}
		}
	}
	if et.Kind() == reflect.Struct && et != timeType && n > 0 {
		encodeTable(w, v, depth)
		return
	}
	w.byte(tagList)
	w.u64(uint64(n))
	for i := 0; i < n; i++ {
		encode(w, v.Index(i), depth+1)
	}
}

type structField struct {
	name  string
	index int
}

// structFields: the fields that cross, by their Python names (a `py` tag, else
// the Go name). Unexported fields cross for main's own types only: another
// package's internals are not data (a big.Int, a sync.Mutex).
func structFields(t reflect.Type) []structField {
	var out []structField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && t.PkgPath() != "main" {
			refuse("%s has unexported fields: it stays Go text", t)
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("py"); ok {
			name = tag
		}
		out = append(out, structField{name, i})
	}
	return out
}

// encodeTable: a slice of structs as columns (a DataFrame on the Python side).
func encodeTable(w *writer, v reflect.Value, depth int) {
	et := v.Type().Elem()
	fields := structFields(et)
	n := v.Len()
	w.byte(tagTable)
	w.u64(uint64(n))
	w.u32(uint32(len(fields)))
	for _, f := range fields {
		w.name(f.name)
		sf := et.Field(f.index)
		kind, size, ok := itemKind(sf.Type)
		if ok && (v.Kind() == reflect.Slice || v.CanAddr()) && n > 0 {
			// The field's bytes, row by row, gathered into one column.
			var base unsafe.Pointer
			if v.Kind() == reflect.Slice {
				base = v.UnsafePointer()
			} else {
				base = unsafe.Pointer(v.UnsafeAddr())
			}
			col := make([]byte, n*size)
			stride := et.Size()
			for i := 0; i < n; i++ {
				src := unsafe.Slice((*byte)(unsafe.Add(base, uintptr(i)*stride+sf.Offset)), size)
				copy(col[i*size:], src)
			}
			if !littleEndian {
				col = swapped(col, size, sf.Type.Kind())
			}
			writeArrayHead(w, kind, size, n)
			w.ref(col)
			continue
		}
		w.byte(tagList)
		w.u64(uint64(n))
		for i := 0; i < n; i++ {
			encode(w, v.Index(i).Field(f.index), depth+1)
		}
	}
}

func encodeMap(w *writer, v reflect.Value, depth int) {
	keys := v.MapKeys()
	sortKeys(keys)
	w.byte(tagMap)
	w.u64(uint64(len(keys)))
	for _, k := range keys {
		encode(w, addressable(k), depth+1)
		encode(w, addressable(v.MapIndex(k)), depth+1)
	}
}

// sortKeys: a map's keys in order where they have one (Go's maps have none).
func sortKeys(keys []reflect.Value) {
	if len(keys) == 0 {
		return
	}
	switch keys[0].Kind() {
	case reflect.String:
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		sort.Slice(keys, func(i, j int) bool { return keys[i].Int() < keys[j].Int() })
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		sort.Slice(keys, func(i, j int) bool { return keys[i].Uint() < keys[j].Uint() })
	case reflect.Float32, reflect.Float64:
		sort.Slice(keys, func(i, j int) bool { return keys[i].Float() < keys[j].Float() })
	}
}
