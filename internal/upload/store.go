package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
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
	p, err := s.prepare(ctx, name, msgName, path)
	if err != nil {
		return nil, err
	}
	defer os.Remove(p.path)

	c := p.cleaned
	u := &Upload{
		ID: newID(), UserID: userID, BatchID: batch, DisplayName: c.DisplayName,
		Format: string(c.Format), Width: c.Width, Height: c.Height,
		SizeBytes: c.Size, BlobKey: blob.NewKey("uploads", c.Format.Ext()),
		ThumbKey: blob.NewKey("thumbs", ".webp"), PreviewKey: blob.NewKey("thumbs", ".webp"),
		CreatedAt: s.opts.Now().UnixMilli(),
	}
	if err := s.put(ctx, u, p); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, u); err != nil {
		s.deleteBlobs(ctx, u)
		return nil, err
	}
	return u, nil
}

// prepared is an image made ready to store: cleaned into a file beside its spooled upload,
// with its thumbnails encoded. Its pixels are not kept.
type prepared struct {
	cleaned        *media.Cleaned
	path           string // the cleaned file; the caller removes it
	thumb, preview []byte
}

// prepare cleans the spooled image at path and encodes its thumbnails once the admission
// lets its pixels into memory, and gives its share back as soon as the pixels are dropped.
// A request that ends while it waits for its turn is answered as unavailable.
func (s *Service) prepare(ctx context.Context, name, msgName, path string) (*prepared,
	error) {
	size, err := s.pixelBytes(name, msgName, path)
	if err != nil {
		return nil, err
	}
	done, err := s.decodes.admit(ctx, size)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, fmt.Sprintf("%s was not stored: the "+
			"upload was stopped while it waited for others to be processed. Please try "+
			"again.", msgName), err)
	}
	defer done()

	c, cleanPath, err := s.clean(name, msgName, path)
	if err != nil {
		return nil, err
	}
	thumb, preview, err := thumbnails(c.Image)
	if err != nil {
		os.Remove(cleanPath)
		return nil, err
	}
	c.Image = nil // the pixels go before the files are stored, and before done
	return &prepared{cleaned: c, path: cleanPath, thumb: thumb, preview: preview}, nil
}

// pixelBytes reads the header of the spooled image at path and returns how much memory
// its decoded pixels will take, refusing what the header alone shows to be unacceptable,
// so that a decompression bomb is turned away without waiting for its turn.
func (s *Service) pixelBytes(name, msgName, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open spooled upload: %w", err)
	}
	defer f.Close()

	h, err := media.ReadHeader(f, name, s.opts.Limits)
	if err != nil {
		return 0, refusal(msgName, err)
	}
	return h.PixelBytes, nil
}

// clean runs the media pipeline over the spooled file at path, writing the cleaned file to
// a new file beside it, whose path it returns.
func (s *Service) clean(name, msgName, path string) (*media.Cleaned, string, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("open spooled upload: %w", err)
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(path), "clean-*")
	if err != nil {
		return nil, "", fmt.Errorf("create cleaned upload: %w", err)
	}

	c, err := media.CleanTo(out, in, name, s.opts.Limits)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write cleaned upload: %w", cerr)
	}
	if err != nil {
		os.Remove(out.Name())
		return nil, "", refusal(msgName, err)
	}
	return c, out.Name(), nil
}

// thumbnails encodes the two WebP thumbnails of img. The small one is scaled from the
// preview rather than from the full picture, which has far more rows to filter.
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

// put stores the three files of u from p, removing what it stored when one fails.
func (s *Service) put(ctx context.Context, u *Upload, p *prepared) error {
	full, err := os.Open(p.path)
	if err != nil {
		return fmt.Errorf("open cleaned upload: %w", err)
	}
	defer full.Close()

	files := []struct {
		key string
		r   io.Reader
	}{{u.BlobKey, full}, {u.ThumbKey, bytes.NewReader(p.thumb)},
		{u.PreviewKey, bytes.NewReader(p.preview)}}
	for _, f := range files {
		if err := s.blobs.Put(ctx, f.key, f.r); err != nil {
			s.deleteBlobs(ctx, u)
			if ctx.Err() != nil {
				return fmt.Errorf("store upload: %w", err)
			}
			// The picture was fine; the store (a full disk, a bucket that is down) was not.
			return fault.Wrap(fault.Unavailable, "The upload could not be stored just now. "+
				"Please try again in a moment.", fmt.Errorf("store upload: %w", err))
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

// DeleteAll removes every upload of userID and its files, for account deletion. The rows
// go in one statement that names their files, so an upload stored meanwhile is either
// deleted with its files or kept whole.
func (s *Service) DeleteAll(ctx context.Context, userID int64) error {
	var gone []*Upload
	q := s.db.Rebind(`DELETE FROM uploads WHERE user_id = ?
		RETURNING id, blob_key, thumb_key, preview_key`)
	if err := s.db.SelectContext(ctx, &gone, q, userID); err != nil {
		return fmt.Errorf("delete uploads: %w", err)
	}
	for _, u := range gone {
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
