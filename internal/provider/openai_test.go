package provider_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

const openaiRoute = "POST /v1/images/generations"

func openaiGood(t *testing.T, f *fake) {
	img := pngOf(t, 8, 8)
	f.on(openaiRoute, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"created": 1,
			"data": []map[string]any{{"b64_json": b64(img)}}})
	})
}

func runOpenAI(model string) func(*testing.T, *fake, *sleeps) ([]provider.Picture, error) {
	return func(t *testing.T, f *fake, sl *sleeps) ([]provider.Picture, error) {
		p := imageProvider(t, f, sl, provider.OpenAI, nil)
		return p.Generate(context.Background(), &provider.Call{Model: modelOf(t, model),
			Request: basicRequest()})
	}
}

func TestOpenAISendsTheDocumentedRequest(t *testing.T) {
	cases := []struct {
		model string
		want  map[string]any
	}{
		{"openai/dall-e-3", map[string]any{"model": "dall-e-3",
			"prompt": "a red fox in the snow, modern style", "size": "1024x1024", "n": 1.0,
			"quality": "standard", "response_format": "b64_json"}},
		{"openai/gpt-image-1", map[string]any{"model": "gpt-image-1",
			"prompt": "a red fox in the snow, modern style", "size": "1024x1024", "n": 1.0,
			"output_format": "png", "moderation": "auto"}},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			f, sl := newFake(t), &sleeps{}
			openaiGood(t, f)
			pics, err := runOpenAI(c.model)(t, f, sl)
			if err != nil || len(pics) != 1 {
				t.Fatalf("%d pictures, %v", len(pics), err)
			}
			req := f.requests(openaiRoute)[0]
			if got := req.Header.Get("Authorization"); got != "Bearer sk-test" {
				t.Errorf("Authorization = %q", got)
			}
			if got := req.JSON(t); !reflect.DeepEqual(got, c.want) {
				t.Errorf("sent %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestOpenAIAnswers(t *testing.T) {
	checkCommonAnswers(t, contract{route: openaiRoute, good: openaiGood,
		run: runOpenAI("openai/dall-e-3"),
		imageAnswer: func(t *testing.T, f *fake, data []byte) {
			f.on(openaiRoute, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"data": []map[string]any{
					{"b64_json": b64(data)}}})
			})
		}})
}

func TestOpenAICompatibleServerURLsFollowTheFetchRules(t *testing.T) {
	cases := []struct {
		name string
		url  func(f *fake) string
		ok   bool
	}{
		{"on the configured server", func(f *fake) string { return f.URL + "/out/1.png" }, true},
		{"on a foreign host", func(f *fake) string {
			return f.cdn("cdn.evil.example", "/out/1.png")
		}, false},
		{"at the metadata address", func(f *fake) string {
			return "http://169.254.169.254/latest/meta-data"
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, sl := newFake(t), &sleeps{}
			img := pngOf(t, 8, 8)
			f.on("GET /out/1.png", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(img)
			})
			f.on(openaiRoute, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"data": []map[string]any{
					{"url": c.url(f)}}})
			})
			pics, err := runOpenAI("openai/dall-e-3")(t, f, sl)
			if c.ok && (err != nil || len(pics) != 1) {
				t.Fatalf("%d pictures, %v", len(pics), err)
			}
			if !c.ok {
				wantFault(t, err, fault.Unavailable, "address")
			}
		})
	}
}

func TestOpenAIWithoutKeyNeedsABaseURL(t *testing.T) {
	reg := provider.NewRegistry(provider.Settings{}, nil)
	if ok, err := reg.Check(context.Background(), provider.OpenAI); ok || err != nil {
		t.Fatalf("OpenAI configured with neither key nor base URL: %t, %v", ok, err)
	}
	reg = provider.NewRegistry(provider.Settings{Backends: map[string]provider.Backend{
		provider.OpenAI: {BaseURL: "http://127.0.0.1:8080/v1"}}}, nil)
	if ok, err := reg.Check(context.Background(), provider.OpenAI); !ok || err != nil {
		t.Fatalf("an OpenAI-compatible server without a key is not configured: %v", err)
	}
}
