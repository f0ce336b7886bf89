package media

import "image"

// Lossy WebP stores colour as BT.601 "video range" Y'CbCr: luma from 16 to 235 and chroma
// around 128 over ±112. The decoder of golang.org/x/image hands those planes over as an
// image.YCbCr, which Go converts as full-range JPEG colour, so blacks come out grey, whites
// dull, and every decode and re-encode would fade an upload further
// (https://github.com/golang/go/issues/40173). videoRangeToNRGBA converts them correctly.

// BT.601 video range to RGB coefficients in 16.16 fixed point.
const (
	kY  = 76309  // 255/219
	kRV = 104597 // 1.402 · 255/224
	kGU = 25675  // 0.344136 · 255/224
	kGV = 53279  // 0.714136 · 255/224
	kBU = 132201 // 1.772 · 255/224
)

// videoRangeToNRGBA converts the result of decoding a lossy WebP; any other image is
// returned as it is.
func videoRangeToNRGBA(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.YCbCr:
		return convertVideoRange(m, nil, 0)
	case *image.NYCbCrA:
		return convertVideoRange(&m.YCbCr, m.A, m.AStride)
	}
	return img
}

// convertVideoRange converts the planes of m, with an optional alpha plane, to NRGBA.
func convertVideoRange(m *image.YCbCr, alpha []byte, aStride int) *image.NRGBA {
	b := m.Rect
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := dst.Pix[(y-b.Min.Y)*dst.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			yy := (int32(m.Y[m.YOffset(x, y)]) - 16) * kY
			ci := m.COffset(x, y)
			cb, cr := int32(m.Cb[ci])-128, int32(m.Cr[ci])-128

			i := (x - b.Min.X) * 4
			row[i] = clamp8(yy + kRV*cr)
			row[i+1] = clamp8(yy - kGU*cb - kGV*cr)
			row[i+2] = clamp8(yy + kBU*cb)
			row[i+3] = 255
			if alpha != nil {
				row[i+3] = alpha[(y-b.Min.Y)*aStride+(x-b.Min.X)]
			}
		}
	}
	return dst
}

// clamp8 rounds a 16.16 fixed-point value to a byte.
func clamp8(v int32) uint8 {
	v = (v + 1<<15) >> 16
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
