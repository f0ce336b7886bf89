package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"
)

// galleryPath is the gallery page the scenarios load: the first page of 50 images.
const galleryPath = "/gallery?per_page=50"

// apiGalleryPath is the same page as JSON.
const apiGalleryPath = "/api/gallery?limit=50"

// get returns a Request function that GETs path as v (anonymous when v has no cookie).
func get(v *Visitor, path string) func(int) (*http.Request, error) {
	return func(int) (*http.Request, error) {
		return v.Request(context.Background(), http.MethodGet, path, "", nil)
	}
}

// load runs conns connections of GET path as v for the run's duration.
func (r *run) load(ctx context.Context, v *Visitor, path string, conns int) (Summary, error) {
	sum, err := Load{Conns: conns, Warmup: r.o.Warmup, Duration: r.o.Duration,
		Request: get(v, path)}.Run(ctx)
	if err == nil && sum.Requests == 0 {
		err = fmt.Errorf("GET %s: no request succeeded: %s", path, sum.FirstErr)
	}
	return sum, err
}

// galleryRows measures the gallery page and its JSON against /healthz under the same
// load of r.o.Conns connections.
func (r *run) galleryRows(ctx context.Context) error {
	anon := &Visitor{Base: r.srv.URL}
	health, err := r.load(ctx, anon, "/healthz", r.o.Conns)
	if err != nil {
		return err
	}
	page, err := r.load(ctx, r.gallery, galleryPath, r.o.Conns)
	if err != nil {
		return err
	}
	api, err := r.load(ctx, r.gallery, apiGalleryPath, r.o.Conns)
	if err != nil {
		return err
	}

	scenario := fmt.Sprintf("gallery page (%d images, page of 50), %d connections",
		galleryImages, r.o.Conns)
	rps := Ratio(page.RPS(), health.RPS())
	r.add(Row{Scenario: scenario + ": req/s", Figure: page.String(),
		Reference: "/healthz: " + health.String(), Ratio: rps, Value: rps,
		Target: Target{AtLeast, 0.30, ">= 0.30x the reference's req/s"}})
	p99 := Ratio(float64(page.P(99)), float64(health.P(99)))
	r.add(Row{Scenario: scenario + ": p99", Figure: "p99 " + ms(page.P(99)),
		Reference: "/healthz p99 " + ms(health.P(99)), Ratio: p99, Value: p99,
		Target: Target{AtMost, 4, "<= 4x the reference's p99"}})
	apiRatio := Ratio(api.RPS(), health.RPS())
	r.add(Row{Scenario: fmt.Sprintf("GET %s, %d connections", apiGalleryPath, r.o.Conns),
		Figure: api.String(), Reference: "/healthz: " + health.String(), Ratio: apiRatio,
		Value: apiRatio, Target: Target{AtLeast, 0.40, ">= 0.40x the reference's req/s"}})
	return nil
}

// thumbRows measures an authorised thumbnail download against the same file served by a
// bare http.FileServer in this process, each under the same load.
func (r *run) thumbRows(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the file server: %w", err)
	}
	fs := &http.Server{Handler: http.FileServer(http.Dir(filepath.Dir(r.seed.ThumbFile))),
		ReadHeaderTimeout: 10 * time.Second}
	go fs.Serve(ln)
	defer fs.Close()

	bare := &Visitor{Base: "http://" + ln.Addr().String()}
	ref, err := r.load(ctx, bare, "/"+filepath.Base(r.seed.ThumbFile), r.o.Conns)
	if err != nil {
		return err
	}
	thumb, err := r.load(ctx, r.gallery, "/images/"+r.seed.ThumbID+"/thumb", r.o.Conns)
	if err != nil {
		return err
	}

	ratio := Ratio(thumb.RPS(), ref.RPS())
	r.add(Row{Scenario: fmt.Sprintf("authorised thumbnail download, %d connections",
		r.o.Conns), Figure: thumb.String(), Reference: "http.FileServer: " + ref.String(),
		Ratio: ratio, Value: ratio, Target: Target{AtLeast, 0.60,
			">= 0.60x the reference's req/s"}})
	return nil
}
