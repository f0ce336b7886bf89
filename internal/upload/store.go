package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// store cleans the spooled image at path and keeps it: the cleaned file and its two
// thumbnails under fresh random keys, and its record. name is the client's file name (for
// the extension check and display), msgName how refusals name it.
func (s *Service) store(ctx context.Context, userID int64, batch, name, msgName,
	path string) (*Upload, error) {
	s.slots <- struct{}{}
	defer func() { <-s.slots }()

	c, err := s.clean(name, msgName, path)
	if err != nil {
		return nil, err
	}
	thumb, preview, err := thumbnails(c.Image)
	if err != nil {
		return nil, err
	}

	u := &Upload{
		ID: newID(), UserID: userID, BatchID: batch, DisplayName: c.DisplayName,
		Format: string(c.Format), Width: c.Width, Height: c.Height,
		SizeBytes: int64(len(c.Bytes)), BlobKey: blob.NewKey("uploads", c.Format.Ext()),
		ThumbKey: blob.NewKey("thumbs", ".webp"), PreviewKey: blob.NewKey("thumbs", ".webp"),
		CreatedAt: s.opts.Now().UnixMilli(),
	}
	if err := s.put(ctx, u, c.Bytes, thumb, preview); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, u); err != nil {
		s.deleteBlobs(ctx, u)
		return nil, err
	}
	return u, nil
}

// clean runs the media pipeline over the spooled file.
func (s *Service) clean(name, msgName, path string) (*media.Cleaned, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open spooled upload: %w", err)
	}
	defer f.Close()

	c, err := media.Clean(f, name, s.opts.Limits)
	if err != nil {
		return nil, refusal(msgName, err)
	}
	return c, nil
}

// thumbnails encodes the two WebP thumbnails of img. The small one is scaled from the
// preview rather than from the full picture: the filter's working memory grows with the
// source's height, and the preview is a fraction of a large photo's.
func thumbnails(img image.Image) (thumb, preview []byte, err error) {
	large := media.Thumbnail(img, PreviewSide)
	var t, p bytes.Buffer
	if err := media.Encode(&p, large, media.WebP, thumbQuality); err != nil {
		return nil, nil, fmt.Errorf("encode preview: %w", err)
	}
	if err := media.Encode(&t, media.Thumbnail(large, ThumbSide), media.WebP,
		thumbQuality); err != nil {
		return nil, nil, fmt.Errorf("encode thumbnail: %w", err)
	}
	return t.Bytes(), p.Bytes(), nil
}

// put stores the three files of u, removing what it stored when one fails.
func (s *Service) put(ctx context.Context, u *Upload, full, thumb, preview []byte) error {
	files := []struct {
		key  string
		data []byte
	}{{u.BlobKey, full}, {u.ThumbKey, thumb}, {u.PreviewKey, preview}}
	for _, f := range files {
		if err := s.blobs.Put(ctx, f.key, bytes.NewReader(f.data)); err != nil {
			s.deleteBlobs(ctx, u)
			return fmt.Errorf("store upload: %w", err)
		}
	}
	return nil
}

func (s *Service) deleteBlobs(ctx context.Context, u *Upload) {
	for _, key := range []string{u.BlobKey, u.ThumbKey, u.PreviewKey} {
		if err := s.blobs.Delete(context.WithoutCancel(ctx), key); err != nil {
			s.opts.Log.Error("upload file not deleted", "upload_id", u.ID, "error", err)
		}
	}
}

const uploadColumns = `id, user_id, batch_id, display_name, format, width, height, size_bytes,
	blob_key, thumb_key, preview_key, created_at`

func (s *Service) insert(ctx context.Context, u *Upload) error {
	q := s.db.Rebind(`INSERT INTO uploads (` + uploadColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	_, err := s.db.ExecContext(ctx, q, u.ID, u.UserID, u.BatchID, u.DisplayName, u.Format,
		u.Width, u.Height, u.SizeBytes, u.BlobKey, u.ThumbKey, u.PreviewKey, u.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert upload: %w", err)
	}
	return nil
}

// ErrNotFound answers an upload that does not exist or is not the caller's.
var ErrNotFound = fault.New(fault.NotFound, "That upload does not exist. Upload the image "+
	"again.")

// Get returns userID's upload id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, userID int64, id string) (*Upload, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var u Upload
	err := s.db.GetContext(ctx, &u, s.db.Rebind(`SELECT `+uploadColumns+` FROM uploads
		WHERE id = ? AND user_id = ?`), id, userID)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get upload: %w", err)
	}
	return &u, nil
}

// GetMany returns userID's uploads ids in the order given. One id that is not the user's,
// or given twice, refuses the whole list.
func (s *Service) GetMany(ctx context.Context, userID int64, ids []string) ([]*Upload, error) {
	seen := map[string]bool{}
	for _, id := range ids {
		if !validID(id) {
			return nil, ErrNotFound
		}
		if seen[id] {
			return nil, fault.Field("upload_ids", "The same upload is listed twice.")
		}
		seen[id] = true
	}
	if len(ids) == 0 {
		return nil, nil
	}

	q, args, err := sqlx.In(`SELECT `+uploadColumns+` FROM uploads
		WHERE user_id = ? AND id IN (?)`, userID, ids)
	if err != nil {
		return nil, fmt.Errorf("build upload query: %w", err)
	}
	var found []*Upload
	if err := s.db.SelectContext(ctx, &found, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("get uploads: %w", err)
	}
	return inOrder(found, ids)
}

// inOrder orders found like ids, or answers ErrNotFound when one is missing.
func inOrder(found []*Upload, ids []string) ([]*Upload, error) {
	byID := make(map[string]*Upload, len(found))
	for _, u := range found {
		byID[u.ID] = u
	}
	out := make([]*Upload, 0, len(ids))
	for _, id := range ids {
		u, ok := byID[id]
		if !ok {
			return nil, ErrNotFound
		}
		out = append(out, u)
	}
	return out, nil
}

// Batch returns the uploads of userID that arrived in the archive batch, oldest first.
func (s *Service) Batch(ctx context.Context, userID int64, batch string) ([]*Upload, error) {
	if !validID(batch) {
		return nil, ErrNotFound
	}
	var out []*Upload
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+uploadColumns+` FROM uploads
		WHERE user_id = ? AND batch_id = ? ORDER BY created_at, id`), userID, batch)
	if err != nil {
		return nil, fmt.Errorf("get upload batch: %w", err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// Size picks one of the stored files of an upload.
type Size int

// The stored files of an upload.
const (
	Original Size = iota // the cleaned image
	Thumb                // WebP, ThumbSide pixels
	Preview              // WebP, PreviewSide pixels
)

// Open returns one of the stored files of u and its size.
func (s *Service) Open(ctx context.Context, u *Upload, size Size) (blob.File, int64, error) {
	key := u.BlobKey
	switch size {
	case Thumb:
		key = u.ThumbKey
	case Preview:
		key = u.PreviewKey
	}
	f, n, err := s.blobs.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, ErrNotFound
	}
	return f, n, err
}

// Discard deletes userID's uploads ids and their files; ids not the user's are ignored.
func (s *Service) Discard(ctx context.Context, userID int64, ids []string) error {
	for _, id := range ids {
		u, err := s.Get(ctx, userID, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		_, err = s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM uploads WHERE id = ?`), id)
		if err != nil {
			return fmt.Errorf("delete upload: %w", err)
		}
		s.deleteBlobs(ctx, u)
	}
	return nil
}

// ids returns the ids of uploads.
func ids(uploads []*Upload) []string {
	out := make([]string, len(uploads))
	for i, u := range uploads {
		out[i] = u.ID
	}
	return out
}

// quote shows an archive entry's name in a message: valid UTF-8, without control
// characters, at most 80 bytes, quoted.
func quote(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, clip(name, 80))
	return "“" + name + "”"
}
