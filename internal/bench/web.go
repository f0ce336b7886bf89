package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
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

// load runs conns connections of GET path as v for the run's duration, and captures a
// CPU profile named profile of it when profiling is on and profile is not empty.
func (r *run) load(ctx context.Context, v *Visitor, path string, conns int,
	profile string) (Summary, error) {
	return r.loadFor(ctx, v, path, conns, profile, r.o.Warmup, r.o.Duration)
}

// loadFor is load with its own warm-up and window.
func (r *run) loadFor(ctx context.Context, v *Visitor, path string, conns int,
	profile string, warmup, window time.Duration) (Summary, error) {
	wait := func() {}
	if profile != "" {
		wait = r.profileCPU(ctx, profile, warmup+window)
	}
	defer wait()
	sum, err := Load{Conns: conns, Warmup: warmup, Duration: window,
		Request: get(v, path)}.Run(ctx)
	if err == nil && sum.Requests == 0 {
		err = fmt.Errorf("GET %s: no request succeeded: %s", path, sum.FirstErr)
	}
	return sum, err
}

// target is one side of an interleaved comparison: GET path as v.
type target struct {
	v       *Visitor
	path    string
	profile string // the CPU profile's name, taken during the first window; "" for none
}

// interleave measures each target in turn, r.o.Rounds times over, each window a share of
// r.o.Duration after half the warm-up, and merges each target's windows. On a shared,
// noisy machine a slow spell then weighs on every side of a ratio alike, rather than on
// whichever side happened to run during it.
func (r *run) interleave(ctx context.Context, conns int, targets ...target) ([]Summary,
	error) {
	rounds := max(r.o.Rounds, 1)
	window := r.o.Duration / time.Duration(rounds)
	parts := make([][]Summary, len(targets))
	for round := range rounds {
		for i, t := range targets {
			profile := ""
			if round == 0 {
				profile = t.profile
			}
			sum, err := r.loadFor(ctx, t.v, t.path, conns, profile, r.o.Warmup/2, window)
			if err != nil {
				return nil, err
			}
			parts[i] = append(parts[i], sum)
		}
	}

	out := make([]Summary, len(targets))
	for i := range parts {
		out[i] = Combine(parts[i])
	}
	return out, nil
}

// galleryRows measures the gallery page and its JSON against /healthz under the same
// load of r.o.Conns connections.
func (r *run) galleryRows(ctx context.Context) error {
	if err := r.checkPages(ctx); err != nil {
		return err
	}
	anon := &Visitor{Base: r.srv.URL}
	sums, err := r.interleave(ctx, r.o.Conns, target{anon, "/healthz", "healthz"},
		target{r.gallery, galleryPath, "gallery"},
		target{r.gallery, apiGalleryPath, "api-gallery"})
	if err != nil {
		return err
	}
	health, page, api := sums[0], sums[1], sums[2]

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

// checkPages makes sure the pages under load are the ones meant: 50 images of the
// gallery user's 500, as HTML and as JSON.
func (r *run) checkPages(ctx context.Context) error {
	client, done := loopbackClient(1)
	defer done()
	var api struct {
		Images     []json.RawMessage `json:"images"`
		Pagination struct {
			Total int `json:"total"`
		} `json:"pagination"`
	}
	err := r.gallery.JSON(ctx, client, http.MethodGet, apiGalleryPath, nil, &api,
		http.StatusOK)
	if err != nil {
		return err
	}
	if len(api.Images) != 50 || api.Pagination.Total != galleryImages {
		return fmt.Errorf("%s lists %d of %d images, want 50 of %d", apiGalleryPath,
			len(api.Images), api.Pagination.Total, galleryImages)
	}

	req, err := r.gallery.Request(ctx, http.MethodGet, galleryPath, "", nil)
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	page, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if n := strings.Count(string(page), `class="tile"`); n != 50 {
		return fmt.Errorf("%s shows %d images (status %d), want 50", galleryPath, n,
			res.StatusCode)
	}
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
	sums, err := r.interleave(ctx, r.o.Conns,
		target{bare, "/" + filepath.Base(r.seed.ThumbFile), ""},
		target{r.gallery, "/images/" + r.seed.ThumbID + "/thumb", "thumb"})
	if err != nil {
		return err
	}
	ref, thumb := sums[0], sums[1]

	ratio := Ratio(thumb.RPS(), ref.RPS())
	r.add(Row{Scenario: fmt.Sprintf("authorised thumbnail download, %d connections",
		r.o.Conns), Figure: thumb.String(), Reference: "http.FileServer: " + ref.String(),
		Ratio: ratio, Value: ratio, Target: Target{AtLeast, 0.60,
			">= 0.60x the reference's req/s"}})
	return nil
}
