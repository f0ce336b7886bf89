package moderation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// FlagFilter selects flagged prompts. Zero fields select everything; Limit is 50 when not
// positive and at most 200.
type FlagFilter struct {
	Status string
	UserID int64
	Limit  int
	Offset int
}

// flagRow is how a flagged prompt is scanned.
type flagRow struct {
	ID         int64  `db:"id"`
	CreatedAt  int64  `db:"created_at"`
	UserID     int64  `db:"user_id"`
	IP         string `db:"ip_address"`
	Prompt     string `db:"prompt"`
	Term       string `db:"term"`
	Status     string `db:"status"`
	ReviewedAt int64  `db:"reviewed_at"`
	ReviewedBy int64  `db:"reviewed_by"`
}

const flagColumns = `id, created_at, user_id, ip_address, prompt, term, status, reviewed_at,
	reviewed_by`

func (r flagRow) flag() Flag {
	f := Flag{ID: r.ID, CreatedAt: time.UnixMilli(r.CreatedAt).UTC(), UserID: r.UserID,
		IP: r.IP, Prompt: r.Prompt, Term: r.Term, Status: r.Status, ReviewedBy: r.ReviewedBy}
	if r.ReviewedAt != 0 {
		f.ReviewedAt = time.UnixMilli(r.ReviewedAt).UTC()
	}
	return f
}

// Flags returns the flagged prompts that match f, newest first, and how many match in all.
func (s *Service) Flags(ctx context.Context, f FlagFilter) ([]Flag, int, error) {
	if f.Status != "" && f.Status != Pending && f.Status != Approved && f.Status != Dismissed {
		return nil, 0, fault.Field("status", "The status is pending, approved or dismissed.")
	}
	where, args := " WHERE 1 = 1", []any{}
	if f.Status != "" {
		where, args = where+" AND status = ?", append(args, f.Status)
	}
	if f.UserID != 0 {
		where, args = where+" AND user_id = ?", append(args, f.UserID)
	}

	var total int
	err := s.DB.GetContext(ctx, &total,
		s.DB.Rebind(`SELECT COUNT(*) FROM flagged_prompts`+where), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("count flagged prompts: %w", err)
	}

	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var rows []flagRow
	err = s.DB.SelectContext(ctx, &rows, s.DB.Rebind(`SELECT `+flagColumns+
		` FROM flagged_prompts`+where+` ORDER BY id DESC LIMIT ? OFFSET ?`),
		append(args, min(limit, 200), max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list flagged prompts: %w", err)
	}
	out := make([]Flag, len(rows))
	for i, r := range rows {
		out[i] = r.flag()
	}
	return out, total, nil
}

// ErrNoFlag answers a decision on a flagged prompt that does not exist.
var ErrNoFlag = fault.New(fault.NotFound, "There is no flagged prompt with that id.")

// Decide records a reviewer's decision on a pending flagged prompt: Approved (the prompt
// breaks the policy) or Dismissed (a false alarm).
func (s *Service) Decide(ctx context.Context, id int64, decision string, actorID int64) (Flag,
	error) {
	if decision != Approved && decision != Dismissed {
		return Flag{}, fault.Field("decision", "The decision is approved or dismissed.")
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE flagged_prompts SET status = ?,
		reviewed_at = ?, reviewed_by = ? WHERE id = ? AND status = ?`),
		decision, s.Now().UnixMilli(), actorID, id, Pending)
	if err != nil {
		return Flag{}, fmt.Errorf("decide flagged prompt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Flag{}, fmt.Errorf("decide flagged prompt: %w", err)
	}

	f, err := s.flagByID(ctx, id)
	if err != nil {
		return Flag{}, err
	}
	if n == 0 {
		return f, fault.New(fault.Conflict, "This prompt was already reviewed ("+f.Status+
			").")
	}
	return f, nil
}

func (s *Service) flagByID(ctx context.Context, id int64) (Flag, error) {
	var r flagRow
	err := s.DB.GetContext(ctx, &r, s.DB.Rebind(`SELECT `+flagColumns+
		` FROM flagged_prompts WHERE id = ?`), id)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return Flag{}, ErrNoFlag
	}
	if err != nil {
		return Flag{}, fmt.Errorf("read flagged prompt: %w", err)
	}
	return r.flag(), nil
}
