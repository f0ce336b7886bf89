package enhance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

func TestOfflineIsDeterministicAndUsesTheChoices(t *testing.T) {
	in := Input{Topic: "a lighthouse on a cliff", ArtStyle: "Oil Painting",
		ColorScheme: "warm", LightingMood: "golden hour", SubjectFocus: "wide-shot",
		BackgroundStyle: "nature", EffectsFilters: "film_grain"}
	a, err := Offline(in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Offline(in)
	if a != b {
		t.Fatalf("same input, different prompts:\n%s\n%s", a, b)
	}

	wants := map[string][]string{
		"subject_focus": {"a sweeping wide shot of", "an expansive view of"},
		"art_style":     {"oil on canvas", "classical oil painting"},
		"color_scheme":  {"warm amber", "warm, sunlit"},
		"lighting_mood": {"golden-hour", "golden evening"},
		"effects":       {"film grain", "analogue film"},
	}
	for field, options := range wants {
		found := false
		for _, o := range options {
			found = found || strings.Contains(strings.ToLower(a), strings.ToLower(o))
		}
		if !found {
			t.Errorf("prompt %q has no phrase for %s", a, field)
		}
	}
	if !strings.Contains(a, "a lighthouse on a cliff") {
		t.Errorf("prompt %q lost the topic", a)
	}

	bare, _ := Offline(Input{Topic: "tea cup"})
	if !strings.HasPrefix(bare, "Tea cup, ") || strings.Contains(bare, "none") {
		t.Errorf("bare prompt %q", bare)
	}
	if none, _ := Offline(Input{Topic: "tea cup", EffectsFilters: "none"}); none != bare {
		t.Errorf("effects none changed the prompt: %q", none)
	}
}

func TestInputIsChecked(t *testing.T) {
	cases := []struct {
		in    Input
		field string
	}{
		{Input{}, "topic"},
		{Input{Topic: "   "}, "topic"},
		{Input{Topic: strings.Repeat("x", 501)}, "topic"},
		{Input{Topic: "a\x00b"}, "topic"},
		{Input{Topic: "fox", ArtStyle: "cubism"}, "art_style"},
		{Input{Topic: "fox", ColorScheme: "plaid"}, "color_scheme"},
		{Input{Topic: "fox", LightingMood: "<script>"}, "lighting_mood"},
		{Input{Topic: "fox", SubjectFocus: "x"}, "subject_focus"},
		{Input{Topic: "fox", BackgroundStyle: "x"}, "background_style"},
		{Input{Topic: "fox", EffectsFilters: strings.Repeat("y", 5000)}, "effects_filters"},
	}
	for _, c := range cases {
		_, err := Offline(c.in)
		fe := fault.As(err)
		if fe == nil || fe.Field != c.field || fe.Kind != fault.Invalid {
			t.Errorf("%+v: error %v, want a problem with %s", c.in, err, c.field)
			continue
		}
		if strings.Contains(fe.Message, "<script>") {
			t.Errorf("message echoes input: %s", fe.Message)
		}
	}
}

func TestClean(t *testing.T) {
	cases := map[string]string{
		"  A fox in snow.  ":                 "A fox in snow.",
		"\"A fox in snow.\"":                 "A fox in snow.",
		"Prompt: A fox\nin snow":             "A fox in snow",
		"Enhanced prompt: “A fox”":           "A fox",
		"A fox\x00\x07 in\u2028snow\ufeff":   "A fox in snow",
		"line one\n\n\tline two\r\nline 3  ": "line one line two line 3",
	}
	for in, want := range cases {
		got, err := clean(in)
		if err != nil || got != want {
			t.Errorf("clean(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := clean(" \n\"\" "); err == nil {
		t.Error("an empty answer was accepted")
	}
	long, err := clean(strings.Repeat("ü", 3000))
	if err != nil || utf8.RuneCountInString(long) != 2000 {
		t.Errorf("long answer cut to %d runes, %v", utf8.RuneCountInString(long), err)
	}
}

func FuzzClean(f *testing.F) {
	f.Add("Prompt: \"A fox\"\n")
	f.Add("\x00\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := clean(s)
		if err != nil {
			return
		}
		if out == "" || utf8.RuneCountInString(out) > 2000 || strings.ContainsAny(out,
			"\n\r\x00") {
			t.Fatalf("clean(%q) = %q", s, out)
		}
	})
}

func FuzzOffline(f *testing.F) {
	f.Add("a fox", "anime", "neon", "night", "portrait", "urban", "glow")
	f.Add("", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, topic, a, c, l, s, b, e string) {
		in := Input{Topic: topic, ArtStyle: a, ColorScheme: c, LightingMood: l,
			SubjectFocus: s, BackgroundStyle: b, EffectsFilters: e}
		out, err := Offline(in)
		if err != nil {
			if fault.As(err) == nil {
				t.Fatalf("error without a safe face: %v", err)
			}
			return
		}
		again, _ := Offline(in)
		if out == "" || again != out || utf8.RuneCountInString(out) > 2000 {
			t.Fatalf("Offline(%+v) = %q, then %q", in, out, again)
		}
	})
}

// writer is a language model the test scripts.
type writer struct {
	answer       string
	err          error
	system, user string
}

func (w *writer) Complete(_ context.Context, system, user string) (string, error) {
	w.system, w.user = system, user
	return w.answer, w.err
}

// setup returns a service over db with a user holding credits.
func setup(t *testing.T, db *database.DB, w Writer, credits credit.Milli) (*Service,
	*credit.Service, int64) {
	t.Helper()
	ctx := context.Background()
	cs := credit.New(db, func() time.Time { return time.Unix(1_760_000_000, 0) })
	var id int64
	err := db.Tx(ctx, func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO users (email, created_at,
			updated_at) VALUES (?, 0, 0) RETURNING id`), "u@example.com")
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Set(ctx, id, credits, 0, "test"); err != nil {
		t.Fatal(err)
	}
	var src Source
	if w != nil {
		src = func(context.Context) (Writer, string, error) { return w, "groq/test", nil }
	}
	return New(db, cs, src), cs, id
}

func TestEnhanceCharges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		in := Input{Topic: "a fox", ArtStyle: "anime", LightingMood: "night"}

		cases := []struct {
			name    string
			w       *writer
			credits credit.Milli
			engine  string
			balance credit.Milli
			err     fault.Kind
		}{
			{name: "offline", credits: credit.One, engine: OfflineEngine,
				balance: credit.One - credit.MinCost},
			{name: "language model", w: &writer{answer: "\"A fox under neon.\""},
				credits: credit.One, engine: "groq/test", balance: credit.One - credit.MinCost},
			{name: "language model fails", w: &writer{err: fault.New(fault.Unavailable,
				"Groq could not be reached.")}, credits: credit.One, balance: credit.One,
				err: fault.Unavailable},
			{name: "empty answer", w: &writer{answer: "  "}, credits: credit.One,
				balance: credit.One, err: fault.Unavailable},
			{name: "no credits", credits: 0, balance: 0, err: fault.NoCredits},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var w Writer
				if c.w != nil {
					w = c.w
				}
				svc, cs, uid := setup(t, db, w, c.credits)
				defer db.ExecContext(ctx, `DELETE FROM users`)
				res, err := svc.Enhance(ctx, uid, in)
				bal, _ := cs.Balance(ctx, uid)
				if bal != c.balance {
					t.Errorf("balance %s, want %s", bal, c.balance)
				}
				if c.err != 0 || c.name == "no credits" {
					var ie *credit.InsufficientError
					if c.name == "no credits" && !errors.As(err, &ie) {
						t.Fatalf("error %v, want a shortfall", err)
					}
					if c.name != "no credits" && (fault.As(err) == nil ||
						fault.As(err).Kind != c.err) {
						t.Fatalf("error %v, want kind %v", err, c.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if res.Engine != c.engine || res.Prompt == "" || res.Prompt != res.EnhancedPrompt {
					t.Fatalf("result %+v", res)
				}
				if res.CreditsUsed != 0.1 || res.CreditsRemaining != float64(c.balance)/1000 {
					t.Fatalf("credits %+v", res)
				}
				if c.w != nil && (res.Prompt != "A fox under neon." ||
					!strings.Contains(c.w.user, "Art style: Anime") ||
					!strings.Contains(c.w.user, "Lighting: Night") ||
					!strings.Contains(c.w.user, "Topic: a fox")) {
					t.Fatalf("prompt %q from brief %q", res.Prompt, c.w.user)
				}
			})
		}
	})
}
