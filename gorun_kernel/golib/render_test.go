package display

import (
	"encoding/json"
	"image"
	"image/color"
	"os"
	"strings"
	"testing"
)

type point struct {
	X, Y int
	name string
}

type badge string

func (b badge) HTML() string { return "<span>" + string(b) + "</span>" }
func (b badge) SVG() string  { return "<svg/>" }

func TestRenderKeepsGoTextAndAddsATableForSlicesOfStructs(t *testing.T) {
	got := Render([]point{{1, 2, "a<b"}, {3, 4, "c"}})
	if got["text/plain"] != "[{1 2 a<b} {3 4 c}]" {
		t.Errorf("text/plain = %q", got["text/plain"])
	}
	table, _ := got["text/html"].(string)
	for _, want := range []string{"<th>X</th><th>Y</th><th>name</th>", "<td>a&lt;b</td>", "<th>1</th><td>3</td>"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestRenderTablesOfMapsAndPointers(t *testing.T) {
	got := Render([]map[string]any{{"b": 1, "a": "x"}, {"c": true}})
	table := got["text/html"].(string)
	if !strings.Contains(table, "<th>a</th><th>b</th><th>c</th>") ||
		!strings.Contains(table, "<td>x</td><td>1</td><td></td>") {
		t.Errorf("map table:\n%s", table)
	}
	got = Render([]*point{{X: 5}, nil})
	if table := got["text/html"].(string); !strings.Contains(table, "<tr><th>1</th><td></td><td></td><td></td></tr>") {
		t.Errorf("a nil element is an empty row:\n%s", table)
	}
}

func TestRenderLongSlicesAreCutInHTMLOnly(t *testing.T) {
	rows := make([]point, MaxTableRows+5)
	got := Render(rows)
	if !strings.Contains(got["text/html"].(string), "… 5 more rows") {
		t.Error("no note of the rows left out")
	}
	if strings.Count(got["text/plain"].(string), "{0 0 }") != MaxTableRows+5 {
		t.Error("the text form is not whole")
	}
}

func TestRenderPlainValuesHaveOnlyText(t *testing.T) {
	for v, want := range map[any]string{"hi": `"hi"`, 42: "42", point{X: 1}: "{X:1 Y:0 name:}"} {
		got := Render(v)
		if len(got) != 1 || got["text/plain"] != want {
			t.Errorf("Render(%#v) = %v, want only text %q", v, got, want)
		}
	}
	if got := Render(nil); got["text/plain"] != "<nil>" {
		t.Errorf("Render(nil) = %v", got)
	}
	if got := Render([]int{1, 2}); len(got) != 1 {
		t.Errorf("a slice of ints is text: %v", got)
	}
}

func TestRenderUsesTheDisplayMethods(t *testing.T) {
	got := Render(badge("new"))
	if got["text/html"] != "<span>new</span>" || got["image/svg+xml"] != "<svg/>" || got["text/plain"] != `"new"` {
		t.Errorf("Render(badge) = %v", got)
	}
}

func TestRenderImagesAsPNG(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	got := Render(img)
	data, ok := got["image/png"].([]byte)
	if !ok || string(data[:4]) != "\x89PNG" {
		t.Fatalf("no PNG: %v", got)
	}
	if b := imageBundle("image/png", data); b["text/plain"] != "[image/png 3x2, "+itoa(len(data))+" bytes]" {
		t.Errorf("image text = %q", b["text/plain"])
	}
	var nilImage *image.RGBA
	if got := Render(nilImage); len(got) != 1 {
		t.Errorf("a nil image is text: %v", got)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestNormalizeFollowsJupyterConventions(t *testing.T) {
	got := normalize(map[string]any{
		"text/html":              []byte("<i>x</i>"),
		"image/png":              []byte{1, 2, 3},
		"application/json":       `{"a": 1}`,
		"application/vnd.x+json": map[string]int{"b": 2},
	})
	body, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"application/json":{"a":1},"application/vnd.x+json":{"b":2},"image/png":"AQID",` +
		`"text/html":"\u003ci\u003ex\u003c/i\u003e","text/plain":"[application/json, application/vnd.x+json, image/png, text/html]"}`
	if string(body) != want {
		t.Errorf("got  %s\nwant %s", body, want)
	}
}

func TestPlainHTMLIsTheTextWithoutTags(t *testing.T) {
	if got := plainHTML("<style>p{}</style><p>Tom &amp;\n  <b>Jerry</b></p><!-- x -->"); got != "Tom & Jerry" {
		t.Errorf("plainHTML = %q", got)
	}
	if got := plainHTML("<hr>"); got != "[HTML]" {
		t.Errorf("plainHTML of no text = %q", got)
	}
}

func TestJSONThatCannotBeEncodedIsAMessage(t *testing.T) {
	got := jsonBundle(func() {})
	if !strings.HasPrefix(got["text/plain"].(string), "[display.JSON: json: unsupported type") || len(got) != 1 {
		t.Errorf("jsonBundle(func) = %v", got)
	}
}

func TestAChannelMustBeASocket(t *testing.T) {
	for _, v := range []string{"", "x", "1", "-4", "99999"} {
		if openChannel(v) != nil {
			t.Errorf("openChannel(%q) is usable", v)
		}
	}
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if openChannel(itoa(int(f.Fd()))) != nil {
		t.Error("a plain file is taken as the channel")
	}
}

func TestANilImageIsANoteNotAPanic(t *testing.T) {
	var rgba *image.RGBA
	for _, img := range []image.Image{nil, rgba} {
		got := pngImageBundle(img)
		if got["text/plain"] != "[display.Image: the image is nil]" || got["image/png"] != nil {
			t.Errorf("pngImageBundle(%#v) = %v", img, got)
		}
	}
}
