package media

import (
	"image"

	"github.com/gen2brain/webp"
)

// planarFrom is the size, in pixels, from which a picture goes to libwebp as planes.
// Handed a picture of four bytes a pixel, libwebp copies it whole and converts the copy to
// Y'CbCr beside it: a 40-megapixel WebP upload took 300 MB of C memory that way (issue 8).
// Handed 4:2:0 planes with alpha, it encodes them where they are. Smaller pictures, such
// as thumbnails and generated images, keep libwebp's own conversion.
var planarFrom = 8_000_000

// webpPlanes returns img as BT.601 video-range Y'CbCr 4:2:0 planes with alpha, the form
// lossy WebP stores, when img is a large NRGBA or RGBA picture and libwebp itself is
// loaded (its WebAssembly fallback would convert planes back to four bytes a pixel);
// otherwise it returns nil. Chroma is the average of each two by two block.
func webpPlanes(img image.Image) *image.NYCbCrA {
	b := img.Bounds()
	if b.Dx()*b.Dy() < planarFrom || webp.Dynamic() != nil {
		return nil
	}
	var pix []byte
	var stride int
	premultiplied := false
	switch m := img.(type) {
	case *image.NRGBA:
		pix, stride = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride
	case *image.RGBA:
		pix, stride, premultiplied = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, true
	default:
		return nil
	}

	w, h := b.Dx(), b.Dy()
	out := image.NewNYCbCrA(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rgb := func(x, y int) (r, g, bl, a int32) {
		p := pix[y*stride+x*4 : y*stride+x*4+4]
		r, g, bl, a = int32(p[0]), int32(p[1]), int32(p[2]), int32(p[3])
		if premultiplied && a != 0 && a != 255 {
			r, g, bl = r*255/a, g*255/a, bl*255/a
		}
		return r, g, bl, a
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, a := rgb(x, y)
			out.Y[y*out.YStride+x] = uint8((16839*r + 33059*g + 6420*bl + 16<<16 + 1<<15) >> 16)
			out.A[y*out.AStride+x] = uint8(a)
		}
	}
	for cy := 0; cy < (h+1)/2; cy++ {
		for cx := 0; cx < (w+1)/2; cx++ {
			var r, g, bl int32
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				// An odd last column or row repeats its pixels.
				pr, pg, pb, _ := rgb(min(2*cx+d[0], w-1), min(2*cy+d[1], h-1))
				r, g, bl = r+pr, g+pg, bl+pb
			}
			i := cy*out.CStride + cx
			out.Cb[i] = chroma(-9719*r - 19081*g + 28800*bl)
			out.Cr[i] = chroma(28800*r - 24116*g - 4684*bl)
		}
	}
	return out
}

// chroma turns a weighted sum over four pixels, in 16.16 fixed point, into a chroma sample
// centred on 128.
func chroma(v int32) uint8 {
	v = (v + 128<<18 + 1<<17) >> 18
	return uint8(min(max(v, 0), 255))
}
