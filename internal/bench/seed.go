package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/cli"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/engine"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// Password is the password of every account the benchmark makes.
const Password = "lantern harbour quiet 42"

// galleryImages is the gallery user's image count the scenarios ask for.
const galleryImages = 500

// Seeded names the accounts and files a run prepared.
type Seeded struct {
	GalleryUser string   // owns galleryImages images
	SignInUsers []string // sign in over and over during the flood
	JobUsers    []string // submit the generation jobs, with credits for them
	UploadUser  string   // sends the uploads
	ThumbID     string   // an image of GalleryUser whose thumbnail is downloaded
	ThumbFile   string   // the same thumbnail's bytes, for the bare file server
}

// seedAccounts wires the application on the run's database exactly as the server will
// (same environment), then creates the accounts and the gallery user's images through the
// services. It runs before the server starts, so nothing else writes at the same time.
func seedAccounts(ctx context.Context, env map[string]string, dir string, jobUsers,
	credits int) (*Seeded, error) {
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "")
	if err != nil {
		return nil, err
	}
	app, err := cli.Build(ctx, cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		return nil, fmt.Errorf("build the application to seed it: %w", err)
	}
	defer app.Close()

	s := &Seeded{GalleryUser: "gallery@bench.example", UploadUser: "upload@bench.example"}
	for i := range 4 {
		s.SignInUsers = append(s.SignInUsers, fmt.Sprintf("signin%d@bench.example", i))
	}
	for i := range jobUsers {
		s.JobUsers = append(s.JobUsers, fmt.Sprintf("jobs%d@bench.example", i))
	}

	ids := map[string]int64{}
	all := append(append([]string{s.GalleryUser, s.UploadUser}, s.SignInUsers...),
		s.JobUsers...)
	for _, email := range all {
		plan := "" // the default, free
		if email == s.UploadUser {
			plan = "professional" // the plan whose features include style training
		}
		u, err := app.Accounts.Create(ctx, account.NewUser{Email: email, Password: Password,
			Plan: plan})
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", email, err)
		}
		ids[email] = u.ID
	}
	for _, email := range s.JobUsers {
		if err := app.Credits.Set(ctx, ids[email], credit.Milli(credits*1000), 0,
			"benchmark"); err != nil {
			return nil, fmt.Errorf("give %s credits: %w", email, err)
		}
	}

	blobs, err := blob.NewDisk(filepath.Join(cfg.DataDir, "files"))
	if err != nil {
		return nil, err
	}
	g := gallery.New(app.DB, blobs, slog.New(slog.DiscardHandler))
	s.ThumbID, err = seedImages(ctx, g, blobs, ids[s.GalleryUser])
	if err != nil {
		return nil, err
	}
	s.ThumbFile = filepath.Join(dir, "thumb.webp")
	return s, copyThumb(ctx, g, ids[s.GalleryUser], s.ThumbID, s.ThumbFile)
}

// picture is one rendered image with its stored forms.
type picture struct {
	png, thumb []byte
	side       int
	style      string
}

// seedImages stores galleryImages images for userID, cycling through a few pictures
// rendered by the built-in engine, each copy under its own keys as a generation would
// leave it, and returns the id of the newest.
func seedImages(ctx context.Context, g *gallery.Gallery, blobs blob.Store,
	userID int64) (string, error) {
	pics, err := renderPictures(8, 512)
	if err != nil {
		return "", err
	}

	start := time.Now().Add(-time.Duration(galleryImages) * time.Minute)
	var newest string
	for i := range galleryImages {
		p := pics[i%len(pics)]
		im := &gallery.Image{
			ID: job.NewID(), UserID: userID, JobID: job.NewID(),
			Prompt: fmt.Sprintf("a lantern-lit harbour at dusk, study %d", i),
			Model:  "builtin", Engine: "builtin", Style: p.style, Width: p.side,
			Height: p.side, Seed: int64(i), Format: "png", SizeBytes: int64(len(p.png)),
			BlobKey: blob.NewKey("images", ".png"), ThumbKey: blob.NewKey("thumbs", ".webp"),
			CreatedAt: start.Add(time.Duration(i) * time.Minute).UnixMilli(),
		}
		if err := blobs.Put(ctx, im.BlobKey, bytes.NewReader(p.png)); err != nil {
			return "", err
		}
		if err := blobs.Put(ctx, im.ThumbKey, bytes.NewReader(p.thumb)); err != nil {
			return "", err
		}
		if err := g.Add(ctx, im); err != nil {
			return "", err
		}
		newest = im.ID
	}
	return newest, nil
}

// renderPictures renders n pictures of side pixels in turning styles, with their PNG and
// their WebP thumbnail made as the generation service makes them.
func renderPictures(n, side int) ([]picture, error) {
	styles := engine.Styles()
	var out []picture
	for i := range n {
		style := styles[i%len(styles)]
		img, err := engine.Render(engine.Params{Prompt: "a lantern-lit harbour at dusk",
			Style: style, Width: side, Height: side, Seed: uint32(i + 1)})
		if err != nil {
			return nil, fmt.Errorf("render seed picture: %w", err)
		}
		full, thumb, err := generation.EncodePicture(img, media.PNG, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, picture{png: full.Bytes(), thumb: thumb.Bytes(), side: side,
			style: style})
	}
	return out, nil
}

// copyThumb writes the stored thumbnail of image id to path.
func copyThumb(ctx context.Context, g *gallery.Gallery, userID int64, id, path string) error {
	im, err := g.Get(ctx, userID, id)
	if err != nil {
		return err
	}
	f, _, err := g.Open(ctx, im, true)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFrom(path, f)
}
