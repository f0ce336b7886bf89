package media

import (
	"image"
	"image/draw"
)

// orient turns img upright according to an EXIF orientation. Orientation 1, or any value
// outside 1 to 8, returns img unchanged.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}

	pix, stride, b, build := fourByte(img)
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}

	dst := build(image.Rect(0, 0, dw, dh))
	dpix, dstride := pixOf(dst)
	for dy := 0; dy < dh; dy++ {
		for dx := 0; dx < dw; dx++ {
			sx, sy := source(o, dx, dy, w, h)
			s, d := sy*stride+sx*4, dy*dstride+dx*4
			copy(dpix[d:d+4], pix[s:s+4])
		}
	}
	return dst
}

// source returns the stored pixel shown at (dx, dy) for an orientation of a w×h image.
func source(o, dx, dy, w, h int) (int, int) {
	switch o {
	case 1: // as stored
		return dx, dy
	case 2: // mirrored
		return w - 1 - dx, dy
	case 3: // upside down
		return w - 1 - dx, h - 1 - dy
	case 4: // mirrored upside down
		return dx, h - 1 - dy
	case 5: // mirrored along the main diagonal
		return dy, dx
	case 6: // turned a quarter anticlockwise; shown a quarter clockwise
		return dy, h - 1 - dx
	case 7: // mirrored along the other diagonal
		return w - 1 - dy, h - 1 - dx
	default: // 8: turned a quarter clockwise; shown a quarter anticlockwise
		return w - 1 - dy, dx
	}
}

// fourByte returns img's pixels as 4 bytes a pixel with origin (0, 0), converting when
// needed, and a constructor for an image of the same kind. Opaque images become RGBA,
// which the standard library converts from JPEG's YCbCr quickly; others keep
// non-premultiplied alpha.
func fourByte(img image.Image) ([]byte, int, image.Rectangle, func(image.Rectangle) image.Image) {
	newNRGBA := func(r image.Rectangle) image.Image { return image.NewNRGBA(r) }
	newRGBA := func(r image.Rectangle) image.Image { return image.NewRGBA(r) }

	switch m := img.(type) {
	case *image.NRGBA:
		return m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, m.Rect, newNRGBA
	case *image.RGBA:
		return m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, m.Rect, newRGBA
	}

	b := img.Bounds()
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
		return dst.Pix, dst.Stride, dst.Rect, newRGBA
	}
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst.Pix, dst.Stride, dst.Rect, newNRGBA
}

// pixOf returns the pixels of an image made by fourByte's constructor.
func pixOf(img image.Image) ([]byte, int) {
	if m, ok := img.(*image.NRGBA); ok {
		return m.Pix, m.Stride
	}
	m := img.(*image.RGBA)
	return m.Pix, m.Stride
}
