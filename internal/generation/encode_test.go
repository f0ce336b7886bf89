package generation_test

import (
	"bytes"
	"image"
	"image/color"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// TestEncodePicture checks both files of a picture made side by side: the full picture in
// each format decodes to its size, the thumbnail is a WebP of at most ThumbSide pixels with
// the aspect ratio kept, and a format that cannot be written is an error with no files.
func TestEncodePicture(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 640, 320))
	for y := range 320 {
		for x := range 640 {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	for _, f := range []media.Format{media.PNG, media.JPEG, media.WebP} {
		full, thumb, err := generation.EncodePicture(img, f, 0)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cfg, got, err := image.DecodeConfig(bytes.NewReader(full.Bytes()))
		if err != nil || got != string(f) || cfg.Width != 640 || cfg.Height != 320 {
			t.Fatalf("%s: full picture is %s %dx%d (%v)", f, got, cfg.Width, cfg.Height, err)
		}
		cfg, got, err = image.DecodeConfig(bytes.NewReader(thumb.Bytes()))
		if err != nil || got != "webp" || cfg.Width != generation.ThumbSide ||
			cfg.Height != generation.ThumbSide/2 {
			t.Fatalf("%s: thumbnail is %s %dx%d (%v)", f, got, cfg.Width, cfg.Height, err)
		}
	}

	full, thumb, err := generation.EncodePicture(img, media.Format("gif"), 0)
	if err == nil || full != nil || thumb != nil {
		t.Fatalf("gif: %v, files %v %v; want an error and no files", err, full, thumb)
	}
}
