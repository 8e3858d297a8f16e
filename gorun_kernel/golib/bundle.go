package display

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // image.DecodeConfig describes JPEGs in their text form
	"image/png"
	"reflect"
	"sort"
	"strings"
)

// MIME bundles: a value's representations keyed by MIME type, as Jupyter's
// display_data carries them. text/plain is always present, so a console (and
// a program outside a notebook) has something to show.

// A small stand-in for html.UnescapeString (and its entity table).
var (
	unescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`,
		"&#34;", `"`, "&#39;", "'", "&nbsp;", " ")
)

// isJSONType: application/json and application/*+json carry a JSON value.
func isJSONType(mime string) bool {
	return mime == "application/json" || (strings.HasPrefix(mime, "application/") && strings.HasSuffix(mime, "+json"))
}

// isTextType: carried as a string. Everything else is binary: base64 in JSON.
func isTextType(mime string) bool {
	return strings.HasPrefix(mime, "text/") || mime == "image/svg+xml" ||
		mime == "application/javascript" || strings.HasSuffix(mime, "+xml")
}

// normalize turns a user's bundle into what the frame carries: strings for
// text types, []byte (base64 in JSON) or an already-base64 string for binary
// types, a JSON value for JSON types; and adds text/plain when it is missing.
func normalize(b map[string]any) map[string]any {
	out := make(map[string]any, len(b)+1)
	for mime, v := range b {
		switch {
		case isJSONType(mime):
			out[mime] = jsonValue(v)
		case isTextType(mime):
			out[mime] = textValue(v)
		default:
			switch v := v.(type) {
			case []byte, string:
				out[mime] = v // a string is taken as base64 already, as IPython does
			default:
				out[mime] = fmt.Sprint(v)
			}
		}
	}
	if _, ok := out["text/plain"]; !ok {
		out["text/plain"] = describe(out)
	}
	return out
}

func textValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

// jsonValue: JSON text given as string or []byte stays as it is when valid;
// any other value is encoded.
func jsonValue(v any) any {
	var raw []byte
	switch v := v.(type) {
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	case json.RawMessage:
		raw = v
	default:
		return v
	}
	if json.Valid(raw) {
		return json.RawMessage(raw)
	}
	return string(raw) // a JSON string, then
}

// describe is the text form of a bundle without one: its MIME types.
func describe(b map[string]any) string {
	mimes := make([]string, 0, len(b))
	for m := range b {
		mimes = append(mimes, m)
	}
	sort.Strings(mimes)
	return "[" + strings.Join(mimes, ", ") + "]"
}

// plainHTML is HTML's text form: the text without tags (and without comments,
// scripts and styles), in one line.
func plainHTML(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		s = s[i:]
		end := ">"
		lower := strings.ToLower(s)
		switch {
		case strings.HasPrefix(s, "<!--"):
			end = "-->"
		case strings.HasPrefix(lower, "<script"):
			end = "</script>"
		case strings.HasPrefix(lower, "<style"):
			end = "</style>"
		}
		j := strings.Index(lower, end)
		if j < 0 {
			break
		}
		s = s[j+len(end):]
	}
	text := strings.Join(strings.Fields(unescaper.Replace(b.String())), " ")
	if text == "" {
		return "[HTML]"
	}
	return text
}

func htmlBundle(s string) map[string]any {
	return map[string]any{"text/html": s, "text/plain": plainHTML(s)}
}

func markdownBundle(s string) map[string]any {
	return map[string]any{"text/markdown": s, "text/plain": s}
}

func latexBundle(s string) map[string]any {
	return map[string]any{"text/latex": s, "text/plain": s}
}

func textBundle(s string) map[string]any {
	return map[string]any{"text/plain": s}
}

func svgBundle(s string) map[string]any {
	return map[string]any{"image/svg+xml": s, "text/plain": fmt.Sprintf("[SVG image, %d bytes]", len(s))}
}

func imageBundle(mime string, b []byte) map[string]any {
	text := fmt.Sprintf("[%s, %d bytes]", mime, len(b))
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil {
		text = fmt.Sprintf("[%s %dx%d, %d bytes]", mime, cfg.Width, cfg.Height, len(b))
	}
	return map[string]any{mime: b, "text/plain": text}
}

func pngImageBundle(img image.Image) map[string]any {
	// A nil image (or a nil *image.RGBA) is the caller's slip: a note, as for
	// any image that will not encode, not a nil-pointer panic inside png.Encode.
	if v := reflect.ValueOf(img); !v.IsValid() || v.Kind() == reflect.Pointer && v.IsNil() {
		return textBundle("[display.Image: the image is nil]")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return textBundle(fmt.Sprintf("[display.Image: %v]", err))
	}
	return imageBundle("image/png", buf.Bytes())
}

func jsonBundle(v any) map[string]any {
	value := jsonValue(v)
	text, err := json.MarshalIndent(value, "", "  ")
	if err != nil {
		return textBundle(fmt.Sprintf("[display.JSON: %v]", err))
	}
	var parsed any // the text as a JSON value: a frame must never fail to encode
	_ = json.Unmarshal(text, &parsed)
	return map[string]any{"application/json": parsed, "text/plain": string(text)}
}
