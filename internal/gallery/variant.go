package gallery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"

	"golang.org/x/sync/singleflight"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// variants makes concurrent requests for the same missing variant share one conversion.
var variants singleflight.Group

// variantKey is where the copy of image id in format f is kept.
func variantKey(id string, f media.Format) string {
	return "variants/" + id[:2] + "/" + id + f.Ext()
}

// OpenAs returns the image in format f: the stored file when it is already in f, and
// otherwise a converted copy that is made on the first request and kept, so that each image
// is converted at most once per format however often it is downloaded.
func (g *Gallery) OpenAs(ctx context.Context, im *Image, f media.Format) (blob.File, error) {
	if string(f) == im.Format {
		file, _, err := g.Open(ctx, im, false)
		return file, err
	}

	key := variantKey(im.ID, f)
	file, _, err := g.blobs.Open(ctx, key)
	if err == nil {
		return file, nil
	}
	if !errors.Is(err, blob.ErrNotFound) {
		return nil, err
	}

	_, err, _ = variants.Do(key, func() (any, error) {
		return nil, g.convert(context.WithoutCancel(ctx), im, f, key)
	})
	if err != nil {
		return nil, err
	}
	file, _, err = g.blobs.Open(ctx, key)
	return file, err
}

// convert decodes the stored original, encodes it in f and stores the copy under key.
func (g *Gallery) convert(ctx context.Context, im *Image, f media.Format, key string) error {
	src, _, err := g.Open(ctx, im, false)
	if err != nil {
		return err
	}
	defer src.Close()
	img, _, err := image.Decode(src)
	if err != nil {
		return fmt.Errorf("decode stored image: %w", err)
	}
	var buf bytes.Buffer
	if err := media.Encode(&buf, img, f, 90); err != nil {
		return fmt.Errorf("convert image: %w", err)
	}
	if err := g.blobs.Put(ctx, key, &buf); err != nil {
		return err
	}

	// A delete that ran meanwhile removed the image's files before this copy existed.
	// Looking for the record after storing the copy closes that gap: either the record is
	// gone and the copy goes now, or the delete's file removal comes later and takes it.
	var n int
	q := g.db.Rebind(`SELECT COUNT(*) FROM images WHERE id = ?`)
	if err := g.db.GetContext(ctx, &n, q, im.ID); err != nil {
		return fmt.Errorf("check converted image: %w", err)
	}
	if n == 0 {
		if err := g.blobs.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete converted copy of a deleted image: %w", err)
		}
		return ErrNotFound
	}
	return nil
}

// variantKeys lists every place a converted copy of im may be kept.
func variantKeys(im *Image) []string {
	if len(im.ID) < 2 {
		return nil
	}
	var keys []string
	for _, f := range []media.Format{media.PNG, media.JPEG, media.WebP} {
		keys = append(keys, variantKey(im.ID, f))
	}
	return keys
}
