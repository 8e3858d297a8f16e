package value

import (
	"encoding/base64"
	"image"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gorun.dev/display/printed"
)

// MaxImagePixels bounds an image final value (64 MB of pixels); a larger one
// shows as text.
const MaxImagePixels = 1 << 24

// Encode is what gorun_kernel's value helper writes for a snippet's final
// expression (one value, or several as a tuple), as JSON:
//
//	{"data": {"text/plain": ..., richer MIME types: text or base64},
//	 "image": {"width": w, "height": h, "nrgba": base64 of 8-bit NRGBA rows}}
//
// An image travels as pixels: the kernel encodes the PNG, so a program that
// shows a value does not link image/png.
func Encode(values ...any) []byte {
	if len(values) != 1 {
		return printed.Tuple(values...)
	}
	var b strings.Builder
	f := Of(values[0])
	data := map[string]any{"text/plain": f.Text}
	for mime, v := range f.Rich {
		data[mime] = v
	}
	b.WriteString(`{"data":`)
	writeJSON(&b, data)
	if w, h, pix, ok := nrgba(f.Image); ok {
		b.WriteString(`,"image":{"width":` + strconv.Itoa(w) + `,"height":` + strconv.Itoa(h) + `,"nrgba":`)
		writeJSON(&b, pix)
		b.WriteString("}")
	}
	b.WriteString("}")
	return []byte(b.String())
}

// nrgba: an image's pixels, 4 bytes each (non-premultiplied), row by row.
func nrgba(img image.Image) (w, h int, pix []byte, ok bool) {
	if img == nil {
		return 0, 0, nil, false
	}
	r := img.Bounds()
	w, h = r.Dx(), r.Dy()
	if w <= 0 || h <= 0 || w > MaxImagePixels/h {
		return 0, 0, nil, false
	}
	pix = make([]byte, 0, 4*w*h)
	if src, isNRGBA := img.(*image.NRGBA); isNRGBA {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			i := src.PixOffset(r.Min.X, y)
			pix = append(pix, src.Pix[i:i+4*w]...)
		}
		return w, h, pix, true
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			pix = append(pix, c.R, c.G, c.B, c.A)
		}
	}
	return w, h, pix, true
}

// writeJSON: a small JSON encoder for the values a bundle holds (encoding/json
// would add to every such program's link time). []byte is base64, as
// Jupyter carries binary data; other types are written as their text.
func writeJSON(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeString(b, v)
	case []byte:
		writeString(b, base64.StdEncoding.EncodeToString(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b.WriteString("null")
		} else {
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeJSON(b, v[k])
		}
		b.WriteByte('}')
	default:
		writeString(b, Format(v))
	}
}

// writeString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func writeString(b *strings.Builder, s string) {
	b.Write(printed.AppendJSONString(nil, s))
}
