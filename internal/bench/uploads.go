package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"sync"
)

// uploadLimit is the server's default request limit (MAX_CONTENT_LENGTH).
const uploadLimit = 25 << 20

// uploadRows sends one upload of a valid picture of nearly 25 MB and then twenty at once,
// and compares how far the server's resident memory rose above its level before each.
func (r *run) uploadRows(ctx context.Context) error {
	pic, err := noisePNGUnder(uploadLimit - 8<<10)
	if err != nil {
		return err
	}
	body, ctype, err := multipartFile("big.png", pic)
	if err != nil {
		return err
	}

	// Both rise from the memory before any upload: the server keeps what the single
	// upload made it take, and measuring the twenty from there read as no growth at all.
	base, _, err := r.srv.Memory()
	if err != nil {
		return err
	}
	one, err := r.uploadGrowth(ctx, 1, body, ctype, base)
	if err != nil {
		return err
	}
	twenty, err := r.uploadGrowth(ctx, r.o.Uploads, body, ctype, base)
	if err != nil {
		return err
	}
	r.add(Row{Scenario: fmt.Sprintf("%d parallel uploads of a %.1f MB PNG: server memory "+
		"growth", r.o.Uploads, float64(len(pic))/(1<<20)), Figure: mb(twenty),
		Reference: "one upload: " + mb(one), Ratio: Ratio(twenty, one),
		Value: twenty / (1 << 20), Target: Target{Below, 150, "< 150 MB"},
		Note: "growth is the server's VmHWM during the uploads minus its VmRSS before " +
			"the first of them (the single upload)"})
	return nil
}

// uploadGrowth sends n copies of body at once and returns how many bytes the server's
// peak resident memory rose above base.
func (r *run) uploadGrowth(ctx context.Context, n int, body []byte, ctype string,
	base float64) (float64, error) {
	if err := r.srv.ResetPeak(); err != nil {
		return 0, err
	}

	client, done := loopbackClient(n)
	defer done()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.upload.JSON(ctx, client, http.MethodPost, "/api/training/upload",
				rawBody{body, ctype}, nil, http.StatusOK)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, fmt.Errorf("upload: %w", err)
		}
	}

	_, peak, err := r.srv.Memory()
	r.profileHeap(ctx, fmt.Sprintf("uploads-%d", n))
	return max(peak-base, 0), err
}

// rawBody is a request body that Visitor.JSON sends as it is, with its own content type.
type rawBody struct {
	data  []byte
	ctype string
}

// multipartFile wraps data as the one file part of a multipart/form-data body.
func multipartFile(name string, data []byte) ([]byte, string, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	part, err := mw.CreateFormFile("files", name)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(data); err != nil {
		return nil, "", err
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return b.Bytes(), mw.FormDataContentType(), nil
}

// noisePNGUnder returns a valid opaque PNG of random pixels, as large as fits in limit
// bytes: noise does not compress, so the file is about three bytes a pixel.
func noisePNGUnder(limit int) ([]byte, error) {
	for side := 2960; side > 1000; side -= 8 {
		data, err := noisePNG(side)
		if err != nil {
			return nil, err
		}
		if len(data) <= limit {
			return data, nil
		}
	}
	return nil, errors.New("no noise picture fits under the upload limit")
}

// noisePNG encodes a side x side picture of random colours.
func noisePNG(side int) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(img.Pix); i += 4 {
		v := rng.Uint32()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = byte(v), byte(v>>8),
			byte(v>>16), 255
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("encode noise picture: %w", err)
	}
	return b.Bytes(), nil
}

// readerOf returns the body of in for Visitor.JSON: raw bytes as they are, anything else
// as JSON.
func readerOf(in any) (io.Reader, string, bool) {
	if rb, ok := in.(rawBody); ok {
		return bytes.NewReader(rb.data), rb.ctype, true
	}
	return nil, "", false
}
