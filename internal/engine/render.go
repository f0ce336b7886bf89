package engine

import (
	"image"
	"runtime"
	"sync"
	"sync/atomic"
)

// render rasterises the scene. Rows are shared out to up to GOMAXPROCS workers; every pixel
// depends only on its coordinates and the scene, so the order of work cannot change a byte.
func (s *scene) render() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, s.w, s.h))
	workers := max(1, min(runtime.GOMAXPROCS(0), s.h/16))

	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			rw := newRow(s.w)
			for {
				y := int(next.Add(1) - 1)
				if y >= s.h {
					return
				}
				s.paintRow(rw, y, img.Pix[y*img.Stride:y*img.Stride+s.w*4])
			}
		})
	}
	wg.Wait()
	return img
}

// paintRow paints every layer into row y and writes the finished pixels into pix.
func (s *scene) paintRow(rw *row, y int, pix []byte) {
	rw.y = y
	for _, l := range s.layers {
		l.paint(rw)
	}
	s.fx.apply(rw, pix)
}
