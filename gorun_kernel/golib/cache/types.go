package cache

import (
	"encoding"
	"encoding/gob"
	"fmt"
	"reflect"
	"strings"
)

var (
	gobEncoder    = reflect.TypeOf((*gob.GobEncoder)(nil)).Elem()
	binaryMarshal = reflect.TypeOf((*encoding.BinaryMarshaler)(nil)).Elem()
)

// encodesItself: gob stores such a type through its own methods.
func encodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(gobEncoder) || p.Implements(gobEncoder) ||
		t.Implements(binaryMarshal) || p.Implements(binaryMarshal)
}

// unstorable says why gob cannot store (or would store only part of) a value
// of type t; "" when it can.
func unstorable(t reflect.Type, seen map[reflect.Type]bool) string {
	if seen[t] || encodesItself(t) {
		return ""
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return fmt.Sprintf("a %s cannot be stored", t.Kind())
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return unstorable(t.Elem(), seen)
	case reflect.Map:
		if p := unstorable(t.Key(), seen); p != "" {
			return p
		}
		return unstorable(t.Elem(), seen)
	case reflect.Struct:
		if t.NumField() == 0 {
			return fmt.Sprintf("%v has no fields, and gob stores none (use bool: map[K]bool "+
				"for a set)", t)
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				return fmt.Sprintf("field %s of %v is unexported, and gob stores only exported "+
					"fields (name it %s)", f.Name, t, strings.ToUpper(f.Name[:1])+f.Name[1:])
			}
			if p := unstorable(f.Type, seen); p != "" {
				return p
			}
		}
	}
	return ""
}

// describe is t's structure as text (field names and types, recursively):
// a type redefined by a later cell under the same name describes differently.
func describe(t reflect.Type, seen map[reflect.Type]bool) string {
	if seen[t] {
		return t.String()
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + describe(t.Elem(), seen)
	case reflect.Slice:
		return "[]" + describe(t.Elem(), seen)
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), describe(t.Elem(), seen))
	case reflect.Map:
		return "map[" + describe(t.Key(), seen) + "]" + describe(t.Elem(), seen)
	case reflect.Struct:
		if encodesItself(t) {
			return t.String()
		}
		parts := make([]string, t.NumField())
		for i := range parts {
			f := t.Field(i)
			parts[i] = f.Name + " " + describe(f.Type, seen)
		}
		return t.String() + "{" + strings.Join(parts, "; ") + "}"
	}
	return t.String() + "(" + t.Kind().String() + ")" // a named type keeps its name when redefined
}
