package provider_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/provider"
)

const geminiRoute = "POST /v1beta/models/gemini-2.5-flash-image:generateContent"

func geminiAnswerWith(data []byte) map[string]any {
	return map[string]any{"candidates": []map[string]any{{
		"content": map[string]any{"parts": []map[string]any{
			{"text": "Here is your image."},
			{"inlineData": map[string]any{"mimeType": "image/png", "data": b64(data)}}}},
		"finishReason": "STOP"}}}
}

func geminiGood(t *testing.T, f *fake) {
	img := pngOf(t, 8, 8)
	f.on(geminiRoute, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, geminiAnswerWith(img))
	})
}

func runGemini(t *testing.T, f *fake, sl *sleeps) ([]provider.Picture, error) {
	p := imageProvider(t, f, sl, provider.Gemini, nil)
	req := basicRequest()
	req.SizeName, req.Width, req.Height = "landscape_16_9", 1024, 576
	return p.Generate(context.Background(), &provider.Call{
		Model: modelOf(t, "gemini/gemini-2.5-flash-image"), Request: req})
}

func TestGeminiSendsTheDocumentedRequest(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	geminiGood(t, f)
	pics, err := runGemini(t, f, sl)
	if err != nil || len(pics) != 1 {
		t.Fatalf("%d pictures, %v", len(pics), err)
	}
	req := f.requests(geminiRoute)[0]
	if got := req.Header.Get("x-goog-api-key"); got != "gm-test" {
		t.Errorf("x-goog-api-key = %q", got)
	}
	want := map[string]any{
		"contents": []any{map[string]any{"role": "user", "parts": []any{
			map[string]any{"text": "a red fox in the snow, modern style"}}}},
		"generationConfig": map[string]any{"responseModalities": []any{"IMAGE"},
			"imageConfig": map[string]any{"aspectRatio": "16:9"}},
	}
	if got := req.JSON(t); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %v\nwant %v", got, want)
	}
}

func TestGeminiAnswers(t *testing.T) {
	checkCommonAnswers(t, contract{route: geminiRoute, good: geminiGood, run: runGemini,
		imageAnswer: func(t *testing.T, f *fake, data []byte) {
			f.on(geminiRoute, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, geminiAnswerWith(data))
			})
		}})
}

func TestGeminiBlockedPrompt(t *testing.T) {
	f, sl := newFake(t), &sleeps{}
	f.on(geminiRoute, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"promptFeedback": map[string]any{"blockReason": "SAFETY"}})
	})
	_, err := runGemini(t, f, sl)
	wantFault(t, err, fault.Invalid, "withheld")
}
