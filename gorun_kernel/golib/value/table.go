package value

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// MaxTableRows bounds the HTML table of a slice; the text form stays whole.
const MaxTableRows = 1000

// escape is html.EscapeString's job; the html package's entity table would
// add to the link time of every program that shows a value.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func escape(s string) string { return escaper.Replace(s) }

// HTMLTable renders a non-empty slice or array of structs or of maps (or
// pointers to them) as a table, one row per element.
func HTMLTable(v reflect.Value) (string, bool) {
	if (v.Kind() != reflect.Slice && v.Kind() != reflect.Array) || v.Len() == 0 {
		return "", false
	}
	elem := v.Type().Elem()
	for elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	var columns []string
	switch elem.Kind() {
	case reflect.Struct:
		for i := 0; i < elem.NumField(); i++ {
			columns = append(columns, elem.Field(i).Name)
		}
	case reflect.Map:
		columns = mapColumns(v)
	default:
		return "", false
	}
	if len(columns) == 0 {
		return "", false
	}
	var b strings.Builder
	b.WriteString("<table>\n<thead><tr><th></th>")
	for _, c := range columns {
		fmt.Fprintf(&b, "<th>%s</th>", escape(c))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	rows := v.Len()
	if rows > MaxTableRows {
		rows = MaxTableRows
	}
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "<tr><th>%d</th>", i)
		for _, cell := range rowCells(v.Index(i), columns) {
			fmt.Fprintf(&b, "<td>%s</td>", escape(cell))
		}
		b.WriteString("</tr>\n")
	}
	if more := v.Len() - rows; more > 0 {
		fmt.Fprintf(&b, "<tr><td colspan=\"%d\">… %d more rows</td></tr>\n", len(columns)+1, more)
	}
	b.WriteString("</tbody>\n</table>")
	return b.String(), true
}

// mapColumns: the keys of all the maps, in sorted order of their text.
func mapColumns(v reflect.Value) []string {
	seen := map[string]bool{}
	var columns []string
	for i := 0; i < v.Len() && i < MaxTableRows; i++ {
		row := reflect.Indirect(v.Index(i))
		if !row.IsValid() {
			continue
		}
		for _, k := range row.MapKeys() {
			name := fmt.Sprint(k)
			if !seen[name] {
				seen[name] = true
				columns = append(columns, name)
			}
		}
	}
	sort.Strings(columns)
	return columns
}

// rowCells: one element's values, in column order; a nil element is empty.
func rowCells(row reflect.Value, columns []string) []string {
	cells := make([]string, len(columns))
	for row.Kind() == reflect.Pointer || row.Kind() == reflect.Interface {
		if row.IsNil() {
			return cells
		}
		row = row.Elem()
	}
	switch row.Kind() {
	case reflect.Struct:
		for i := range cells {
			// fmt formats the value a reflect.Value holds, unexported fields too.
			cells[i] = fmt.Sprint(row.Field(i))
		}
	case reflect.Map:
		index := map[string]int{}
		for i, c := range columns {
			index[c] = i
		}
		for _, k := range row.MapKeys() {
			if i, ok := index[fmt.Sprint(k)]; ok {
				cells[i] = fmt.Sprint(row.MapIndex(k))
			}
		}
	}
	return cells
}
