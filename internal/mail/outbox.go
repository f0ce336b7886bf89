package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// Entry is one message in the outbox.
type Entry struct {
	ID            int64  `db:"id"`
	Recipient     string `db:"recipient"`
	Subject       string `db:"subject"`
	Template      string `db:"template"`
	Text          string `db:"text_body"`
	HTML          string `db:"html_body"`
	Status        string `db:"status"`
	Attempts      int    `db:"attempts"`
	NextAttemptAt int64  `db:"next_attempt_at"`
	LastError     string `db:"last_error"`
	CreatedAt     int64  `db:"created_at"`
	SentAt        int64  `db:"sent_at"`
}

const entryColumns = `id, recipient, subject, template, text_body, html_body, status,
	attempts, next_attempt_at, last_error, created_at, sent_at`

// ErrNoMessage answers an outbox id that does not exist.
var ErrNoMessage = fault.New(fault.NotFound, "That message is not in the outbox.")

// Get returns outbox message id.
func (s *Sender) Get(ctx context.Context, id int64) (*Entry, error) {
	var e Entry
	q := s.o.DB.Rebind(`SELECT ` + entryColumns + ` FROM outbox WHERE id = ?`)
	err := s.o.DB.GetContext(ctx, &e, q, id)
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, ErrNoMessage
	}
	if err != nil {
		return nil, fmt.Errorf("get mail: %w", err)
	}
	return &e, nil
}

// List returns a page of the outbox, newest first, and the number of messages in it.
func (s *Sender) List(ctx context.Context, limit, offset int) ([]Entry, int, error) {
	var total int
	if err := s.o.DB.GetContext(ctx, &total, `SELECT COUNT(*) FROM outbox`); err != nil {
		return nil, 0, fmt.Errorf("count mail: %w", err)
	}
	var out []Entry
	q := s.o.DB.Rebind(`SELECT ` + entryColumns + ` FROM outbox
		ORDER BY id DESC LIMIT ? OFFSET ?`)
	if err := s.o.DB.SelectContext(ctx, &out, q, limit, offset); err != nil {
		return nil, 0, fmt.Errorf("list mail: %w", err)
	}
	return out, total, nil
}

// Prune deletes messages older than age, and returns how many.
func (s *Sender) Prune(ctx context.Context, age time.Duration) (int64, error) {
	q := s.o.DB.Rebind(`DELETE FROM outbox WHERE created_at < ? AND status <> ?`)
	res, err := s.o.DB.ExecContext(ctx, q, s.o.Now().Add(-age).UnixMilli(), StatusSending)
	if err != nil {
		return 0, fmt.Errorf("prune mail: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
