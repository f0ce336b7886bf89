package media

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"path"
	"strings"
	"unicode"

	xwebp "golang.org/x/image/webp"

	"github.com/sketchmaker/sketchmaker/internal/pngcodec"
)

// Cleaned is an accepted upload: decoded, turned upright and re-encoded without metadata.
type Cleaned struct {
	Format        Format
	Image         image.Image // upright pixels
	Bytes         []byte      // the re-encoded file, the only bytes worth storing; nil from CleanTo
	Size          int64       // the re-encoded file's length in bytes
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
	var buf bytes.Buffer
	c, err := CleanTo(&buf, r, filename, lim)
	if err != nil {
		return nil, err
	}
	c.Bytes = buf.Bytes()
	return c, nil
}

// CleanTo is Clean writing the re-encoded file to w as it is made instead of keeping it in
// memory, so that a large upload's cleaned copy can go straight to a file; the result's
// Bytes is nil. After a refusal, whatever reached w is incomplete and must be discarded.
func CleanTo(w io.Writer, r io.Reader, filename string, lim Limits) (*Cleaned, error) {
	lim = lim.withDefaults()
	data, f, err := readUpload(r, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	name := DisplayName(filename)
	if err := matchExtension(name, f); err != nil {
		return nil, err
	}
	if buf, ok := w.(*bytes.Buffer); ok {
		// The cleaned file is about as large as the upload: one buffer of that size rather
		// than doubling, which allocated 80 MB to re-encode a 25 MB PNG (issue 8).
		buf.Grow(len(data) + len(data)/8)
	}

	acquire()
	defer release()
	orientation := exifOrientation(f, data)
	img, err := decode(data, f, lim)
	if err != nil {
		return nil, err
	}
	// data is not used past this point, so the collector may take the upload's bytes back
	// while the pixels are encoded instead of holding both (issue 8).
	img = orient(eightBit(img), orientation)

	// The ICC profile is dropped with the rest of the metadata and pixels are not
	// converted, so a wide-gamut photo (Display P3, Adobe RGB) comes out slightly duller.
	// No colour-management library is in use; see the closing notes of issue 6.
	cw := &countingWriter{w: w}
	if err := encode(cw, img, f, 0); err != nil {
		return nil, err
	}
	return cleaned(f, img, cw.n, name), nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// cleaned assembles the result, naming an anonymous upload after its format.
func cleaned(f Format, img image.Image, size int64, name string) *Cleaned {
	if name == "" {
		name = "image" + f.Ext()
	}
	b := img.Bounds()
	return &Cleaned{Format: f, Image: img, Size: size, Width: b.Dx(), Height: b.Dy(),
		DisplayName: name}
}

// Header is what an image file says of itself before any pixel is decoded.
type Header struct {
	Format        Format
	Width, Height int
	PixelBytes    int64 // about how much memory the decoded, upright pixels take
}

// ReadHeader reads an image file's header without decoding any pixel, so that a caller can
// tell how much memory cleaning the file will take before it starts. It refuses, with the
// errors Clean gives, what Clean would refuse from the header alone: a format that is not
// accepted, a name claiming another format, an animated WebP, a damaged header, and
// dimensions over lim. It reads only as far as the header.
func ReadHeader(r io.Reader, filename string, lim Limits) (Header, error) {
	lim = lim.withDefaults()
	head := make([]byte, SniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return Header{}, interrupted(err)
	}
	head = head[:n]
	f, err := Sniff(head)
	if err != nil {
		return Header{}, err
	}
	if err := matchExtension(DisplayName(filename), f); err != nil {
		return Header{}, err
	}

	cfg, err := checkHeader(head, io.MultiReader(bytes.NewReader(head), r), f, lim)
	if err != nil {
		return Header{}, err
	}
	px := int64(cfg.Width) * int64(cfg.Height)
	return Header{Format: f, Width: cfg.Width, Height: cfg.Height,
		PixelBytes: px * bytesPerPixel(f, cfg.ColorModel)}, nil
}

// bytesPerPixel is about how many bytes a pixel of a picture in format f and colour model
// m takes once decoded: an upper bound where the header does not say (JPEG's chroma
// subsampling). Every WebP ends up as NRGBA (videoRangeToNRGBA).
func bytesPerPixel(f Format, m color.Model) int64 {
	if f == WebP {
		return 4
	}
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
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
	cfg, err := checkHeader(data, bytes.NewReader(data), f, lim)
	if err != nil {
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

// checkHeader refuses an animated WebP, a header that cannot be read and dimensions over
// the limits, and returns what the header says. head holds the file's first bytes (at
// least SniffLen of them, when the file has that many) and r reads the file from its start.
func checkHeader(head []byte, r io.Reader, f Format, lim Limits) (image.Config, error) {
	if f == WebP && animatedWebP(head) {
		return image.Config{}, newError(StatusUnsupported, ErrUnsupported, nil,
			"animated WebP images are not accepted; upload a single still picture")
	}

	cfg, err := decodeConfig(r, f)
	if err != nil {
		return image.Config{}, damaged(err)
	}
	if err := checkDimensions(cfg.Width, cfg.Height, lim); err != nil {
		return image.Config{}, err
	}
	return cfg, nil
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

// decodeConfig reads only the header of an image from r, which reads it from its start.
func decodeConfig(r io.Reader, f Format) (cfg image.Config, err error) {
	defer recoverTo(&err)
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
		// libpng when the system has it, image/png otherwise. decode has checked the
		// header's dimensions against the limits already, hence no limit here.
		return pngcodec.Decode(data, 0)
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
