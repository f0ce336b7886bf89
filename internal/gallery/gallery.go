// Package gallery keeps each user's generated images: their records in the database and
// their files in blob storage. Every lookup is scoped to the owner, so another user's image
// is simply not found.
package gallery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/blob"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// Image is one generated picture.
type Image struct {
	ID             string `db:"id" json:"id"`
	UserID         int64  `db:"user_id" json:"-"`
	JobID          string `db:"job_id" json:"job_id"`
	Prompt         string `db:"prompt" json:"prompt"`
	NegativePrompt string `db:"negative_prompt" json:"negative_prompt,omitempty"`
	Model          string `db:"model" json:"model"`
	Engine         string `db:"engine" json:"engine"`
	Style          string `db:"style" json:"art_style"`
	Width          int    `db:"width" json:"width"`
	Height         int    `db:"height" json:"height"`
	Seed           int64  `db:"seed" json:"seed"`
	Format         string `db:"format" json:"format"`
	BlobKey        string `db:"blob_key" json:"-"`
	ThumbKey       string `db:"thumb_key" json:"-"`
	SizeBytes      int64  `db:"size_bytes" json:"size_bytes"`
	CreatedAt      int64  `db:"created_at" json:"-"`
}

// Created returns when the image was made.
func (im *Image) Created() time.Time { return time.UnixMilli(im.CreatedAt).UTC() }

const imageColumns = `id, user_id, job_id, prompt, negative_prompt, model, engine, style,
	width, height, seed, format, blob_key, thumb_key, size_bytes, created_at`

// ErrNotFound answers any image that does not exist or is not the caller's.
var ErrNotFound = fault.New(fault.NotFound, "That image does not exist.")

// Gallery stores image records and their files.
type Gallery struct {
	db     *database.DB
	blobs  blob.Store
	log    *slog.Logger
	pages  *lru.Cache[pageKey, *Page]   // listings by the owner's gallery version
	images *lru.Cache[imageKey, *Image] // single images, the same way
	thumbs *lru.Cache[string, []byte]   // small thumbnail files by storage key
}

// imageKey names one cached image record, read under the owner's gallery version.
type imageKey struct {
	userID, version int64
	id              string
}

// pageKey names one cached listing. version is the owner's users.gallery_version when it
// was read, which every change to their images counts up in the same transaction, so a
// listing is never served once the images it shows have changed, whichever instance
// changed them.
type pageKey struct {
	userID, version int64
	filter          Filter
	page, limit     int
}

// Cache bounds: listings kept, and the prompt text a listing may hold to be kept, so that
// the cache stays within a few tens of megabytes however long the prompts. Searches are
// rarely repeated and are not kept at all.
const (
	pageCacheSize    = 256
	pageCachePrompts = 64 << 10
)

// Cache bounds for single images and thumbnails. A prompt is at most 2,000 characters
// (generation.MaxPromptRunes), so the image records stay within 16 MB even at their
// longest, and the thumbnails, 256-pixel WebP pictures, within 32 MB.
const (
	imageCacheSize = 1024
	thumbCacheSize = 512
	thumbCacheMax  = 64 << 10
)

// New returns a gallery over db and blobs.
func New(db *database.DB, blobs blob.Store, log *slog.Logger) *Gallery {
	return &Gallery{db: db, blobs: blobs, log: log, pages: mustLRU[pageKey, *Page](pageCacheSize),
		images: mustLRU[imageKey, *Image](imageCacheSize),
		thumbs: mustLRU[string, []byte](thumbCacheSize)}
}

func mustLRU[K comparable, V any](size int) *lru.Cache[K, V] {
	c, err := lru.New[K, V](size)
	if err != nil {
		panic(err) // only for a size below one
	}
	return c
}

// Add records an image whose files are already stored.
func (g *Gallery) Add(ctx context.Context, im *Image) error {
	return g.db.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := bumpVersion(ctx, tx, im.UserID); err != nil {
			return err
		}
		q := tx.Rebind(`INSERT INTO images (` + imageColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		_, err := tx.ExecContext(ctx, q, im.ID, im.UserID, im.JobID, im.Prompt,
			im.NegativePrompt, im.Model, im.Engine, im.Style, im.Width, im.Height, im.Seed,
			im.Format, im.BlobKey, im.ThumbKey, im.SizeBytes, im.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert image: %w", err)
		}
		return nil
	})
}

// bumpVersion counts up userID's gallery version, retiring their cached listings. It runs
// first in its transaction, so the user's row is locked for update before the image's
// foreign key takes a share lock on it: taking the weaker lock first and upgrading it is
// how rows deadlock on PostgreSQL, and one add of issue 8's 1,000 jobs failed that way
// when it inserted first.
func bumpVersion(ctx context.Context, tx *sqlx.Tx, userID int64) error {
	q := tx.Rebind(`UPDATE users SET gallery_version = gallery_version + 1 WHERE id = ?`)
	if _, err := tx.ExecContext(ctx, q, userID); err != nil {
		return fmt.Errorf("count up gallery version: %w", err)
	}
	return nil
}

// version returns userID's gallery version, and false when there is no such user.
func (g *Gallery) version(ctx context.Context, userID int64) (int64, bool, error) {
	var v int64
	q := g.db.Rebind(`SELECT gallery_version FROM users WHERE id = ?`)
	err := g.db.QueryRowContext(ctx, q, userID).Scan(&v)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read gallery version: %w", err)
	}
	return v, true, nil
}

// Filter narrows a listing.
type Filter struct {
	Model  string
	Style  string
	Search string // words in the prompt
	JobID  string
}

// Page is one page of a user's images, newest first.
type Page struct {
	Images []Image
	Total  int
	Page   int
	Limit  int
}

// clone returns a copy of p whose images can be changed without touching p's.
func (p *Page) clone() *Page {
	c := *p
	c.Images = append([]Image(nil), p.Images...)
	return &c
}

func (p *Page) promptBytes() int {
	n := 0
	for i := range p.Images {
		n += len(p.Images[i].Prompt)
	}
	return n
}

// Pages returns the number of pages.
func (p *Page) Pages() int {
	if p.Total == 0 {
		return 1
	}
	return (p.Total + p.Limit - 1) / p.Limit
}

// List returns page (from 1) of userID's images, limit per page, with the fields a listing
// shows: the storage keys, negative prompt and size are left empty (Get has them).
func (g *Gallery) List(ctx context.Context, userID int64, f Filter, page, limit int) (
	*Page, error) {
	version, exists, err := g.version(ctx, userID)
	if err != nil {
		return nil, err
	}
	return g.list(ctx, userID, version, exists, f, page, limit)
}

// ListSeen is List for a caller who has read the owner's gallery version already, with
// their account (account.User.GalleryVersion): the listing is at least as new as that
// version, and comes from the cache without another query when it was read under it.
func (g *Gallery) ListSeen(ctx context.Context, userID, version int64, f Filter, page,
	limit int) (*Page, error) {
	return g.list(ctx, userID, version, true, f, page, limit)
}

// list answers List under the owner's version, which is cached only when they exist.
func (g *Gallery) list(ctx context.Context, userID, version int64, exists bool, f Filter,
	page, limit int) (*Page, error) {
	where, args := "user_id = ?", []any{userID}
	if f.Model != "" {
		where, args = where+" AND model = ?", append(args, f.Model)
	}
	if f.Style != "" {
		where, args = where+" AND style = ?", append(args, f.Style)
	}
	if f.JobID != "" {
		where, args = where+" AND job_id = ?", append(args, f.JobID)
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		where = where + " AND LOWER(prompt) LIKE ? ESCAPE '\\'"
		args = append(args, "%"+escapeLike(strings.ToLower(s))+"%")
	}

	// A listing seen under the owner's current gallery version is still exact: reading
	// that version is one point query, or none when the session read it (ListSeen),
	// against a count and a page of rows (issue 8). A listing read after the version was
	// is at least as new as it, so caching it under that version is safe.
	key := pageKey{userID: userID, version: version, filter: f, page: page, limit: limit}
	if pg, ok := g.pages.Get(key); ok {
		return pg.clone(), nil
	}

	out, err := g.read(ctx, userID, where, args, page, limit)
	if err != nil {
		return nil, err
	}
	if exists && strings.TrimSpace(f.Search) == "" && out.promptBytes() <= pageCachePrompts {
		g.pages.Add(key, out.clone())
	}
	return out, nil
}

// read counts the images matching where and reads one page of them.
func (g *Gallery) read(ctx context.Context, userID int64, where string, args []any,
	page, limit int) (*Page, error) {
	out := &Page{Page: page, Limit: limit}
	q := g.db.Rebind(`SELECT COUNT(*) FROM images WHERE ` + where)
	err := g.db.QueryRowContext(ctx, q, args...).Scan(&out.Total)
	if err != nil {
		return nil, fmt.Errorf("count images: %w", err)
	}

	// The order is the index's (images_user: user_id, created_at DESC, id), so a page is
	// read straight from it; ordering ties by id DESC made SQLite sort every image the
	// user has on each page (issue 8). Ties are pictures of one request, in no set order.
	q = g.db.Rebind(`SELECT ` + listColumns + ` FROM images WHERE ` + where +
		` ORDER BY created_at DESC, id LIMIT ? OFFSET ?`)
	args = append(args, limit, (page-1)*limit)
	if out.Images, err = g.rows(ctx, userID, limit, q, args...); err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	return out, nil
}

// listColumns are the columns a listing shows. The storage keys, the negative prompt and
// the size stay unread: each column of each row costs the pure-Go SQLite two mutex calls,
// a tenth of a gallery page's time (issue 8).
const listColumns = `id, job_id, prompt, model, engine, style, width, height, seed, format,
	created_at`

// rows runs q, which selects listColumns of userID's images, reading up to capHint rows.
func (g *Gallery) rows(ctx context.Context, userID int64, capHint int, q string,
	args ...any) ([]Image, error) {
	rows, err := g.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	out := make([]Image, 0, capHint)
	for rows.Next() {
		out = append(out, Image{UserID: userID})
		im := &out[len(out)-1]
		err := rows.Scan(&im.ID, &im.JobID, &im.Prompt, &im.Model, &im.Engine, &im.Style,
			&im.Width, &im.Height, &im.Seed, &im.Format, &im.CreatedAt)
		if err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// scanImage reads a row of imageColumns into im. Gallery pages read fifty at a time, so
// the columns are spelled out rather than matched by reflection (issue 8).
func scanImage(row interface{ Scan(...any) error }, im *Image) error {
	return row.Scan(&im.ID, &im.UserID, &im.JobID, &im.Prompt, &im.NegativePrompt,
		&im.Model, &im.Engine, &im.Style, &im.Width, &im.Height, &im.Seed, &im.Format,
		&im.BlobKey, &im.ThumbKey, &im.SizeBytes, &im.CreatedAt)
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// Get returns userID's image id, or ErrNotFound.
func (g *Gallery) Get(ctx context.Context, userID int64, id string) (*Image, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	return g.get(ctx, userID, id)
}

// GetSeen is Get for a caller who has read the owner's gallery version already, as
// ListSeen: an image read under that version is answered from the cache. A deleted image
// is never served from it, since its deletion counted the version up.
func (g *Gallery) GetSeen(ctx context.Context, userID, version int64, id string) (*Image,
	error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	key := imageKey{userID: userID, version: version, id: id}
	if im, ok := g.images.Get(key); ok {
		c := *im
		return &c, nil
	}
	im, err := g.get(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	c := *im
	g.images.Add(key, &c)
	return im, nil
}

func (g *Gallery) get(ctx context.Context, userID int64, id string) (*Image, error) {
	var im Image
	q := g.db.Rebind(`SELECT ` + imageColumns + ` FROM images WHERE id = ? AND user_id = ?`)
	err := scanImage(g.db.QueryRowContext(ctx, q, id, userID), &im)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get image: %w", err)
	}
	return &im, nil
}

// Delete removes userID's image id and every stored variant of it.
func (g *Gallery) Delete(ctx context.Context, userID int64, id string) error {
	_, err := g.Remove(ctx, userID, id)
	return err
}

// Remove is Delete that also reports whether the image was shared: its share link ends
// in the same transaction.
func (g *Gallery) Remove(ctx context.Context, userID int64, id string) (wasShared bool,
	err error) {
	im, err := g.Get(ctx, userID, id)
	if err != nil {
		return false, err
	}
	err = g.db.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := bumpVersion(ctx, tx, userID); err != nil {
			return err
		}
		q := tx.Rebind(`DELETE FROM image_shares WHERE image_id = ? AND user_id = ?`)
		res, err := tx.ExecContext(ctx, q, id, userID)
		if err != nil {
			return fmt.Errorf("end share: %w", err)
		}
		n, _ := res.RowsAffected()
		wasShared = n > 0
		q = tx.Rebind(`DELETE FROM images WHERE id = ? AND user_id = ?`)
		if _, err := tx.ExecContext(ctx, q, id, userID); err != nil {
			return fmt.Errorf("delete image: %w", err)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	g.removeFiles(ctx, im)
	return wasShared, nil
}

// DeleteAll removes every image of userID, for account deletion.
func (g *Gallery) DeleteAll(ctx context.Context, userID int64) error {
	var ims []Image
	q := g.db.Rebind(`SELECT ` + imageColumns + ` FROM images WHERE user_id = ?`)
	if err := g.db.SelectContext(ctx, &ims, q, userID); err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	err := g.db.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := bumpVersion(ctx, tx, userID); err != nil {
			return err
		}
		q := tx.Rebind(`DELETE FROM images WHERE user_id = ?`)
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return fmt.Errorf("delete images: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range ims {
		g.removeFiles(ctx, &ims[i])
	}
	return nil
}

// removeFiles deletes an image's files. The record is already gone, so a failure here
// leaves an orphan file that nobody can reach; it is logged, not returned. A client that
// goes away does not stop it: on object storage each deletion is a request of its own.
func (g *Gallery) removeFiles(ctx context.Context, im *Image) {
	ctx = context.WithoutCancel(ctx)
	for _, key := range append([]string{im.BlobKey, im.ThumbKey}, variantKeys(im)...) {
		if key == "" {
			continue
		}
		if err := g.blobs.Delete(ctx, key); err != nil {
			g.log.Warn("image file not removed", "image_id", im.ID, "error", err)
		}
	}
}

// Open returns the stored original or thumbnail of an image the caller already holds.
func (g *Gallery) Open(ctx context.Context, im *Image, thumb bool) (blob.File, int64, error) {
	key := im.BlobKey
	if thumb {
		key = im.ThumbKey
	}
	f, size, err := g.blobs.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, ErrNotFound
	}
	return f, size, err
}

// OpenThumb returns im's thumbnail. Thumbnails never change, and are deleted only with
// their image, which callers have just found (GetSeen), so the small ones are kept in
// memory: a gallery page asks for fifty at once, and on S3 each would be a round trip.
func (g *Gallery) OpenThumb(ctx context.Context, im *Image) (io.ReadSeekCloser, error) {
	if b, ok := g.thumbs.Get(im.ThumbKey); ok {
		return nopCloser{bytes.NewReader(b)}, nil
	}
	f, size, err := g.Open(ctx, im, true)
	if err != nil || size > thumbCacheMax {
		return f, err
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("read thumbnail: %w", err)
	}
	g.thumbs.Add(im.ThumbKey, b)
	return nopCloser{bytes.NewReader(b)}, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// Count returns how many images userID has.
func (g *Gallery) Count(ctx context.Context, userID int64) (int, error) {
	var n int
	q := g.db.Rebind(`SELECT COUNT(*) FROM images WHERE user_id = ?`)
	if err := g.db.GetContext(ctx, &n, q, userID); err != nil {
		return 0, fmt.Errorf("count images: %w", err)
	}
	return n, nil
}

// validID reports whether id has the form of an image id, so junk never reaches SQL.
func validID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
