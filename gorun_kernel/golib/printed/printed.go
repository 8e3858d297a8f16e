// Package printed shows the results of a snippet's final print call, (n, err),
// when err is not nil, exactly as package value shows such a tuple: its text.
//
// A cell that ends in fmt.Println(...) links this package instead of value
// when its value goes nowhere but the kernel (no data channel to Python, not
// a --wasm page): it brings nothing fmt does not, where value brings image,
// encoding/base64, bufio and more, 13-14 ms of linking for every edited hello
// cell. The rules a tuple is written by (Format, the JSON string) live here,
// and value uses them: one text for a value, whichever package shows it.
package printed

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// Format is a value's text form, as a snippet's final value shows it: %v,
// with strings quoted and structs (or pointers to them) with field names.
func Format(v any) string {
	switch {
	case v == nil:
		return "<nil>"
	case reflect.TypeOf(v).Kind() == reflect.String:
		return fmt.Sprintf("%q", v)
	case isStruct(reflect.TypeOf(v)):
		return fmt.Sprintf("%+v", v)
	default:
		return fmt.Sprintf("%v", v)
	}
}

func isStruct(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct
}

// Tuple is the value file of several values (not one: that one's richer forms
// are value's to find): {"data": {"text/plain": "(a, b)"}}.
func Tuple(values ...any) []byte {
	text := "("
	for i, v := range values {
		if i > 0 {
			text += ", "
		}
		text += Format(v)
	}
	b := append([]byte(`{"data":{"text/plain":`), AppendJSONString(nil, text+")")...)
	return append(b, "}}"...)
}

// AppendJSONString appends s as a JSON string: quotes and backslashes escaped,
// control characters (and U+2028, U+2029) as \u escapes, bad bytes as U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s { // ranging over a string yields U+FFFD for bad bytes
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			hex := strconv.FormatInt(int64(r), 16)
			b = append(b, `\u`...)
			for i := len(hex); i < 4; i++ {
				b = append(b, '0')
			}
			b = append(b, hex...)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// ShowWrite is value.ShowWrite for a print call's two results: nothing when the
// error is nil; else the tuple, to the descriptor GORUN_VALUE_FD names.
//
//go:noinline
func ShowWrite(values ...any) {
	if len(values) == 0 || values[len(values)-1] == nil {
		return
	}
	fd, err := strconv.Atoi(os.Getenv("GORUN_VALUE_FD"))
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "gorun-value")
	_, _ = f.Write(Tuple(values...))
	_ = f.Close()
}
