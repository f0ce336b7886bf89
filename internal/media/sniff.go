package media

import (
	"bytes"
	"encoding/binary"
)

// SniffLen is how many leading bytes Sniff needs to recognise every format it knows.
const SniffLen = 512

// Sniff recognises an accepted image format from the first bytes of a file, by its magic
// numbers alone; the name and the declared content type play no part. Anything else is
// refused with status 415, naming what the file looks like when that is known.
func Sniff(head []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return JPEG, nil
	case isWebP(head):
		return WebP, nil
	}

	if len(head) == 0 {
		return "", newError(StatusInvalid, ErrDamaged, nil, "the file is empty")
	}
	msg := "only PNG, JPEG and WebP images are accepted; this file is none of them"
	if kind := lookalike(head); kind != "" {
		msg = "only PNG, JPEG and WebP images are accepted; this file looks like " + kind
	}
	return "", newError(StatusUnsupported, ErrUnsupported, nil, msg)
}

// isWebP reports whether head starts a RIFF WebP file with a known first chunk.
func isWebP(head []byte) bool {
	if len(head) < 16 || string(head[:4]) != "RIFF" || string(head[8:12]) != "WEBP" {
		return false
	}
	switch string(head[12:16]) {
	case "VP8 ", "VP8L", "VP8X":
		return true
	}
	return false
}

// signatures are the magic numbers of formats people upload by mistake.
var signatures = []struct {
	prefix string
	kind   string
}{
	{"GIF87a", "GIF"}, {"GIF89a", "GIF"}, {"%PDF-", "PDF"},
	{"II*\x00", "TIFF"}, {"MM\x00*", "TIFF"}, {"8BPS", "a Photoshop document (PSD)"},
	{"\x00\x00\x01\x00", "an icon (ICO)"}, {"PK\x03\x04", "a ZIP archive"},
	{"\xff\x0a", "JPEG XL"}, {"\x00\x00\x00\x0cJXL ", "JPEG XL"}, {"\x1f\x8b", "a gzip archive"},
	{"\x7fELF", "a program"}, {"qoif", "QOI"},
	{"\x89PNG", "a damaged PNG"},
}

// lookalike names the kind of a file that is not an accepted image, or returns "".
func lookalike(head []byte) string {
	for _, s := range signatures {
		if bytes.HasPrefix(head, []byte(s.prefix)) {
			return s.kind
		}
	}
	if kind := isoMedia(head); kind != "" {
		return kind
	}
	if isBMP(head) {
		return "BMP"
	}
	if len(head) >= 12 && string(head[:4]) == "RIFF" {
		return "a RIFF file that is not WebP (" + printable(head[8:12]) + ")"
	}
	return markup(head)
}

// isoMedia names HEIC, AVIF and other files in the ISO media format, which start with an
// "ftyp" box naming their brand.
func isoMedia(head []byte) string {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return ""
	}
	if size := binary.BigEndian.Uint32(head); size < 8 {
		return ""
	}

	switch brand := string(head[8:12]); brand {
	case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
		return "HEIC"
	case "avif", "avis":
		return "AVIF"
	default:
		return "a video or ISO media file (" + printable(head[8:12]) + ")"
	}
}

// isBMP recognises a Windows bitmap: "BM" and a known header size at offset 14.
func isBMP(head []byte) bool {
	if len(head) < 18 || string(head[:2]) != "BM" {
		return false
	}
	switch binary.LittleEndian.Uint32(head[14:]) {
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// markup names SVG, HTML and XML text, skipping a byte order mark and white space.
func markup(head []byte) string {
	text := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	text = bytes.ToLower(bytes.TrimLeft(text, " \t\r\n"))
	switch {
	case bytes.Contains(text, []byte("<svg")):
		return "SVG"
	case bytes.HasPrefix(text, []byte("<!doctype html")), bytes.HasPrefix(text, []byte("<html")):
		return "HTML"
	case bytes.HasPrefix(text, []byte("<?xml")):
		return "XML"
	}
	return ""
}

// printable returns b with anything but letters, digits and spaces replaced, for messages.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' '
		out[i] = c
		if !ok {
			out[i] = '?'
		}
	}
	return string(out)
}
