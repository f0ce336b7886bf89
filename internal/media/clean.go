package media

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"path"
	"strings"
	"unicode"

	xwebp "golang.org/x/image/webp"
)

// Cleaned is an accepted upload: decoded, turned upright and re-encoded without metadata.
type Cleaned struct {
	Format        Format
	Image         image.Image // upright pixels
	Bytes         []byte      // the re-encoded file, the only bytes worth storing
	Width, Height int
	DisplayName   string // the client's file name made safe to show; never use it in a path
}

// maxDisplayName is the longest display name kept, in characters.
const maxDisplayName = 100

// Clean checks and cleans an uploaded image. It recognises the format from the first
// bytes, so that anything else is refused before the rest is read; reads at most
// lim.MaxBytes+1 bytes, so that an oversized stream is refused without being read to the
// end; requires the file name's extension, when there is one, to agree with the content;
// checks the dimensions from the header before decoding any pixel; decodes; applies the
// EXIF orientation; and re-encodes in the same format so that no EXIF, XMP, GPS, comment,
// maker note or colour profile survives. Every refusal is an *Error.
func Clean(r io.Reader, filename string, lim Limits) (*Cleaned, error) {
	lim = lim.withDefaults()
	data, f, err := readUpload(r, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	name := DisplayName(filename)
	if err := matchExtension(name, f); err != nil {
		return nil, err
	}

	acquire()
	defer release()
	img, err := decode(data, f, lim)
	if err != nil {
		return nil, err
	}
	img = orient(img, exifOrientation(f, data))

	// The ICC profile is dropped with the rest of the metadata and pixels are not
	// converted, so a wide-gamut photo (Display P3, Adobe RGB) comes out slightly duller.
	// No colour-management library is in use; see the closing notes of issue 6.
	// The cleaned file is about as large as the upload: one buffer of that size rather
	// than doubling, which allocated 80 MB to re-encode a 25 MB PNG (issue 8).
	var buf bytes.Buffer
	buf.Grow(len(data) + len(data)/8)
	if err := encode(&buf, img, f, 0); err != nil {
		return nil, err
	}
	return cleaned(f, img, buf.Bytes(), name), nil
}

// cleaned assembles the result, naming an anonymous upload after its format.
func cleaned(f Format, img image.Image, data []byte, name string) *Cleaned {
	if name == "" {
		name = "image" + f.Ext()
	}
	b := img.Bounds()
	return &Cleaned{Format: f, Image: img, Bytes: data, Width: b.Dx(), Height: b.Dy(),
		DisplayName: name}
}

// DecodeLimited checks and decodes an image from a provider or another trusted-but-checked
// source with the same limits as Clean, without orientation or re-encoding.
func DecodeLimited(data []byte, lim Limits) (image.Image, Format, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, "", tooLarge(lim.MaxBytes)
	}

	f, err := Sniff(head(data))
	if err != nil {
		return nil, "", err
	}

	acquire()
	defer release()
	img, err := decode(data, f, lim)
	if err != nil {
		return nil, "", err
	}
	return img, f, nil
}

// readUpload sniffs the first bytes of r, then reads the rest, refusing the stream as soon
// as it passes limit bytes.
func readUpload(r io.Reader, limit int64) ([]byte, Format, error) {
	head := make([]byte, SniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, "", interrupted(err)
	}
	f, err := Sniff(head[:n])
	if err != nil {
		return nil, "", err
	}
	if int64(n) > limit {
		return nil, "", tooLarge(limit)
	}

	var buf bytes.Buffer
	if st, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		// A file says how large it is: one buffer of that size instead of doubling,
		// which allocated 64 MB to read a 25 MB upload (issue 8's upload benchmark).
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= limit {
			buf.Grow(int(fi.Size()) + bytes.MinRead)
		}
	}
	buf.Write(head[:n])
	if _, err := buf.ReadFrom(io.LimitReader(r, limit-int64(n)+1)); err != nil {
		return nil, "", interrupted(err)
	}
	if int64(buf.Len()) > limit {
		return nil, "", tooLarge(limit)
	}
	return buf.Bytes(), f, nil
}

func interrupted(err error) *Error {
	return newError(StatusBadRequest, ErrDamaged, fmt.Errorf("read upload: %w", err),
		"the upload was interrupted; please try again")
}

func tooLarge(limit int64) *Error {
	return newError(StatusTooLarge, ErrTooLarge, nil,
		fmt.Sprintf("the file is larger than %s; upload a smaller image", sizeText(limit)))
}

// sizeText writes a byte count as a person reads it.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func head(data []byte) []byte {
	return data[:min(len(data), SniffLen)]
}

// decode reads the dimensions from the header, refuses them if over the limits, and only
// then decodes the pixels.
func decode(data []byte, f Format, lim Limits) (image.Image, error) {
	if f == WebP && animatedWebP(data) {
		return nil, newError(StatusUnsupported, ErrUnsupported, nil,
			"animated WebP images are not accepted; upload a single still picture")
	}

	cfg, err := decodeConfig(data, f)
	if err != nil {
		return nil, damaged(err)
	}
	if err := checkDimensions(cfg.Width, cfg.Height, lim); err != nil {
		return nil, err
	}

	img, err := decodePixels(data, f)
	if err != nil {
		return nil, damaged(err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, damaged(fmt.Errorf("decoded %v, header said %dx%d", b, cfg.Width, cfg.Height))
	}
	return img, nil
}

// checkDimensions refuses images that are empty, too wide or too tall, or have too many
// pixels, saying which limit they break.
func checkDimensions(w, h int, lim Limits) error {
	if w <= 0 || h <= 0 {
		return damaged(fmt.Errorf("header declares %dx%d", w, h))
	}

	if px := int64(w) * int64(h); px > lim.MaxPixels {
		msg := fmt.Sprintf("the image is %d × %d pixels (%.1f megapixels); the limit is "+
			"%.1f megapixels, so scale it down first", w, h, float64(px)/1e6,
			float64(lim.MaxPixels)/1e6)
		return newError(StatusTooLarge, ErrTooLarge, nil, msg)
	}
	if w > lim.MaxSide || h > lim.MaxSide {
		msg := fmt.Sprintf("the image is %d × %d pixels; the limit is %d pixels on each side, "+
			"so scale it down first", w, h, lim.MaxSide)
		return newError(StatusInvalid, ErrDimensions, nil, msg)
	}
	return nil
}

// decodeConfig reads only the header of an image.
func decodeConfig(data []byte, f Format) (cfg image.Config, err error) {
	defer recoverTo(&err)
	r := bytes.NewReader(data)
	switch f {
	case PNG:
		return png.DecodeConfig(r)
	case JPEG:
		return jpeg.DecodeConfig(r)
	default:
		return xwebp.DecodeConfig(r)
	}
}

// decodePixels decodes a whole image. WebP uses the pure-Go decoder of golang.org/x/image,
// which has been fuzzed and needs no C library, with its colours corrected.
func decodePixels(data []byte, f Format) (img image.Image, err error) {
	defer recoverTo(&err)
	r := bytes.NewReader(data)
	switch f {
	case PNG:
		return png.Decode(r)
	case JPEG:
		return jpeg.Decode(r)
	default:
		img, err = xwebp.Decode(r)
		if err != nil {
			return nil, err
		}
		return videoRangeToNRGBA(img), nil
	}
}

// recoverTo turns a decoder panic on hostile input into an error, so a bad file can never
// take the server down.
func recoverTo(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("decoder panic: %v", v)
	}
}

// animatedWebP reports whether an extended WebP header has its animation flag set.
func animatedWebP(data []byte) bool {
	return len(data) >= 21 && string(data[12:16]) == "VP8X" && data[20]&0x02 != 0
}

// matchExtension refuses a file whose name claims another format than its content.
func matchExtension(name string, f Format) error {
	ext := strings.ToLower(path.Ext(name))
	if ext == "" || ext == "." {
		return nil
	}
	if extFormat[ext] == f {
		return nil
	}

	msg := fmt.Sprintf("the file name ends in %s but the file is a %s image; rename it to "+
		"end in %s and upload it again", clip(ext, 12), f, f.Ext())
	return newError(StatusInvalid, ErrMismatch, nil, msg)
}

// extFormat maps accepted file name extensions to formats.
var extFormat = map[string]Format{
	".png": PNG, ".jpg": JPEG, ".jpeg": JPEG, ".jpe": JPEG, ".jfif": JPEG, ".webp": WebP,
}

// DisplayName reduces a client's file name to something safe to show: the last element of
// either kind of path, valid UTF-8, without control or invisible formatting characters
// (such as right-to-left overrides), trimmed, and at most 100 characters with the extension
// kept. It is for display only and must never be used to build a path.
func DisplayName(filename string) string {
	if i := strings.LastIndexAny(filename, `/\`); i >= 0 {
		filename = filename[i+1:]
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8Error {
			return -1
		}
		return r
	}, strings.ToValidUTF8(filename, ""))

	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	return shorten(name, maxDisplayName)
}

// utf8Error is the replacement character, which only stands for bytes that were lost.
const utf8Error = '\uFFFD'

// shorten cuts name to at most n characters, keeping a short extension.
func shorten(name string, n int) string {
	r := []rune(name)
	if len(r) <= n {
		return name
	}

	ext := []rune(path.Ext(name))
	if len(ext) >= n/2 {
		ext = nil
	}
	stem := r[:len(r)-len(ext)]
	return strings.TrimSpace(string(stem[:n-len(ext)])) + string(ext)
}
