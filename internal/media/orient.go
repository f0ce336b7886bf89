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
	if m := orientPlanes(img, o); m != nil {
		return m
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

// orientPlanes turns a JPEG's picture upright in its own form, moving each plane's samples,
// and returns nil for any other picture. Converting a 40-megapixel photo to four bytes a
// pixel and turning that took 380 MB beside the 60 MB the decoder made; this takes 60 MB
// more, and the JPEG encoder then reads YCbCr directly. Chroma planes subsampled 4:2:0
// turn with the picture only when its sides are even, so that every chroma sample still
// covers the same two by two pixels; other pictures take the general path.
func orientPlanes(img image.Image, o int) image.Image {
	switch m := img.(type) {
	case *image.Gray:
		if m.Rect.Min != (image.Point{}) {
			return nil
		}
		w, h := m.Rect.Dx(), m.Rect.Dy()
		pix, dw, dh := orientPlane(m.Pix, m.Stride, w, h, o)
		return &image.Gray{Pix: pix, Stride: dw, Rect: image.Rect(0, 0, dw, dh)}
	case *image.YCbCr:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		cw, ch := w, h
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio444:
		case image.YCbCrSubsampleRatio420:
			if w%2 != 0 || h%2 != 0 {
				return nil
			}
			cw, ch = w/2, h/2
		default:
			return nil
		}
		if m.Rect.Min != (image.Point{}) {
			return nil
		}
		y, dw, dh := orientPlane(m.Y, m.YStride, w, h, o)
		cb, dcw, _ := orientPlane(m.Cb, m.CStride, cw, ch, o)
		cr, _, _ := orientPlane(m.Cr, m.CStride, cw, ch, o)
		return &image.YCbCr{Y: y, Cb: cb, Cr: cr, YStride: dw, CStride: dcw,
			SubsampleRatio: m.SubsampleRatio, Rect: image.Rect(0, 0, dw, dh)}
	}
	return nil
}

// orientPlane returns the w x h plane of one-byte samples src (rows stride apart) turned
// by orientation o, packed, with its new width and height.
func orientPlane(src []byte, stride, w, h, o int) ([]byte, int, int) {
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := make([]byte, dw*dh)
	for dy := 0; dy < dh; dy++ {
		row := dst[dy*dw : (dy+1)*dw]
		for dx := range row {
			sx, sy := source(o, dx, dy, w, h)
			row[dx] = src[sy*stride+sx]
		}
	}
	return dst, dw, dh
}
