package generation_test

import (
	"context"
	"errors"
	"image"
	"image/color"
	_ "image/png"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/engine"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
)

// greens is a style source whose only style, "mystyle", paints in greens.
type greens struct {
	asked []string
	err   error
}

var greenPalette = []color.NRGBA{{20, 90, 30, 255}, {60, 160, 70, 255}, {140, 210, 120, 255},
	{10, 50, 20, 255}, {200, 240, 190, 255}}

func (g *greens) ProfileFor(_ context.Context, _ int64, prompt string) (*engine.Profile,
	error) {
	g.asked = append(g.asked, prompt)
	if g.err != nil || !strings.Contains(prompt, "mystyle") {
		return nil, g.err
	}
	return &engine.Profile{Palette: greenPalette, Contrast: 0.2, Saturation: 0.5,
		Texture: 0.05}, nil
}

// renderWith generates one small image of prompt and returns it decoded.
func renderWith(t *testing.T, styles generation.StyleSource, prompt string) (image.Image,
	error) {
	t.Helper()
	db := dbtest.SQLite(t)
	now := time.Now
	blobs, err := blob.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	jobs := job.NewStore(db, now)
	g := gallery.New(db, blobs, slog.New(slog.DiscardHandler))
	svc := generation.New(db, jobs, credit.New(db, now), g, blobs, func() {}, now)
	if styles != nil {
		svc.UseStyles(styles)
	}

	var uid int64
	err = db.GetContext(context.Background(), &uid, db.Rebind(`INSERT INTO users (email,
		credits, created_at, updated_at) VALUES ('s@example.com', 10000, 0, 0) RETURNING id`))
	if err != nil {
		t.Fatal(err)
	}
	p := &generation.Params{Prompt: prompt, Model: generation.DefaultModel, Style: "modern",
		Width: 256, Height: 256, NumImages: 1, Format: "png", Seed: 7}
	sub, err := svc.Submit(context.Background(), uid, p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := svc.Run(context.Background(), sub.Job, func(int, string) {})
	if err != nil {
		return nil, err
	}
	if !strings.Contains(out.Result, `"images":["`) {
		t.Fatalf("result %s", out.Result)
	}
	pg, err := g.List(context.Background(), uid, gallery.Filter{}, 1, 10)
	if err != nil || len(pg.Images) != 1 {
		t.Fatalf("gallery: %v", err)
	}
	im, err := g.Get(context.Background(), uid, pg.Images[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := g.Open(context.Background(), im, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(io.Reader(f))
	if err != nil {
		t.Fatal(err)
	}
	return img, nil
}

// TestTrainedStyleRecoloursBuiltinImages checks that a prompt naming a trained style is
// rendered in that style's palette, and one that does not is left alone.
func TestTrainedStyleRecoloursBuiltinImages(t *testing.T) {
	src := &greens{}
	plain, err := renderWith(t, nil, "a harbour at dusk mystyle")
	if err != nil {
		t.Fatal(err)
	}
	styled, err := renderWith(t, src, "a harbour at dusk mystyle")
	if err != nil {
		t.Fatal(err)
	}
	dPlain := engine.PaletteDistance(plain, greenPalette)
	dStyled := engine.PaletteDistance(styled, greenPalette)
	t.Logf("distance to the style's palette: %.3f without the style, %.3f with it",
		dPlain, dStyled)
	if dStyled >= dPlain*0.8 {
		t.Errorf("the style did not pull the picture towards its palette: %.3f vs %.3f",
			dStyled, dPlain)
	}
	if len(src.asked) == 0 || src.asked[0] != "a harbour at dusk mystyle" {
		t.Errorf("the style source was asked %q", src.asked)
	}

	untouched, err := renderWith(t, src, "a harbour at dusk")
	if err != nil {
		t.Fatal(err)
	}
	plain2, _ := renderWith(t, nil, "a harbour at dusk")
	if engine.PaletteDistance(untouched, greenPalette) != engine.PaletteDistance(plain2,
		greenPalette) {
		t.Error("a prompt without the trigger word was restyled")
	}
}

func TestStyleLookupFailureFailsTheJob(t *testing.T) {
	src := &greens{err: errors.New("database gone")}
	if _, err := renderWith(t, src, "anything"); err == nil ||
		!strings.Contains(err.Error(), "trained style") {
		t.Fatalf("lookup failure: %v", err)
	}
}
