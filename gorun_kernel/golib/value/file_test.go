package value

import (
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"testing"
)

type row struct {
	Name string
	N    int
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return out
}

func TestEncodeTextAndTable(t *testing.T) {
	got := decode(t, Encode([]row{{"a\"<", 1}}))
	data := got["data"].(map[string]any)
	if data["text/plain"] != `[{a"< 1}]` {
		t.Errorf("text/plain = %q", data["text/plain"])
	}
	if html := data["text/html"].(string); html == "" || got["image"] != nil {
		t.Errorf("got %v", got)
	}
}

func TestEncodeTuplesAreText(t *testing.T) {
	got := decode(t, Encode(1, "x", nil))
	if want := map[string]any{"text/plain": `(1, "x", <nil>)`}; got["data"].(map[string]any)["text/plain"] != want["text/plain"] {
		t.Errorf("got %v", got)
	}
}

func TestEncodeStringsThatJSONMustEscape(t *testing.T) {
	s := "tab\tnl\n\x00 bad\xff quote\" back\\ \u2028 é"
	got := decode(t, Encode(s))
	if got["data"].(map[string]any)["text/plain"] != Format(s) {
		t.Errorf("round trip: %q != %q", got["data"].(map[string]any)["text/plain"], Format(s))
	}
}

func TestEncodeImagesAsPixels(t *testing.T) {
	img := image.NewRGBA(image.Rect(2, 3, 4, 4)) // 2x1, not at the origin
	img.Set(2, 3, color.RGBA{128, 0, 0, 128})    // premultiplied: half-transparent red
	img.Set(3, 3, color.RGBA{0, 0, 255, 255})
	got := decode(t, Encode(img))
	im := got["image"].(map[string]any)
	pix, _ := base64.StdEncoding.DecodeString(im["nrgba"].(string))
	if im["width"] != 2.0 || im["height"] != 1.0 || string(pix) != "\xff\x00\x00\x80\x00\x00\xff\xff" {
		t.Errorf("image %v, pixels %q", im, pix)
	}
	n := image.NewNRGBA(image.Rect(0, 0, 1, 2))
	n.Pix = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	im = decode(t, Encode(n))["image"].(map[string]any)
	if pix, _ := base64.StdEncoding.DecodeString(im["nrgba"].(string)); string(pix) != "\x01\x02\x03\x04\x05\x06\x07\x08" {
		t.Errorf("NRGBA pixels %q", pix)
	}
	if got := decode(t, Encode(image.NewGray(image.Rect(0, 0, 0, 5)))); got["image"] != nil {
		t.Errorf("an empty image has no pixels: %v", got)
	}
}

type bundler struct{}

func (bundler) MIMEBundle() map[string]any {
	return map[string]any{"text/plain": "mine", "application/json": map[string]any{"a": []any{1, 2.5, true, nil}}}
}

func TestEncodeBundlers(t *testing.T) {
	data := decode(t, Encode(bundler{}))["data"].(map[string]any)
	js, _ := json.Marshal(data)
	if string(js) != `{"application/json":{"a":[1,2.5,true,null]},"text/plain":"mine"}` {
		t.Errorf("got %s", js)
	}
}
