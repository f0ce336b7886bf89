// Package enhance turns a topic and a few choices (art style, colours, lighting, focus,
// background, effects) into a detailed image prompt that the person can edit before
// generating. A configured language model writes it; without one, the built-in offline
// enhancer composes it deterministically from a curated vocabulary. Each enhancement costs
// the prompt_enhancement price: reserved first, settled when a prompt was written and
// refunded when none was.
package enhance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/generation"
)

// OfflineEngine names the built-in enhancer in answers.
const OfflineEngine = "builtin/offline"

// maxTopicRunes bounds the topic; the enhanced prompt stays within the prompt limit.
const maxTopicRunes = 500

// Writer is a language model that writes text; the provider adapters satisfy it.
type Writer interface {
	Complete(ctx context.Context, system, user string) (string, error)
}

// Source returns the configured language model and a label naming it, or a nil Writer
// when enhancement runs offline.
type Source func(ctx context.Context) (Writer, string, error)

// Input is the body of POST /generate/prompt, with the original's field names.
type Input struct {
	Topic           string `json:"topic"`
	ArtStyle        string `json:"art_style"`
	ColorScheme     string `json:"color_scheme"`
	LightingMood    string `json:"lighting_mood"`
	SubjectFocus    string `json:"subject_focus"`
	BackgroundStyle string `json:"background_style"`
	EffectsFilters  string `json:"effects_filters"`
}

// Result is an enhanced prompt and what it cost.
type Result struct {
	Prompt           string  `json:"prompt"`
	EnhancedPrompt   string  `json:"enhanced_prompt"`
	Topic            string  `json:"topic"`
	Engine           string  `json:"engine"`
	CreditsUsed      float64 `json:"credits_used"`
	CreditsRemaining float64 `json:"credits_remaining"`
}

// Service enhances prompts and charges for them.
type Service struct {
	db      *database.DB
	credits *credit.Service
	source  Source
	timeout time.Duration
}

// New returns the enhancement service. source may be nil: always offline.
func New(db *database.DB, credits *credit.Service, source Source) *Service {
	return &Service{db: db, credits: credits, source: source, timeout: 45 * time.Second}
}

// checked is an Input whose choices are all known: field name to choice.
type checked struct {
	topic   string
	choices map[string]Choice
}

// check validates the input: a topic of 1-500 characters and, for each field, nothing or
// one of its choices (matched without regard to case, spaces or dashes).
func (in *Input) check() (*checked, error) {
	topic, err := generation.CheckPrompt(in.Topic, "topic", true)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(topic); n > maxTopicRunes {
		return nil, fault.Field("topic", fmt.Sprintf("The topic is %d characters long; "+
			"the limit is %d. Shorten it and try again.", n, maxTopicRunes))
	}

	c := &checked{topic: topic, choices: map[string]Choice{}}
	values := map[string]string{
		"art_style": in.ArtStyle, "color_scheme": in.ColorScheme,
		"lighting_mood": in.LightingMood, "subject_focus": in.SubjectFocus,
		"background_style": in.BackgroundStyle, "effects_filters": in.EffectsFilters,
	}
	for _, f := range fields {
		ch, ok, err := f.lookup(values[f.Name])
		if err != nil {
			return nil, err
		}
		if ok {
			c.choices[f.Name] = ch
		}
	}
	return c, nil
}

// lookup finds the choice a client named, if any.
func (f Field) lookup(v string) (Choice, bool, error) {
	key := normalize(v)
	if key == "" {
		return Choice{}, false, nil
	}
	var values []string
	for _, ch := range f.Choices {
		if ch.Value == key || normalize(ch.Label) == key {
			return ch, true, nil
		}
		values = append(values, ch.Value)
	}
	return Choice{}, false, fault.Field(f.Name, "Unknown "+strings.ToLower(f.Label)+
		". Choose one of: "+strings.Join(values, ", ")+".")
}

// normalize lowercases v and turns spaces and dashes into underscores.
func normalize(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if len(v) > 60 {
		return v[:60]
	}
	return strings.NewReplacer(" ", "_", "-", "_").Replace(v)
}

// Enhance writes a prompt for in on behalf of userID and charges for it.
func (s *Service) Enhance(ctx context.Context, userID int64, in Input) (*Result, error) {
	c, err := in.check()
	if err != nil {
		return nil, err
	}
	cost, err := s.credits.Cost(ctx, credit.FeaturePrompt)
	if err != nil {
		return nil, fmt.Errorf("prompt enhancement cost: %w", err)
	}
	id, err := s.reserve(ctx, userID, cost)
	if err != nil {
		return nil, err
	}

	text, engine, err := s.write(ctx, c)
	if err != nil {
		if rerr := s.credits.Refund(context.WithoutCancel(ctx), userID, id, cost,
			"prompt enhancement failed"); rerr != nil {
			return nil, fmt.Errorf("refund enhancement: %w (after %w)", rerr, err)
		}
		return nil, err
	}
	if err := s.credits.Settle(context.WithoutCancel(ctx), userID, id, cost,
		cost); err != nil {
		return nil, fmt.Errorf("settle enhancement: %w", err)
	}

	balance, err := s.credits.Balance(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &Result{Prompt: text, EnhancedPrompt: text, Topic: c.topic, Engine: engine,
		CreditsUsed: float64(cost) / 1000, CreditsRemaining: float64(balance) / 1000}, nil
}

// reserve takes the price from the balance under a fresh ledger id.
func (s *Service) reserve(ctx context.Context, userID int64, cost credit.Milli) (string,
	error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("enhancement id: %w", err)
	}
	id := "prompt-" + hex.EncodeToString(b)
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		_, err := s.credits.Reserve(ctx, tx, userID, cost, id)
		return err
	})
	return id, err
}

// write asks the language model, or composes offline when none is configured.
func (s *Service) write(ctx context.Context, c *checked) (string, string, error) {
	var w Writer
	var label string
	if s.source != nil {
		var err error
		if w, label, err = s.source(ctx); err != nil {
			return "", "", err
		}
	}
	if w == nil {
		return compose(c), OfflineEngine, nil
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	answer, err := w.Complete(ctx, systemPrompt, brief(c))
	if err != nil {
		return "", "", err
	}
	text, err := clean(answer)
	if err != nil {
		return "", "", err
	}
	return text, label, nil
}

// systemPrompt instructs the language model.
const systemPrompt = "You write prompts for text-to-image models. Given a topic and " +
	"optional choices, reply with a single vivid prompt of at most 80 words that " +
	"describes subject, composition, style, colour, light, background and effects. " +
	"Reply with the prompt only: no preamble, no quotes, no lists, no explanations."

// brief is the user message: the topic and the chosen options' labels, all of which
// except the topic come from the server's own vocabulary.
func brief(c *checked) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Topic: %s\n", c.topic)
	for _, f := range fields {
		if ch, ok := c.choices[f.Name]; ok && len(ch.Phrases) > 0 {
			fmt.Fprintf(&b, "%s: %s\n", f.Label, ch.Label)
		}
	}
	return b.String()
}

// Offline composes a prompt for in from the curated vocabulary, with no network and no
// charge: the same input always gives the same prompt.
func Offline(in Input) (string, error) {
	c, err := in.check()
	if err != nil {
		return "", err
	}
	return compose(c), nil
}

// compose writes the offline prompt; different topics pick different phrasings.
func compose(c *checked) string {
	pick := func(salt string, list []string) string {
		h := fnv.New32a()
		h.Write([]byte(strings.ToLower(c.topic) + "\x00" + salt))
		return list[int(h.Sum32()%uint32(len(list)))]
	}

	subject := c.topic
	if ch, ok := c.choices["subject_focus"]; ok {
		subject = pick("subject_focus", ch.Phrases) + " " + c.topic
	}
	parts := []string{capitalize(subject)}
	for _, f := range fields[1:] {
		if ch, ok := c.choices[f.Name]; ok && len(ch.Phrases) > 0 {
			parts = append(parts, pick(f.Name, ch.Phrases))
		}
	}
	parts = append(parts, pick("closing", closings))
	return strings.Join(parts, ", ")
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// clean turns a language model's answer into a prompt: one paragraph without control
// characters, surrounding quotes or a "Prompt:" label, within the prompt limit.
func clean(answer string) (string, error) {
	s := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		if unicode.IsControl(r) || r == '\ufeff' {
			return -1
		}
		return r
	}, answer)
	s = strings.Join(strings.Fields(s), " ")
	for _, label := range []string{"prompt:", "enhanced prompt:"} {
		if len(s) >= len(label) && strings.EqualFold(s[:len(label)], label) {
			s = strings.TrimSpace(s[len(label):])
		}
	}
	s = strings.Trim(s, "\"'“”‘’` ")
	if r := []rune(s); len(r) > generation.MaxPromptRunes {
		s = strings.TrimSpace(string(r[:generation.MaxPromptRunes]))
	}
	if s == "" {
		return "", fault.New(fault.Unavailable, "The language model answered with an "+
			"empty prompt. Try again.")
	}
	return s, nil
}
