package pydata

import (
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

var (
	channelOnce sync.Once
	channel     *os.File // nil outside a run of the magic
	inputOnce   sync.Once
	inputs      map[string][]byte // frame bodies by name
	inputErr    error
)

func theChannel() *os.File {
	channelOnce.Do(func() {
		if fd, err := strconv.Atoi(os.Getenv(FDEnv)); err == nil {
			channel = os.NewFile(uintptr(fd), "gorun-pydata")
		}
	})
	return channel
}

// readInputs reads every frame Python sent, up to the end frame (a body
// length of 0), keeping each body whole: arrays are then used in place.
func readInputs() {
	inputs = map[string][]byte{}
	f := theChannel()
	if f == nil {
		return
	}
	var head [8]byte
	for {
		if _, err := io.ReadFull(f, head[:]); err != nil {
			inputErr = err
			return
		}
		n := le64(head[:])
		if n == 0 {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(f, body); err != nil {
			inputErr = err
			return
		}
		r := &reader{buf: body, pos: 0}
		name := r.name()
		inputs[name] = body
	}
}

// In is the value Python sent for the variable name (`%%gorun --in name`),
// as a T; the declaration the magic writes calls it. It panics, saying why,
// when the value is not there (a run outside the magic) or is not a T.
func In[T any](name string) T {
	inputOnce.Do(readInputs)
	body, ok := inputs[name]
	if !ok {
		why := "this run did not get it: a --wasm page, or a program run outside the %%gorun magic"
		if inputErr != nil {
			why = "reading the data failed: " + inputErr.Error()
		}
		panic(fmt.Sprintf("pydata: no value for %s from Python (%s)", name, why))
	}
	var out T
	r := &reader{buf: body}
	r.name()
	decode(r, reflect.ValueOf(&out).Elem())
	return out
}

// Decode reads one frame body (as In keeps them) into dst, a pointer; for tests.
func Decode(body []byte, dst any) (name string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	r := &reader{buf: body}
	name = r.name()
	decode(r, reflect.ValueOf(dst).Elem())
	return name, nil
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
	anyType      = reflect.TypeOf((*any)(nil)).Elem()
)

// decode reads one value into dst (settable), converting as Go would.
func decode(r *reader, dst reflect.Value) {
	tag := r.byte()
	if dst.Kind() == reflect.Interface && tag != tagTyped {
		v := natural(r, tag)
		if v == nil {
			dst.SetZero()
		} else {
			dst.Set(reflect.ValueOf(v))
		}
		return
	}
	switch tag {
	case tagNil:
		dst.SetZero()
	case tagBool:
		b := r.byte() != 0
		need(r, dst, dst.Kind() == reflect.Bool, "a bool")
		dst.SetBool(b)
	case tagInt:
		setInt(r, dst, int64(r.u64()))
	case tagUint:
		u := r.u64()
		switch dst.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			if dst.OverflowUint(u) {
				r.fail("%d overflows %s", u, dst.Type())
			}
			dst.SetUint(u)
		default:
			if u > math.MaxInt64 {
				r.fail("%d overflows %s", u, dst.Type())
			}
			setInt(r, dst, int64(u))
		}
	case tagFloat:
		f := r.f64()
		need(r, dst, dst.Kind() == reflect.Float32 || dst.Kind() == reflect.Float64, "a float")
		dst.SetFloat(f)
	case tagComplex:
		re, im := r.f64(), r.f64()
		need(r, dst, dst.Kind() == reflect.Complex64 || dst.Kind() == reflect.Complex128, "a complex")
		dst.SetComplex(complex(re, im))
	case tagString:
		s := r.str()
		need(r, dst, dst.Kind() == reflect.String, "a string")
		dst.SetString(s)
	case tagBytes:
		b := r.take(r.count())
		need(r, dst, dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Uint8, "bytes")
		dst.SetBytes(append([]byte{}, b...))
	case tagTime:
		t := readTime(r)
		need(r, dst, dst.Type() == timeType, "a time")
		dst.Set(reflect.ValueOf(t))
	case tagDuration:
		d := int64(r.u64())
		need(r, dst, dst.Kind() == reflect.Int64, "a duration")
		dst.SetInt(d)
	case tagArray:
		decodeArray(r, dst)
	case tagList, tagTuple:
		n := r.count()
		switch dst.Kind() {
		case reflect.Slice:
			s := reflect.MakeSlice(dst.Type(), n, n)
			for i := 0; i < n; i++ {
				decode(r, s.Index(i))
			}
			dst.Set(s)
		case reflect.Array:
			need(r, dst, dst.Len() == n, fmt.Sprintf("%d elements", n))
			for i := 0; i < n; i++ {
				decode(r, dst.Index(i))
			}
		default:
			need(r, dst, false, "a list")
		}
	case tagMap:
		n := r.count()
		need(r, dst, dst.Kind() == reflect.Map, "a dict")
		m := reflect.MakeMapWithSize(dst.Type(), n)
		for i := 0; i < n; i++ {
			k := reflect.New(dst.Type().Key()).Elem()
			decode(r, k)
			v := reflect.New(dst.Type().Elem()).Elem()
			decode(r, v)
			m.SetMapIndex(k, v)
		}
		dst.Set(m)
	case tagRecord:
		n := int(r.u32())
		need(r, dst, dst.Kind() == reflect.Struct, "a record")
		for i := 0; i < n; i++ {
			decode(r, field(r, dst, r.name()))
		}
	case tagTable:
		decodeTable(r, dst)
	case tagTyped:
		t := parseType(r, r.name())
		v := reflect.New(t).Elem()
		decode(r, v)
		need(r, dst, t.AssignableTo(dst.Type()), t.String())
		dst.Set(v)
	default:
		r.fail("unknown tag %q", tag)
	}
}

func need(r *reader, dst reflect.Value, ok bool, what string) {
	if !ok {
		r.fail("%s cannot go into a %s", what, dst.Type())
	}
}

func setInt(r *reader, dst reflect.Value, i int64) {
	switch dst.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if dst.OverflowInt(i) {
			r.fail("%d overflows %s", i, dst.Type())
		}
		dst.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if i < 0 || dst.OverflowUint(uint64(i)) {
			r.fail("%d overflows %s", i, dst.Type())
		}
		dst.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		dst.SetFloat(float64(i))
	default:
		r.fail("an int cannot go into a %s", dst.Type())
	}
}

func readTime(r *reader) time.Time {
	sec := int64(r.u64())
	nsec := r.u32()
	off := int32(r.u32())
	t := time.Unix(sec, int64(nsec))
	if off == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(off)))
}

// natural: a scalar's Go value where the Go type is any (Python's int is int).
func natural(r *reader, tag byte) any {
	switch tag {
	case tagNil:
		return nil
	case tagBool:
		return r.byte() != 0
	case tagInt:
		return int(int64(r.u64()))
	case tagUint:
		return r.u64()
	case tagFloat:
		return r.f64()
	case tagComplex:
		re := r.f64()
		return complex(re, r.f64())
	case tagString:
		return r.str()
	case tagBytes:
		return append([]byte{}, r.take(r.count())...)
	case tagTime:
		return readTime(r)
	case tagDuration:
		return time.Duration(int64(r.u64()))
	}
	r.fail("a value of tag %q needs its Go type to go into an any", tag)
	return nil
}

// field: the struct field a column or record entry named name goes to: the one
// whose `py` tag is name, else the one called name.
func field(r *reader, s reflect.Value, name string) reflect.Value {
	t := s.Type()
	for i := 0; i < t.NumField(); i++ {
		if tag, ok := t.Field(i).Tag.Lookup("py"); ok && tag == name {
			return s.Field(i)
		}
	}
	f := s.FieldByName(name)
	if !f.IsValid() || !f.CanSet() {
		r.fail("%s has no field for %q", t, name)
	}
	return f
}

type arrayHead struct {
	kind byte
	size int
	dims []int
	data []byte
}

func readArray(r *reader) arrayHead {
	h := arrayHead{kind: r.byte(), size: int(r.byte())}
	nd := int(r.byte())
	total := 1
	for i := 0; i < nd; i++ {
		d := r.count()
		h.dims = append(h.dims, d)
		total *= d
	}
	r.pad()
	if h.size == 0 || total > len(r.buf)/h.size {
		r.fail("an array of %v items of %d bytes in a frame of %d", h.dims, h.size, len(r.buf))
	}
	h.data = r.take(total * h.size)
	return h
}

// itemKind: the (kind, size) of a Go numeric or bool type on the wire.
func itemKind(t reflect.Type) (byte, int, bool) {
	switch t.Kind() {
	case reflect.Bool:
		return 'b', 1, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if t == durationType {
			return 0, 0, false
		}
		return 'i', int(t.Size()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return 'u', int(t.Size()), true
	case reflect.Float32, reflect.Float64:
		return 'f', int(t.Size()), true
	case reflect.Complex64, reflect.Complex128:
		return 'c', int(t.Size()), true
	}
	return 0, 0, false
}

func decodeArray(r *reader, dst reflect.Value) {
	h := readArray(r)
	switch len(h.dims) {
	case 1:
		dst.Set(column(r, h, dst.Type(), h.dims[0], h.data))
	case 2:
		need(r, dst, dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Slice, "a 2-D array")
		rows, cols := h.dims[0], h.dims[1]
		all := column(r, h, dst.Type().Elem(), rows*cols, h.data)
		s := reflect.MakeSlice(dst.Type(), rows, rows)
		for i := 0; i < rows; i++ {
			s.Index(i).Set(all.Slice3(i*cols, (i+1)*cols, (i+1)*cols)) // an append copies
		}
		dst.Set(s)
	default:
		r.fail("a %d-D array", len(h.dims))
	}
}

// column: n items of raw data as a slice of type t: the bytes themselves when
// the item types agree (no copy), else converted item by item.
func column(r *reader, h arrayHead, t reflect.Type, n int, data []byte) reflect.Value {
	if t.Kind() != reflect.Slice {
		r.fail("an array cannot go into a %s", t)
	}
	et := t.Elem()
	if h.kind == 'M' && et == timeType { // datetime64[ns]: nanoseconds since 1970, UTC
		out := make([]time.Time, n)
		for i := range out {
			out[i] = time.Unix(0, int64(le64(data[8*i:]))).UTC()
		}
		return reflect.ValueOf(out).Convert(t)
	}
	kind, size, ok := itemKind(et)
	if ok && kind == h.kind && size == h.size && littleEndian && n > 0 {
		p := unsafe.Pointer(&data[0])
		if uintptr(p)%uintptr(et.Align()) == 0 {
			s := reflect.NewAt(reflect.ArrayOf(n, et), p).Elem().Slice3(0, n, n)
			return s.Convert(t)
		}
	}
	s := reflect.MakeSlice(t, n, n)
	for i := 0; i < n; i++ {
		setItem(r, s.Index(i), h.kind, h.size, data[i*h.size:(i+1)*h.size])
	}
	return s
}

// setItem sets dst from one little-endian item of the given wire kind and size.
func setItem(r *reader, dst reflect.Value, kind byte, size int, b []byte) {
	var u uint64
	for i := size - 1; i >= 0 && size <= 8; i-- {
		u = u<<8 | uint64(b[i])
	}
	switch kind {
	case 'b':
		need(r, dst, dst.Kind() == reflect.Bool, "a bool")
		dst.SetBool(u != 0)
	case 'i':
		shift := 64 - 8*size
		setInt(r, dst, int64(u<<shift)>>shift)
	case 'u':
		if dst.Kind() >= reflect.Uint && dst.Kind() <= reflect.Uintptr {
			if dst.OverflowUint(u) {
				r.fail("%d overflows %s", u, dst.Type())
			}
			dst.SetUint(u)
		} else {
			setInt(r, dst, int64(u))
		}
	case 'f':
		need(r, dst, dst.Kind() == reflect.Float32 || dst.Kind() == reflect.Float64, "a float")
		if size == 4 {
			dst.SetFloat(float64(math.Float32frombits(uint32(u))))
		} else {
			dst.SetFloat(math.Float64frombits(u))
		}
	case 'c':
		need(r, dst, dst.Kind() == reflect.Complex64 || dst.Kind() == reflect.Complex128, "a complex")
		half := size / 2
		var re, im float64
		if half == 4 {
			re = float64(math.Float32frombits(uint32(le64(append(append([]byte{}, b[:4]...), 0, 0, 0, 0)))))
			im = float64(math.Float32frombits(uint32(le64(append(append([]byte{}, b[4:8]...), 0, 0, 0, 0)))))
		} else {
			re, im = math.Float64frombits(le64(b[:8])), math.Float64frombits(le64(b[8:16]))
		}
		dst.SetComplex(complex(re, im))
	default:
		r.fail("array items of kind %q", kind)
	}
}

// decodeTable: a DataFrame's columns into a slice of structs, a row per element.
func decodeTable(r *reader, dst reflect.Value) {
	rows := r.count()
	cols := int(r.u32())
	need(r, dst, dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Struct, "a table")
	s := reflect.MakeSlice(dst.Type(), rows, rows)
	for c := 0; c < cols; c++ {
		name := r.name()
		fi := -1
		et := dst.Type().Elem()
		for i := 0; i < et.NumField(); i++ {
			if tag, ok := et.Field(i).Tag.Lookup("py"); (ok && tag == name) || (!ok && et.Field(i).Name == name) {
				fi = i
			}
		}
		if fi < 0 {
			r.fail("%s has no field for the column %q", et, name)
		}
		tag := r.byte()
		switch tag {
		case tagArray:
			h := readArray(r)
			need(r, dst, len(h.dims) == 1 && h.dims[0] == rows, "a column")
			ft := et.Field(fi)
			if kind, size, ok := itemKind(ft.Type); ok && kind == h.kind && size == h.size && littleEndian && rows > 0 {
				// The column's items straight into each row's field: no reflection per row.
				base := s.UnsafePointer()
				for i := 0; i < rows; i++ {
					dst := unsafe.Slice((*byte)(unsafe.Add(base, uintptr(i)*et.Size()+ft.Offset)), size)
					copy(dst, h.data[i*size:(i+1)*size])
				}
				continue
			}
			col := column(r, h, reflect.SliceOf(ft.Type), rows, h.data)
			for i := 0; i < rows; i++ {
				s.Index(i).Field(fi).Set(col.Index(i))
			}
		case tagList:
			need(r, dst, r.count() == rows, "a column")
			for i := 0; i < rows; i++ {
				decode(r, s.Index(i).Field(fi))
			}
		default:
			r.fail("a column of tag %q", tag)
		}
	}
	dst.Set(s)
}

// parseType: the Go types Python names for values under an any: basic types,
// time.Time, time.Duration, any, []T and map[K]V of those.
func parseType(r *reader, text string) reflect.Type {
	t, rest := parseTypePrefix(r, text)
	if rest != "" {
		r.fail("cannot read the type %q", text)
	}
	return t
}

var basicTypes = map[string]reflect.Type{
	"bool": reflect.TypeOf(false), "string": reflect.TypeOf(""),
	"int": reflect.TypeOf(0), "int8": reflect.TypeOf(int8(0)), "int16": reflect.TypeOf(int16(0)),
	"int32": reflect.TypeOf(int32(0)), "int64": reflect.TypeOf(int64(0)),
	"uint": reflect.TypeOf(uint(0)), "uint8": reflect.TypeOf(uint8(0)), "byte": reflect.TypeOf(byte(0)),
	"uint16": reflect.TypeOf(uint16(0)), "uint32": reflect.TypeOf(uint32(0)),
	"uint64": reflect.TypeOf(uint64(0)), "float32": reflect.TypeOf(float32(0)),
	"float64": reflect.TypeOf(float64(0)), "complex64": reflect.TypeOf(complex64(0)),
	"complex128": reflect.TypeOf(complex128(0)), "any": anyType,
	"time.Time": timeType, "time.Duration": durationType,
}

func parseTypePrefix(r *reader, text string) (reflect.Type, string) {
	switch {
	case strings.HasPrefix(text, "[]"):
		e, rest := parseTypePrefix(r, text[2:])
		return reflect.SliceOf(e), rest
	case strings.HasPrefix(text, "map["):
		k, rest := parseTypePrefix(r, text[4:])
		if !strings.HasPrefix(rest, "]") {
			r.fail("cannot read the type %q", text)
		}
		v, rest := parseTypePrefix(r, rest[1:])
		return reflect.MapOf(k, v), rest
	}
	end := strings.IndexAny(text, "]")
	if end < 0 {
		end = len(text)
	}
	t, ok := basicTypes[text[:end]]
	if !ok {
		r.fail("cannot read the type %q", text)
	}
	return t, text[end:]
}
