package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/media"
	"github.com/sketchmaker/sketchmaker/internal/outbound"
)

// DefaultGeminiBase is Google's Generative Language API.
const DefaultGeminiBase = "https://generativelanguage.googleapis.com/v1beta"

// geminiProvider calls generateContent with image output, one request per image.
type geminiProvider struct {
	call *caller
	base string
	now  func() time.Time
}

type geminiPart struct {
	Text       string      `json:"text,omitempty"`
	InlineData *geminiBlob `json:"inlineData,omitempty"`
}

type geminiBlob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type geminiAnswer struct {
	Candidates []struct {
		Content struct {
			Parts []geminiPart `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
	} `json:"candidates"`
	PromptFeedback struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
}

// generateURL is the generateContent method of a model.
func generateURL(base, model string) string {
	return base + "/models/" + url.PathEscape(model) + ":generateContent"
}

// Generate asks for each image in turn.
func (p *geminiProvider) Generate(ctx context.Context, call *Call) ([]Picture, error) {
	args := call.Model.Args(call.Request)
	body := map[string]any{
		"contents": []map[string]any{{"role": "user",
			"parts": []geminiPart{{Text: args["prompt"].(string)}}}},
		"generationConfig": map[string]any{
			"responseModalities": []string{"IMAGE"},
			"imageConfig":        map[string]any{"aspectRatio": args["aspect_ratio"]},
		},
	}

	n := call.Model.Images(call.Request.NumImages)
	var pics []Picture
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("Generating image %d of %d at Gemini", i+1, n)
		stop := tick(ctx, call, msg, call.Model.ExpectedSeconds*n, p.now)
		pic, err := p.one(ctx, call, body)
		stop()
		if err != nil {
			return pics, userError("Gemini", err)
		}
		pics = append(pics, pic)
	}
	return pics, nil
}

// one sends one generateContent request and decodes the image in its answer.
func (p *geminiProvider) one(ctx context.Context, call *Call, body any) (Picture, error) {
	var out geminiAnswer
	err := p.call.do(ctx, request{method: http.MethodPost,
		url: generateURL(p.base, call.Model.endpoint()), body: body, out: &out, retry: true,
		maxBody: maxImageBody})
	if err != nil {
		return Picture{}, err
	}
	if out.PromptFeedback.BlockReason != "" {
		return Picture{}, withheld("Gemini")
	}
	for _, c := range out.Candidates {
		for _, part := range c.Content.Parts {
			if part.InlineData == nil || !strings.HasPrefix(part.InlineData.MimeType, "image/") {
				continue
			}
			data, err := base64.StdEncoding.DecodeString(part.InlineData.Data)
			if err != nil {
				return Picture{}, fmt.Errorf("%w: base64 image: %v", ErrMalformed, err)
			}
			res, err := outbound.Decode(data, media.Limits{})
			if err != nil {
				return Picture{}, err
			}
			return Picture{Image: res.Image, Format: res.Format,
				Seed: int64(call.Request.Seed)}, nil
		}
		if c.FinishReason != "" && c.FinishReason != "STOP" {
			return Picture{}, withheld("Gemini")
		}
	}
	return Picture{}, fmt.Errorf("%w: Gemini answered without an image", ErrMalformed)
}

// Cancel does nothing: each request is synchronous, and ending its context ends it.
func (p *geminiProvider) Cancel(context.Context, string) error { return nil }
