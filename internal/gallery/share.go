package gallery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// Share is the link that opens one image to anyone who holds it. Its token is 20 random
// bytes, so links cannot be guessed or listed; the owner may end it at any time.
type Share struct {
	Token      string `db:"token" json:"-"`
	ImageID    string `db:"image_id" json:"image_id"`
	UserID     int64  `db:"user_id" json:"-"`
	ShowPrompt bool   `db:"show_prompt" json:"show_prompt"`
	CreatedAt  int64  `db:"created_at" json:"created_at"`
}

// shareTokenLen is the length of a share token: 20 bytes in hexadecimal.
const shareTokenLen = 40

// ErrNoShare answers a share link that does not exist, was ended, or whose owner's
// account is not active. It says nothing about which.
var ErrNoShare = fault.New(fault.NotFound, "This link does not lead to an image: its "+
	"owner may have stopped sharing it.")

// ShareImage opens userID's image id to anyone with its link and returns the share. An
// image shared already keeps its link; showPrompt replaces the earlier choice.
func (g *Gallery) ShareImage(ctx context.Context, userID int64, id string, showPrompt bool) (
	*Share, error) {
	if _, err := g.Get(ctx, userID, id); err != nil {
		return nil, err
	}
	token, err := shareToken()
	if err != nil {
		return nil, err
	}
	q := g.db.Rebind(`INSERT INTO image_shares (token, image_id, user_id, show_prompt,
		created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (image_id) DO UPDATE SET show_prompt = excluded.show_prompt`)
	if _, err := g.db.ExecContext(ctx, q, token, id, userID, showPrompt,
		time.Now().UnixMilli()); err != nil {
		return nil, fmt.Errorf("share image: %w", err)
	}
	sh, err := g.ShareOf(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if sh == nil {
		return nil, ErrNotFound // deleted in the meantime
	}
	return sh, nil
}

// ShareOf returns the share of userID's image id, or nil when it is not shared.
func (g *Gallery) ShareOf(ctx context.Context, userID int64, id string) (*Share, error) {
	var sh Share
	q := g.db.Rebind(`SELECT token, image_id, user_id, show_prompt, created_at
		FROM image_shares WHERE image_id = ? AND user_id = ?`)
	err := g.db.GetContext(ctx, &sh, q, id, userID)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read share: %w", err)
	}
	return &sh, nil
}

// Unshare ends the link of userID's image id. It reports ErrNotFound for an image that
// is not the caller's, and succeeds for one that was not shared.
func (g *Gallery) Unshare(ctx context.Context, userID int64, id string) (bool, error) {
	if _, err := g.Get(ctx, userID, id); err != nil {
		return false, err
	}
	q := g.db.Rebind(`DELETE FROM image_shares WHERE image_id = ? AND user_id = ?`)
	res, err := g.db.ExecContext(ctx, q, id, userID)
	if err != nil {
		return false, fmt.Errorf("unshare image: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Shared returns the image a share link opens, with its share. A link whose owner's
// account is disabled or waiting for approval opens nothing until the account is active.
func (g *Gallery) Shared(ctx context.Context, token string) (*Image, *Share, error) {
	if len(token) != shareTokenLen || !validID(token) {
		return nil, nil, ErrNoShare
	}
	var im Image
	var sh Share
	q := g.db.Rebind(`SELECT i.id, i.user_id, i.job_id, i.prompt, i.negative_prompt,
		i.model, i.engine, i.style, i.width, i.height, i.seed, i.format, i.blob_key,
		i.thumb_key, i.size_bytes, i.created_at, s.token, s.show_prompt, s.created_at
		FROM image_shares s JOIN images i ON i.id = s.image_id
		JOIN users u ON u.id = s.user_id
		WHERE s.token = ? AND u.status = 'active'`)
	err := g.db.QueryRowContext(ctx, q, token).Scan(&im.ID, &im.UserID, &im.JobID,
		&im.Prompt, &im.NegativePrompt, &im.Model, &im.Engine, &im.Style, &im.Width,
		&im.Height, &im.Seed, &im.Format, &im.BlobKey, &im.ThumbKey, &im.SizeBytes,
		&im.CreatedAt, &sh.Token, &sh.ShowPrompt, &sh.CreatedAt)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, nil, ErrNoShare
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read shared image: %w", err)
	}
	sh.ImageID, sh.UserID = im.ID, im.UserID
	return &im, &sh, nil
}

// shareToken returns a new share link token.
func shareToken() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("share token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
