package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/gen2brain/webp"
	"golang.org/x/image/draw"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/cli"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/engine"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
)

// inProcess names the rows measured inside this program rather than over HTTP.
const inProcess = "in-process"

// measure runs fn once to warm up, then until it has run at least minRuns times and for
// at least minTime (and at most 10,000 times), and returns the median time of one run and
// the mean bytes one run allocated.
func measure(fn func() error, minRuns int, minTime time.Duration) (time.Duration, float64,
	error) {
	if err := fn(); err != nil {
		return 0, 0, err
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	var times []time.Duration
	start := time.Now()
	for len(times) < minRuns || (time.Since(start) < minTime && len(times) < 10_000) {
		t := time.Now()
		if err := fn(); err != nil {
			return 0, 0, err
		}
		times = append(times, time.Since(t))
	}
	runtime.ReadMemStats(&after)
	slices.Sort(times)
	return Percentile(times, 50), float64(after.TotalAlloc-before.TotalAlloc) /
		float64(len(times)), nil
}

// engineRow compares the built-in engine's 1024x1024 PNG (render and encode, every
// style) with Go's own PNG encoder writing the same pictures.
func engineRow() (Row, error) {
	const prompt = "a red sunset over the ocean with a city skyline and clouds"
	var imgs []image.Image
	for _, style := range engine.Styles() {
		img, err := engine.Render(engine.Params{Prompt: prompt, Style: style, Width: 1024,
			Height: 1024, Seed: 7})
		if err != nil {
			return Row{}, err
		}
		imgs = append(imgs, img)
	}

	ours, _, err := measure(func() error {
		for _, style := range engine.Styles() {
			img, err := engine.Render(engine.Params{Prompt: prompt, Style: style,
				Width: 1024, Height: 1024, Seed: 7})
			if err != nil {
				return err
			}
			if err := media.Encode(io.Discard, img, media.PNG, 0); err != nil {
				return err
			}
		}
		return nil
	}, 3, 3*time.Second)
	if err != nil {
		return Row{}, err
	}
	ref, _, err := measure(func() error {
		for _, img := range imgs {
			if err := png.Encode(io.Discard, img); err != nil {
				return err
			}
		}
		return nil
	}, 3, 3*time.Second)
	if err != nil {
		return Row{}, err
	}

	n := time.Duration(len(imgs))
	ratio := Ratio(float64(ours), float64(ref))
	return Row{Run: inProcess, Scenario: "built-in engine, 1024x1024 PNG (render and encode, " +
		"mean of every style)", Figure: ms(ours / n), Reference: "image/png Encode of " +
		"the same picture: " + ms(ref/n), Ratio: ratio, Value: ratio,
		Target: Target{AtMost, 3, "<= 3x the reference"}}, nil
}

// rig is the application wired on a scratch SQLite database in this process, for the rows
// that call the services directly.
type rig struct {
	app   *cli.App
	blobs blob.Store
	user  int64
}

// newRig builds the application in dir and creates one account.
func newRig(ctx context.Context, dir string) (*rig, error) {
	env := map[string]string{"SKETCHMAKER_DATA_DIR": filepath.Join(dir, "data"),
		"SECRET_KEY": "benchmark-scratch-key-0123456789abcdef"}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "")
	if err != nil {
		return nil, err
	}
	app, err := cli.Build(ctx, cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		return nil, err
	}
	u, err := app.Accounts.Create(ctx, account.NewUser{Email: "micro@bench.example",
		Password: Password})
	if err != nil {
		app.Close()
		return nil, err
	}
	blobs, err := blob.NewDisk(filepath.Join(cfg.DataDir, "files"))
	if err != nil {
		app.Close()
		return nil, err
	}
	return &rig{app: app, blobs: blobs, user: u.ID}, nil
}

// postProcessRows compares what happens to a provider's 1024x1024 PNG (checked and
// decoded within the pixel limits, re-encoded, stored with its WebP thumbnail and
// recorded) with Pillow decoding, resizing and WebP-encoding the same file. A second row
// compares like for like: decode, thumbnail and WebP only.
func (r *rig) postProcessRows(ctx context.Context, dir, testdata, python string) ([]Row,
	error) {
	data, err := providerPNG(testdata)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "provider-1024.png")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, err
	}

	g := gallery.New(r.app.DB, r.blobs, slog.New(slog.DiscardHandler))
	full, _, err := measure(func() error { return r.storeProviderImage(ctx, g, data) },
		10, 3*time.Second)
	if err != nil {
		return nil, err
	}
	thumbOnly, _, err := measure(func() error { return thumbnailOnly(data) }, 10,
		3*time.Second)
	if err != nil {
		return nil, err
	}

	pil, perr := pillow(ctx, python, path, 20)
	rows := []Row{
		{Run: inProcess, Scenario: "post-processing a 1024x1024 provider PNG (check, " +
			"decode, PNG re-encode, store, WebP thumbnail, record)", Figure: ms(full),
			Note: "WebP through libwebp " + webpPath()},
		{Run: inProcess, Scenario: "the same, like for like with Pillow (decode, " +
			"thumbnail, WebP)", Figure: ms(thumbOnly)},
	}
	for i, ours := range []time.Duration{full, thumbOnly} {
		rows[i].Target = Target{AtMost, 1, "<= 1x Pillow (no slower)"}
		if perr != nil {
			rows[i].Skipped = perr.Error()
			continue
		}
		rows[i].Reference = "Pillow decode, resize (box reduce, then bicubic), WebP: " +
			ms(pil.same)
		rows[i].Ratio = Ratio(float64(ours), float64(pil.same))
		rows[i].Value = rows[i].Ratio
	}
	if perr == nil {
		rows[0].Note += fmt.Sprintf("; Pillow doing the same work, with the PNG re-encode "+
			"at its fastest level (compress_level=1): %s, %.2fx", ms(pil.reencode),
			Ratio(float64(full), float64(pil.reencode)))
		rows[1].Note = "Pillow with a plain bicubic resize of the whole picture: " +
			ms(pil.plain)
	}
	return rows, nil
}

// storeProviderImage is what the generation service does with a provider's picture:
// outbound.Decode (the check and the decode within pixel limits), then the steps of
// generation's storePicture: the PNG re-encode, the WebP thumbnail, both files stored
// and the gallery record.
func (r *rig) storeProviderImage(ctx context.Context, g *gallery.Gallery, data []byte) error {
	res, err := outbound.Decode(data, media.Limits{})
	if err != nil {
		return err
	}
	full, thumb, err := generation.EncodePicture(res.Image, media.PNG, 0)
	if err != nil {
		return err
	}

	b := res.Image.Bounds()
	im := &gallery.Image{ID: job.NewID(), UserID: r.user, JobID: job.NewID(),
		Prompt: "benchmark", Model: "fal-ai/flux/dev", Engine: "fal", Style: "modern",
		Width: b.Dx(), Height: b.Dy(), Format: "png", SizeBytes: int64(full.Len()),
		BlobKey: blob.NewKey("images", ".png"), ThumbKey: blob.NewKey("thumbs", ".webp"),
		CreatedAt: time.Now().UnixMilli()}
	if err := r.blobs.Put(ctx, im.BlobKey, full); err != nil {
		return err
	}
	if err := r.blobs.Put(ctx, im.ThumbKey, thumb); err != nil {
		return err
	}
	return g.Add(ctx, im)
}

// thumbnailOnly decodes data and writes its WebP thumbnail, nothing more.
func thumbnailOnly(data []byte) error {
	res, err := outbound.Decode(data, media.Limits{})
	if err != nil {
		return err
	}
	return media.Encode(io.Discard, media.Thumbnail(res.Image, generation.ThumbSide),
		media.WebP, 80)
}

// webpPath says which WebP implementation this process uses.
func webpPath() string {
	if err := webp.Dynamic(); err != nil {
		return "(WebAssembly build: the system libwebp was not loaded: " + err.Error() + ")"
	}
	return "(the system's shared library, loaded at run time)"
}

// providerPNG returns a 1024x1024 PNG of photographic content, as a provider would send:
// a shared test photo scaled up, or a rendered picture when the photos are absent.
func providerPNG(testdata string) ([]byte, error) {
	var src image.Image
	f, err := os.Open(filepath.Join(testdata, "photos", "gps-DSCN0010.jpg"))
	if err == nil {
		src, err = jpeg.Decode(f)
		f.Close()
	}
	if err != nil {
		src, err = engine.Render(engine.Params{Prompt: "a harbour at dusk", Style: "realistic",
			Width: 1024, Height: 1024, Seed: 3})
		if err != nil {
			return nil, err
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, 1024, 1024))
	draw.CatmullRom.Scale(dst, dst.Rect, src, src.Bounds(), draw.Src, nil)
	var b bytes.Buffer
	if err := png.Encode(&b, dst); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// bombRows measures refusing each pixel bomb of testdata/attacks through the upload
// pipeline against accepting valid_tiny.png, in time and in bytes allocated per file.
func (r *rig) bombRows(ctx context.Context, testdata string) ([]Row, error) {
	attacks := filepath.Join(testdata, "attacks")
	tiny, err := os.ReadFile(filepath.Join(attacks, "valid_tiny.png"))
	if err != nil {
		return []Row{{Run: inProcess, Scenario: "refusing pixel bombs",
			Skipped: "the shared test data is missing: " + err.Error()}}, nil
	}
	ups := r.app.Training.Uploads
	ref, refAlloc, err := measure(func() error {
		_, err := ups.Accept(ctx, r.user, "tiny.png", bytes.NewReader(tiny))
		return err
	}, 20, time.Second)
	if err != nil {
		return nil, fmt.Errorf("accept valid_tiny.png: %w", err)
	}

	bombs, _ := filepath.Glob(filepath.Join(attacks, "bomb_*"))
	var rows []Row
	for _, path := range bombs {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(path)
		took, alloc, err := measure(func() error {
			if _, err := ups.Accept(ctx, r.user, name, bytes.NewReader(data)); err == nil {
				return errors.New(name + " was accepted")
			}
			return nil
		}, 20, time.Second)
		if err != nil {
			return nil, err
		}

		reference := fmt.Sprintf("valid_tiny.png accepted: %s, %s", ms(ref), mb(refAlloc))
		ratio := Ratio(float64(took), float64(ref))
		rows = append(rows,
			Row{Run: inProcess, Scenario: "refusing " + name + ": time", Figure: ms(took),
				Reference: reference, Ratio: ratio, Value: ratio,
				Target: Target{AtMost, 10, "<= 10x the reference"}},
			Row{Run: inProcess, Scenario: "refusing " + name + ": memory",
				Figure: mb(alloc) + " allocated", Reference: reference,
				Ratio: Ratio(alloc, refAlloc), Value: alloc / (1 << 20),
				Target: Target{Below, 10, "< 10 MB"}})
	}
	return rows, nil
}
