package media

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"runtime"

	"github.com/gen2brain/webp"
	"golang.org/x/image/draw"

	"github.com/sketchmaker/sketchmaker/internal/pngcodec"
)

// Default encoder qualities, 1 to 100.
const (
	DefaultJPEGQuality = 90
	DefaultWebPQuality = 90
)

// Limits of images sent to providers, from the original application's rule.
const (
	OptimizeMaxSide  = 1536
	OptimizeMaxBytes = 4 << 20
)

// webpMethod is libwebp's effort, 0 to 6. Method 2 encodes about three times faster than
// the library's default of 4 for files about 2% larger.
const webpMethod = 2

// slots bounds concurrent decoding and encoding, the CPU-heavy steps, to one per
// processor. Memory is bounded one level up: uploads are admitted by the bytes their
// decoded pixels take (upload's admission), which one slot per processor did not do.
var slots = make(chan struct{}, runtime.GOMAXPROCS(0))

func acquire() { slots <- struct{}{} }
func release() { <-slots }

// Encode writes img to w in format f. Quality, 1 to 100, applies to JPEG and WebP (lossy);
// zero or less takes the format's default. At most GOMAXPROCS encodings run at once.
func Encode(w io.Writer, img image.Image, f Format, quality int) error {
	acquire()
	defer release()
	return encode(w, img, f, quality)
}

// encode is Encode without the concurrency limit, for callers that hold a slot.
func encode(w io.Writer, img image.Image, f Format, quality int) error {
	var err error
	switch f {
	case PNG:
		// PNG encoding sits on the path of every generated image: pngcodec's encoder
		// took a quarter of image/png's time on a 1024x1024 photo (issue 8).
		err = pngcodec.Encode(w, img)
	case JPEG:
		err = encodeJPEG(w, img, quality, jpegtran())
	case WebP:
		var src image.Image = img
		if p := webpPlanes(img); p != nil {
			src = p
		}
		err = webp.Encode(w, src, webp.Options{Quality: qualityOr(quality, DefaultWebPQuality),
			Method: webpMethod})
	default:
		msg := fmt.Sprintf("cannot write images as %q", clip(string(f), 20))
		return newError(StatusBadRequest, ErrUnsupported, nil, msg)
	}

	if err != nil {
		return newError(StatusInternal, ErrEncode, fmt.Errorf("encode %s: %w", f, err),
			"the image could not be saved; please try again")
	}
	return nil
}

// encodeJPEG writes img as JPEG: baseline from image/jpeg, made progressive by the
// jpegtran at path when path is not empty.
func encodeJPEG(w io.Writer, img image.Image, quality int, path string) error {
	var buf bytes.Buffer
	opts := &jpeg.Options{Quality: qualityOr(quality, DefaultJPEGQuality)}
	if err := jpeg.Encode(&buf, img, opts); err != nil {
		return err
	}
	_, err := w.Write(progressive(path, buf.Bytes()))
	return err
}

func qualityOr(q, def int) int {
	if q <= 0 {
		return def
	}
	return min(q, 100)
}

// Thumbnail returns img scaled down, keeping its aspect ratio, so that neither side exceeds
// maxSide (at least 1), with a Catmull-Rom filter. An image that already fits is returned
// as it is: Thumbnail never enlarges. It keeps only a few rows of working memory besides
// the result.
func Thumbnail(img image.Image, maxSide int) image.Image {
	maxSide = max(maxSide, 1)
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= maxSide && h <= maxSide {
		return img
	}

	tw, th := maxSide, max(1, (h*maxSide+w/2)/w)
	if h > w {
		tw, th = max(1, (w*maxSide+h/2)/h), maxSide
	}
	return resampleHalved(img, halvings(w, h, tw, th), tw, th)
}

// halvings counts how many times a w by h picture can have its 2x2 blocks averaged while
// the result stays at least twice tw by th, so that Catmull-Rom, the costly filter, works
// on a quarter of the pixels or fewer while still reducing by half or more. Averaging is
// itself a low-pass filter, so the thumbnail stays free of aliasing. It is Pillow's
// reducing_gap=2.0. A 1024-pixel picture's 256-pixel thumbnail took 21 ms with
// Catmull-Rom alone, three times Pillow's bicubic resize (issue 8, bench/results.md).
// resampleHalved does the averaging row by row as it filters.
func halvings(w, h, tw, th int) int {
	n := 0
	for w/2 >= 2*tw && h/2 >= 2*th {
		w, h, n = w/2, h/2, n+1
	}
	return n
}

// Optimize prepares an image for a provider as the original application did: at most
// OptimizeMaxSide pixels on the longer side, JPEG at quality 90, lowered in steps of 10
// until the file is under OptimizeMaxBytes. Transparent areas are flattened onto white.
func Optimize(img image.Image) ([]byte, Format, error) {
	small := flatten(Thumbnail(img, OptimizeMaxSide))

	acquire()
	defer release()
	var buf bytes.Buffer
	for q := DefaultJPEGQuality; q >= 10; q -= 10 {
		buf.Reset()
		if err := encode(&buf, small, JPEG, q); err != nil {
			return nil, "", err
		}
		if buf.Len() < OptimizeMaxBytes {
			return buf.Bytes(), JPEG, nil
		}
	}
	return nil, "", newError(StatusTooLarge, ErrTooLarge, nil,
		"the image could not be made small enough to send")
}

// flatten composes an image with transparency onto white; opaque images pass unchanged.
func flatten(img image.Image) image.Image {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return img
	}

	b := img.Bounds()
	dst := image.NewRGBA(b)
	draw.Draw(dst, b, image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, b, img, b.Min, draw.Over)
	return dst
}
