package media

import "image"

// eightBit returns a 16-bit picture as an 8-bit one, keeping each sample's high byte (as
// Go's colour conversions do), and any other picture as it is. When the picture's rows
// are packed the 8-bit one is written over the 16-bit one's memory, front to back, so no
// second picture is allocated.
//
// A 16-bit picture otherwise stayed at eight bytes a pixel through cleaning and went
// through image/png's generic encoder, which allocates for every pixel it reads: a
// 40-megapixel 16-bit PNG grew the heap by 620 MB (issue 8). Thumbnails, previews and
// training use 8 bits, and the cleaned file is a new file anyway.
func eightBit(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.NRGBA64:
		pix, stride := narrow(m.Pix, m.Stride, m.Rect.Dx()*4, m.Rect.Dy())
		return &image.NRGBA{Pix: pix, Stride: stride, Rect: m.Rect}
	case *image.RGBA64:
		pix, stride := narrow(m.Pix, m.Stride, m.Rect.Dx()*4, m.Rect.Dy())
		return &image.RGBA{Pix: pix, Stride: stride, Rect: m.Rect}
	case *image.Gray16:
		pix, stride := narrow(m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy())
		return &image.Gray{Pix: pix, Stride: stride, Rect: m.Rect}
	}
	return img
}

// narrow keeps the high byte of each big-endian 16-bit sample of h rows of n samples,
// stride bytes apart, and returns the packed 8-bit rows and their stride (n).
func narrow(pix []byte, stride, n, h int) ([]byte, int) {
	dst := pix[:0]
	if stride != 2*n {
		// A sub-image's rows are not packed; writing over them could overwrite samples
		// not read yet.
		dst = make([]byte, 0, n*h)
	}
	dst = dst[:n*h]
	for y := 0; y < h; y++ {
		src, out := pix[y*stride:y*stride+2*n], dst[y*n:(y+1)*n]
		for i := range out {
			out[i] = src[2*i]
		}
	}
	return dst, n
}
