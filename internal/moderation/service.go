package moderation

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sketchmaker/sketchmaker/internal/alert"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/metrics"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

// Settings keys of the administrators' choices.
const (
	termsKey   = "moderation.terms"
	enabledKey = "moderation.enabled"
)

// The states of a flagged prompt. Approved means a reviewer agreed that the prompt breaks the
// policy; dismissed means it was a false alarm, and it no longer counts towards
// suspicious_activity.
const (
	Pending   = "pending"
	Approved  = "approved"
	Dismissed = "dismissed"
)

// maxStoredPrompt bounds the prompt text kept for review, in characters.
const maxStoredPrompt = 4000

// Flag is a prompt refused by the content policy, kept for review.
type Flag struct {
	ID         int64
	CreatedAt  time.Time
	UserID     int64
	IP         string
	Prompt     string
	Term       string
	Status     string
	ReviewedAt time.Time
	ReviewedBy int64
}

// Origin is who sent a prompt.
type Origin struct {
	UserID    int64
	IP        string
	UserAgent string
}

// Options are the defaults from the environment.
type Options struct {
	// Enabled switches the filter.
	Enabled bool

	// Threshold refused prompts by one user within Window raise suspicious_activity.
	Threshold int
	Window    time.Duration
}

// Deps are what a Service works with. Alerts and Metrics may be nil.
type Deps struct {
	DB       *database.DB
	Settings *setting.Store
	Audit    *audit.Log
	Alerts   *alert.Service
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	Now      func() time.Time
}

// Service screens prompts against the instance's term list, keeps what it refused for
// review, and raises suspicious_activity when one user keeps trying.
type Service struct {
	Deps
	opts Options

	mu      sync.RWMutex
	filter  *Filter
	custom  bool
	enabled bool
}

// NewService returns a Service with the term list and switch saved in the settings, or the
// defaults.
func NewService(ctx context.Context, o Options, d Deps) (*Service, error) {
	if o.Window <= 0 {
		o.Window = time.Hour
	}
	if o.Threshold < 1 {
		return nil, fmt.Errorf("new moderation service: threshold %d must be at least 1",
			o.Threshold)
	}
	s := &Service{Deps: d, opts: o, filter: NewFilter(DefaultTerms()), enabled: o.Enabled}
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Refresh reloads the term list and the switch from the settings, so that a change made on
// another instance applies here too. On an error the Service keeps what it had.
func (s *Service) Refresh(ctx context.Context) error {
	enabled, err := s.Settings.Bool(ctx, enabledKey, s.opts.Enabled)
	if err != nil {
		return fmt.Errorf("load content filter switch: %w", err)
	}
	text, custom, err := s.Settings.Get(ctx, termsKey)
	if err != nil {
		return fmt.Errorf("load content policy terms: %w", err)
	}

	terms := DefaultTerms()
	if custom {
		if terms, err = ParseTerms(text); err != nil {
			s.Log.Error("ignoring a saved term list that does not parse", "error", err)
			terms, custom = DefaultTerms(), false
		}
	}

	f := NewFilter(terms)
	s.mu.Lock()
	s.filter, s.custom, s.enabled = f, custom, enabled
	s.mu.Unlock()
	return nil
}

// Enabled reports whether prompts are screened.
func (s *Service) Enabled() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.enabled
}

// Terms returns the term list in force and whether an administrator changed it.
func (s *Service) Terms() ([]string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.filter.Terms(), s.custom
}

// Screen checks prompt for a policy term. A prompt with one is kept for review, audited as
// suspicious_content and refused with an error that tells its author what to change; when
// its author has had Threshold prompts refused within the window, suspicious_activity is
// audited and alerted. The prompt text is kept in the review table only, never in the audit
// trail or the logs.
func (s *Service) Screen(ctx context.Context, o Origin, prompt string) error {
	s.mu.RLock()
	f, on := s.filter, s.enabled
	s.mu.RUnlock()
	if !on {
		return nil
	}
	m, hit := f.Check(prompt)
	if !hit {
		return nil
	}

	s.Metrics.PromptRefused()
	if err := s.flag(ctx, o, prompt, m.Term); err != nil {
		s.Log.Error("refused prompt not kept for review", "user_id", o.UserID, "error", err)
	}
	return fault.Field("prompt", fmt.Sprintf("This prompt was refused because it contains "+
		"%q, which this site's content policy does not allow. Please rephrase it. "+
		"No credits were used; refused prompts are kept for review by an administrator.",
		m.Term))
}

// flag stores the refused prompt, audits it and checks its author's recent refusals.
func (s *Service) flag(ctx context.Context, o Origin, prompt, term string) error {
	ctx = context.WithoutCancel(ctx)
	now := s.Now()
	var id int64
	err := s.DB.GetContext(ctx, &id, s.DB.Rebind(`INSERT INTO flagged_prompts
		(created_at, user_id, ip_address, prompt, term) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		now.UnixMilli(), o.UserID, o.IP, clipRunes(prompt, maxStoredPrompt), term)
	if err != nil {
		return fmt.Errorf("store flagged prompt: %w", err)
	}
	s.record(ctx, o, audit.SuspiciousContent, map[string]any{"flag_id": id, "term": term})

	var recent int
	err = s.DB.GetContext(ctx, &recent, s.DB.Rebind(`SELECT COUNT(*) FROM flagged_prompts
		WHERE user_id = ? AND created_at >= ? AND status <> ?`),
		o.UserID, now.Add(-s.opts.Window).UnixMilli(), Dismissed)
	if err != nil {
		return fmt.Errorf("count recent flagged prompts: %w", err)
	}
	if recent == s.opts.Threshold {
		s.suspicious(ctx, o, recent)
	}
	return nil
}

// suspicious audits and alerts a user whose prompts keep being refused.
func (s *Service) suspicious(ctx context.Context, o Origin, recent int) {
	s.record(ctx, o, audit.SuspiciousActivity, map[string]any{
		"reason": "repeated_refused_prompts", "refused_prompts": recent,
		"window_seconds": int64(s.opts.Window / time.Second)})
	if s.Alerts == nil {
		return
	}
	msg := fmt.Sprintf("User %d had %d prompts refused by the content policy within %s; "+
		"see the review queue.", o.UserID, recent, s.opts.Window)
	subject := "user:" + strconv.FormatInt(o.UserID, 10)
	if _, _, err := s.Alerts.Raise(ctx, audit.SuspiciousActivity, subject, msg); err != nil {
		s.Log.Error("alert not raised", "error", err)
	}
}

// record writes an audit event, logging a failure.
func (s *Service) record(ctx context.Context, o Origin, typ string, details map[string]any) {
	e := audit.Event{Type: typ, UserID: o.UserID, IP: o.IP, UserAgent: o.UserAgent,
		Details: details}
	if err := s.Audit.Record(ctx, e); err != nil {
		s.Log.Error("audit event not recorded", "event_type", typ, "error", err)
	}
}

// clipRunes cuts s to at most n characters.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Change is a setting that an administrator changed, for the audit log.
type Change struct {
	Setting string
	Old     string
	New     string
}

// SetTerms replaces the term list with text, one term per line as ParseTerms reads it. An
// empty text restores DefaultTerms.
func (s *Service) SetTerms(ctx context.Context, text string, actorID int64) (Change, error) {
	old, _ := s.Terms()
	if strings.TrimSpace(text) == "" {
		if err := s.Settings.Delete(ctx, termsKey); err != nil {
			return Change{}, err
		}
		return s.changed(ctx, termsKey, len(old), len(DefaultTerms()))
	}

	terms, err := ParseTerms(text)
	if err != nil {
		return Change{}, fault.Wrap(fault.Invalid, "The term list was not saved: "+
			err.Error()+".", err)
	}
	if len(terms) == 0 {
		return Change{}, fault.Field("terms", "The term list has no terms. To stop "+
			"filtering, switch the content filter off instead.")
	}
	if _, err := s.Settings.Set(ctx, termsKey, strings.Join(terms, "\n"), actorID); err != nil {
		return Change{}, err
	}
	return s.changed(ctx, termsKey, len(old), len(terms))
}

// SetEnabled switches the content filter on or off.
func (s *Service) SetEnabled(ctx context.Context, on bool, actorID int64) (Change, error) {
	old := s.Enabled()
	if _, err := s.Settings.Set(ctx, enabledKey, strconv.FormatBool(on), actorID); err != nil {
		return Change{}, err
	}
	if err := s.Refresh(ctx); err != nil {
		return Change{}, err
	}
	return Change{Setting: enabledKey, Old: strconv.FormatBool(old),
		New: strconv.FormatBool(on)}, nil
}

// changed reloads the settings and describes a change of the term list by its size; the
// terms themselves stay out of the audit trail.
func (s *Service) changed(ctx context.Context, key string, old, now int) (Change, error) {
	if err := s.Refresh(ctx); err != nil {
		return Change{}, err
	}
	return Change{Setting: key, Old: fmt.Sprintf("%d terms", old),
		New: fmt.Sprintf("%d terms", now)}, nil
}
