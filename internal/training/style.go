package training

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/sketchmaker/sketchmaker/internal/engine"
)

// ProfileFor returns the learned profile of userID's newest built-in style whose trigger
// word appears in prompt as a whole word (any case), or nil when none does. The generation
// service passes it to the built-in engine.
func (s *Service) ProfileFor(ctx context.Context, userID int64,
	prompt string) (*engine.Profile, error) {
	styles, err := s.Styles(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, st := range styles {
		if st.Profile == "" || !ContainsWord(prompt, st.TriggerWord) {
			continue
		}
		var p engine.Profile
		if err := json.Unmarshal([]byte(st.Profile), &p); err != nil {
			return nil, fmt.Errorf("decode style profile %s: %w", st.ID, err)
		}
		return &p, nil
	}
	return nil, nil
}

// WeightsURLs returns the provider-hosted weights of userID's styles trained at backend
// (such as "fal") whose trigger word appears in prompt as a whole word, newest first. Only
// the HTTPS address the provider gave when the training finished is returned, never one of
// SketchMaker's own download URLs, since the provider fetches the weights itself.
func (s *Service) WeightsURLs(ctx context.Context, userID int64, backend,
	prompt string) ([]string, error) {
	styles, err := s.Styles(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range styles {
		if st.Backend != backend || !ContainsWord(prompt, st.TriggerWord) {
			continue
		}
		if u, err := url.Parse(st.RemoteURL); err == nil && u.Scheme == "https" &&
			u.Host != "" && u.User == nil {
			out = append(out, st.RemoteURL)
		}
	}
	return out, nil
}

// ContainsWord reports whether word occurs in text as a whole word, ignoring ASCII case: the
// characters on either side, if any, are not letters, digits, '_' or '-', the characters a
// trigger word is made of.
func ContainsWord(text, word string) bool {
	if word == "" {
		return false
	}
	for i := 0; i+len(word) <= len(text); i++ {
		if !equalFold(text[i:i+len(word)], word) {
			continue
		}
		before := i == 0 || !wordByte(text[i-1])
		after := i+len(word) == len(text) || !wordByte(text[i+len(word)])
		if before && after {
			return true
		}
	}
	return false
}

// equalFold compares two byte strings of equal length, folding ASCII letters only.
func equalFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-'
}
