package provider_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// contract describes how to drive one provider against the fake: the route of its main
// request, how to script a good answer, and how to run one generation.
type contract struct {
	route string
	good  func(t *testing.T, f *fake)
	run   func(t *testing.T, f *fake, sl *sleeps) ([]provider.Picture, error)
	// imageAnswer scripts a successful answer carrying data as its image.
	imageAnswer func(t *testing.T, f *fake, data []byte)
}

// checkCommonAnswers runs the answers every provider must survive: 401, 422, 429 with
// Retry-After, 500, a hang past the timeout, malformed JSON, a non-image and a pixel bomb.
func checkCommonAnswers(t *testing.T, c contract) {
	status := func(code int, body string, header ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	cases := []struct {
		name   string
		answer http.HandlerFunc
		once   bool
		data   []byte // image bytes for imageAnswer
		kind   fault.Kind
		phrase string
		ok     bool
	}{
		{name: "401", answer: status(401, `{"error":{"message":"bad key sk-test",`+
			`"type":"invalid_request_error","code":"invalid_api_key"}}`),
			kind: fault.Unavailable, phrase: "credentials"},
		{name: "422", answer: status(422, `{"error":{"message":"a red fox in the snow is `+
			`bad","type":"invalid_request_error"}}`), kind: fault.Invalid, phrase: "settings"},
		{name: "429 then success", answer: status(429, `{}`, "Retry-After", "3"), once: true,
			ok: true},
		{name: "500", answer: status(500, `{"error":{"message":"boom"}}`),
			kind: fault.Unavailable, phrase: "problems"},
		{name: "hang", answer: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, kind: fault.Unavailable, phrase: "in time"},
		{name: "malformed JSON", answer: status(200, `{"data": [ {"b64`),
			kind: fault.Unavailable, phrase: "could not read"},
		{name: "non-image", data: []byte("<svg onload=alert(1)></svg>"),
			kind: fault.Unavailable, phrase: "not an image"},
		{name: "pixel bomb", data: attack(t, "bomb_50000x50000.png"),
			kind: fault.Unavailable, phrase: "not an image"},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			f, sl := newFake(t), &sleeps{}
			c.good(t, f)
			if cs.data != nil {
				c.imageAnswer(t, f, cs.data)
			}
			if cs.answer != nil {
				good := f.route(c.route)
				var calls atomic.Int32
				f.on(c.route, func(w http.ResponseWriter, r *http.Request) {
					if cs.once && calls.Add(1) > 1 {
						good(w, r)
						return
					}
					cs.answer(w, r)
				})
			}

			pics, err := c.run(t, f, sl)
			if cs.ok {
				if err != nil || len(pics) == 0 {
					t.Fatalf("%d pictures, %v", len(pics), err)
				}
				if d := sl.all(); len(d) == 0 || d[0] != 3*time.Second {
					t.Fatalf("waits %v, want the Retry-After of 3s first", d)
				}
				return
			}
			if len(pics) != 0 {
				t.Fatalf("%d pictures delivered", len(pics))
			}
			wantFault(t, err, cs.kind, cs.phrase)
		})
	}
}

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

// imageProvider builds provider name from the fake's settings.
func imageProvider(t *testing.T, f *fake, sl *sleeps, name string,
	edit func(*provider.Settings)) provider.Image {
	t.Helper()
	s := f.settings(sl)
	if edit != nil {
		edit(&s)
	}
	p, err := provider.NewRegistry(s, nil).Image(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
