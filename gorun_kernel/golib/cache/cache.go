// Package cache keeps values between the cells of a notebook session.
//
// Every cell re-runs its program, so a value that is slow to make (a file
// loaded, a model fitted) would be made again in every cell that uses it.
//
//	rows := cache.Value("rows", func() []Row { return loadCSV("big.csv") })
//
// computes the rows in the first cell that asks for "rows" and reads them back,
// stored with encoding/gob (a slice of numbers as its memory: fast), in the
// later ones. The store lives in the session's
// scratch directory (named by the environment variable GORUN_VALUE_CACHE), so
// it ends with the session; %reset and Forget drop values. A cell that asks for
// a key with a different type than the stored one computes it again.
//
// Outside a notebook session (GORUN_VALUE_CACHE unset) Value just calls
// compute.
//
// What can be stored is what gob can store: exported struct fields, maps,
// slices, numbers, strings, and types with their own GobEncode or
// MarshalBinary (time.Time). Value panics, before calling compute, when the
// type holds something else (functions, channels, unexported struct fields,
// which gob would silently drop), with a message that names it. A value that
// fails only when it is written (an interface holding an unregistered type) is
// returned, not stored, with a note on stderr. A value reads back as it was
// computed: a nil slice or map nil, an empty one empty (gob alone swaps them).
package cache

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"unsafe"
)

const dirEnv = "GORUN_VALUE_CACHE"

// header precedes the value in a stored file: a key whose type changed is
// recomputed instead of read into the wrong shape.
type header struct {
	Key  string
	Type string
	Raw  int64 // for a slice of numbers: its length, its memory following the header
	// Nil: the value is a nil slice, map, pointer or interface, and nothing follows.
	// gob itself reads a nil slice back as an empty one (and an empty []string
	// as nil): `x == nil` would change between the computing cell and the next.
	Nil bool
}

// Value returns the value stored under key, or computes, stores and returns it.
func Value[T any](key string, compute func() T) T {
	t := reflect.TypeOf((*T)(nil)).Elem()
	if problem := unstorable(t, map[reflect.Type]bool{}); problem != "" {
		panic(fmt.Sprintf("cache.Value(%q): cannot store a %v: %s", key, t, problem))
	}
	dir := os.Getenv(dirEnv)
	if dir == "" {
		return compute()
	}
	path := filePath(dir, key)
	want := header{Key: key, Type: describe(t, map[reflect.Type]bool{})}
	if v, ok := load[T](path, want); ok {
		return v
	}
	v := compute()
	if err := store(path, want, v); err != nil {
		fmt.Fprintf(os.Stderr, "cache.Value(%q): not stored: %v\n", key, err)
	}
	return v
}

// Forget drops the value stored under key; the next Value computes it again.
func Forget(key string) {
	if dir := os.Getenv(dirEnv); dir != "" {
		_ = os.Remove(filePath(dir, key))
	}
}

func filePath(dir, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".gob")
}

func load[T any](path string, want header) (T, bool) {
	var v, zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, false
	}
	defer f.Close()
	r := bufio.NewReader(f) // a ByteReader: gob reads no further than its messages
	dec := gob.NewDecoder(r)
	var got header
	if dec.Decode(&got) != nil || got.Key != want.Key || got.Type != want.Type {
		return zero, false
	}
	if got.Nil {
		return zero, true
	}
	t := reflect.TypeOf(&v).Elem()
	if isRaw(t) {
		// A length the file cannot hold is a damaged file: computed again.
		info, err := f.Stat()
		if err != nil || got.Raw < 0 || got.Raw > info.Size()/int64(t.Elem().Size()) {
			return zero, false
		}
		s := reflect.MakeSlice(t, int(got.Raw), int(got.Raw))
		if _, err := io.ReadFull(r, rawBytes(s)); err != nil {
			return zero, false
		}
		return s.Interface().(T), true
	}
	if dec.Decode(&v) != nil {
		return zero, false
	}
	// What was stored was not nil (see header.Nil): an empty slice or map stays one.
	switch s := reflect.ValueOf(&v).Elem(); {
	case t.Kind() == reflect.Slice && s.IsNil():
		s.Set(reflect.MakeSlice(t, 0, 0))
	case t.Kind() == reflect.Map && s.IsNil():
		s.Set(reflect.MakeMap(t))
	}
	return v, true
}

// isNil: v is a nil slice, map, pointer or interface.
func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// isRaw: a slice of numbers (or bools) is stored as its memory, read back by
// the same program on the same machine: 50 MB in milliseconds, where gob
// takes a second. Everything else goes through gob.
func isRaw(t reflect.Type) bool {
	if t == nil || t.Kind() != reflect.Slice {
		return false
	}
	switch t.Elem().Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	}
	return false
}

// rawBytes is a slice's memory (of an isRaw type) as bytes.
func rawBytes(s reflect.Value) []byte {
	if s.Len() == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(s.UnsafePointer()), s.Len()*int(s.Type().Elem().Size()))
}

// store writes the file whole or not at all (a temporary file, renamed), so a
// program killed while storing leaves no half value behind.
func store[T any](path string, h header, v T) error {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	s := reflect.ValueOf(&v).Elem()
	var raw []byte
	h.Nil = isNil(s)
	isRawSlice := isRaw(s.Type())
	if isRawSlice {
		h.Raw = int64(s.Len())
		raw = rawBytes(s)
	}
	if err := enc.Encode(h); err != nil {
		return err
	}
	if !h.Nil && !isRawSlice {
		if err := enc.Encode(&v); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		_, err = tmp.Write(raw)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
