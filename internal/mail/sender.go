package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

// The states of an outbox row.
const (
	StatusQueued  = "queued"  // waiting for delivery (or its next retry)
	StatusSending = "sending" // claimed by a delivery loop under a lease
	StatusSent    = "sent"    // delivered; its bodies are erased
	StatusFailed  = "failed"  // given up after MaxAttempts
	StatusHeld    = "held"    // no SMTP server was configured: kept for the superadmin
)

// MaxAttempts is how often delivery of one message is tried before it is given up.
const MaxAttempts = 6

// backoff is the wait after each failed attempt.
var backoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	6 * time.Hour}

// lease is how long a claimed message belongs to one delivery loop; a loop that died
// releases it when the lease runs out.
const lease = 2 * time.Minute

// The settings keys that override the SMTP environment variables. The password is stored
// sealed with the key ring, bound to its key.
const (
	KeyHost     = "mail.smtp_host"
	KeyPort     = "mail.smtp_port"
	KeyUsername = "mail.smtp_username"
	KeyPassword = "mail.smtp_password"
	KeyFrom     = "mail.smtp_from"
	KeyTLS      = "mail.smtp_tls"
)

// Options configure a Sender.
type Options struct {
	DB        *database.DB
	Settings  *setting.Store
	Keys      *secret.KeyRing // nil: an SMTP password can come only from the environment
	Defaults  Settings        // from the environment
	SiteName  string
	SiteURL   string // absolute URL of the site, without a trailing slash
	Transport Transport
	Log       *slog.Logger
	Now       func() time.Time
}

// Sender renders messages into the outbox and delivers them in the background.
type Sender struct {
	o    Options
	wake chan struct{}
}

// NewSender returns a Sender.
func NewSender(o Options) *Sender {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Transport == nil {
		o.Transport = &SMTP{}
	}
	if o.SiteName == "" {
		o.SiteName = "SketchMaker"
	}
	return &Sender{o: o, wake: make(chan struct{}, 1)}
}

// SiteURL returns the absolute URL that links in messages start with.
func (s *Sender) SiteURL() string { return s.o.SiteURL }

// Send renders template for to and queues it. It fails only when the message cannot be
// rendered or stored; delivery happens later, with retries, and never fails the caller.
func (s *Sender) Send(ctx context.Context, to, template string, data Data) error {
	if data == nil {
		data = Data{}
	}
	data["SiteName"], data["SiteURL"] = s.o.SiteName, s.o.SiteURL
	m, err := Render(template, to, data)
	if err != nil {
		return err
	}
	return s.Queue(ctx, m)
}

// Queue stores a rendered message in the outbox: queued for delivery when an SMTP server
// is configured, held for the superadmin to read otherwise.
func (s *Sender) Queue(ctx context.Context, m Message) error {
	cfg, err := s.Config(ctx)
	if err != nil {
		return err
	}
	status := StatusHeld
	if cfg.Configured() {
		status = StatusQueued
	}

	var id int64
	now := s.o.Now().UnixMilli()
	q := s.o.DB.Rebind(`INSERT INTO outbox (recipient, subject, template, text_body,
		html_body, status, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`)
	err = s.o.DB.GetContext(ctx, &id, q, m.To, m.Subject, m.Template, m.Text, m.HTML,
		status, now, now)
	if err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}

	if status == StatusHeld {
		s.o.Log.Info("mail queued in the outbox; SMTP is not configured",
			"outbox_id", id, "template", m.Template)
		return nil
	}
	s.o.Log.Debug("mail queued", "outbox_id", id, "template", m.Template)
	s.notify()
	return nil
}

func (s *Sender) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers queued messages until ctx ends, waking when a message is queued and every
// few seconds for retries.
func (s *Sender) Run(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		if _, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.o.Log.Error("mail delivery failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// DeliverDue delivers every message that is due and returns how many were sent. A message
// whose delivery fails is retried later; after MaxAttempts it is marked failed.
func (s *Sender) DeliverDue(ctx context.Context) (int, error) {
	cfg, err := s.Config(ctx)
	if err != nil || !cfg.Configured() {
		return 0, err
	}
	if err := s.release(ctx); err != nil {
		return 0, err
	}

	sent := 0
	for ctx.Err() == nil {
		e, err := s.claim(ctx)
		if err != nil || e == nil {
			return sent, err
		}
		if s.deliver(ctx, cfg, e) {
			sent++
		}
	}
	return sent, nil
}

// release returns messages whose delivery loop died to the queue.
func (s *Sender) release(ctx context.Context) error {
	q := s.o.DB.Rebind(`UPDATE outbox SET status = ? WHERE status = ? AND lease_until < ?`)
	_, err := s.o.DB.ExecContext(ctx, q, StatusQueued, StatusSending, s.o.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("release mail: %w", err)
	}
	return nil
}

// claim takes the oldest due message for this loop, or returns nil when none is due. The
// conditional update makes sure two instances never take the same message.
func (s *Sender) claim(ctx context.Context) (*Entry, error) {
	for {
		var id int64
		now := s.o.Now()
		q := s.o.DB.Rebind(`SELECT id FROM outbox WHERE status = ? AND next_attempt_at <= ?
			ORDER BY id LIMIT 1`)
		err := s.o.DB.GetContext(ctx, &id, q, StatusQueued, now.UnixMilli())
		if errors.Is(database.NotFound(err), database.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("pick mail: %w", err)
		}

		q = s.o.DB.Rebind(`UPDATE outbox SET status = ?, lease_until = ?,
			attempts = attempts + 1 WHERE id = ? AND status = ?`)
		res, err := s.o.DB.ExecContext(ctx, q, StatusSending, now.Add(lease).UnixMilli(), id,
			StatusQueued)
		if err != nil {
			return nil, fmt.Errorf("claim mail: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return s.Get(ctx, id)
		}
		// Another instance took it first; pick again.
	}
}

// deliver sends one claimed message and records the outcome.
func (s *Sender) deliver(ctx context.Context, cfg Settings, e *Entry) bool {
	m := Message{To: e.Recipient, Subject: e.Subject, Text: e.Text, HTML: e.HTML,
		Template: e.Template}
	sendCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err := s.o.Transport.Deliver(sendCtx, cfg, m)
	cancel()
	now := s.o.Now()

	if err == nil {
		// Sent messages keep their envelope for the listing but not their content, which
		// may hold codes and links.
		q := s.o.DB.Rebind(`UPDATE outbox SET status = ?, sent_at = ?, text_body = '',
			html_body = '', last_error = '', lease_until = 0 WHERE id = ?`)
		if _, err := s.o.DB.ExecContext(ctx, q, StatusSent, now.UnixMilli(), e.ID); err != nil {
			s.o.Log.Error("sent mail not recorded", "outbox_id", e.ID, "error", err)
		}
		s.o.Log.Info("mail sent", "outbox_id", e.ID, "template", e.Template)
		return true
	}

	status, next := StatusQueued, now
	if e.Attempts >= MaxAttempts || permanent(err) {
		status = StatusFailed
	} else {
		next = now.Add(backoff[min(e.Attempts, len(backoff))-1])
	}
	s.o.Log.Warn("mail not delivered", "outbox_id", e.ID, "attempt", e.Attempts,
		"status", status, "error", err)
	q := s.o.DB.Rebind(`UPDATE outbox SET status = ?, next_attempt_at = ?, last_error = ?,
		lease_until = 0 WHERE id = ?`)
	if _, err2 := s.o.DB.ExecContext(ctx, q, status, next.UnixMilli(), clip(err.Error(), 300),
		e.ID); err2 != nil {
		s.o.Log.Error("mail failure not recorded", "outbox_id", e.ID, "error", err2)
	}
	return false
}

// SendNow renders and delivers a message at once, bypassing the outbox, and returns the
// delivery error: the administrator's "send a test message" button.
func (s *Sender) SendNow(ctx context.Context, to string) error {
	cfg, err := s.Config(ctx)
	if err != nil {
		return err
	}
	if !cfg.Configured() {
		return fault.New(fault.Invalid, "No SMTP server is configured, so messages stay in "+
			"the outbox.")
	}
	m, err := Render(TestMessage, to, Data{"SiteName": s.o.SiteName, "SiteURL": s.o.SiteURL})
	if err != nil {
		return err
	}
	if err := s.o.Transport.Deliver(ctx, cfg, m); err != nil {
		return fault.Wrap(fault.Unavailable, "The test message was not sent: "+
			Describe(err)+".", err)
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
