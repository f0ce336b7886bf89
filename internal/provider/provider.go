// Package provider connects SketchMaker to the image and language models people run
// elsewhere: FAL's queue, OpenAI Images and OpenAI-compatible servers, Google Gemini,
// AUTOMATIC1111/Forge and ComfyUI for pictures; OpenAI-compatible chat APIs, Anthropic and
// Gemini for prompt enhancement. Every call goes through the outbound policy (timeouts,
// address checks, allowed result hosts, byte caps), every result is checked and decoded as
// an image before anyone sees it, and every error has a safe face that names the provider
// but never a key or a provider's raw answer.
package provider

import (
	"context"
	"image"

	"github.com/sketchmaker/sketchmaker/internal/media"
)

// Names of the image providers.
const (
	FAL     = "fal"
	OpenAI  = "openai"
	Gemini  = "gemini"
	A1111   = "a1111"
	ComfyUI = "comfyui"
	// OpenAICompatible is a second OpenAI-style server (LocalAI and similar) beside
	// OpenAI itself, for models an administrator adds to the catalog.
	OpenAICompatible = "openai_compatible"
)

// Image is an image-generation backend.
type Image interface {
	// Generate makes the pictures the call asks for and returns them checked and decoded.
	// When call.Handle is set, an earlier attempt already submitted the request and
	// Generate follows it instead of submitting again (resumption after a restart).
	Generate(ctx context.Context, call *Call) ([]Picture, error)
	// Cancel asks the backend to stop the request identified by handle. A request that
	// already finished is not an error.
	Cancel(ctx context.Context, handle string) error
}

// Language is a language model that answers one prompt.
type Language interface {
	// Complete answers user under the instructions in system.
	Complete(ctx context.Context, system, user string) (string, error)
}

// Request is what a person asked for, already checked against the server's own lists.
type Request struct {
	Prompt         string
	NegativePrompt string
	Style          string // SketchMaker's art style, such as "realistic"
	SizeName       string // a preset name such as "square_hd", or "custom"
	Width, Height  int
	Steps          int
	Guidance       float64
	Seed           uint32
	NumImages      int
	Format         string // png, jpeg or webp: what the person wants stored
	Loras          []Lora
}

// Lora is a trained style applied to a request.
type Lora struct {
	URL   string
	Scale float64
}

// Call is one generation: the model, the request and the ways to report back.
type Call struct {
	Model   Model
	Request Request
	// Handle identifies a request an earlier attempt submitted; empty for a new one.
	Handle string
	// Submitted, when not nil, is called with the handle and the provider's request id
	// as soon as the backend accepted the request, before waiting for it, so a restart
	// can follow the same request. An error stops the call.
	Submitted func(handle, requestID string) error
	// Progress, when not nil, reports how far the request is, 0 to 100, with a short
	// message for people.
	Progress func(pct int, msg string)
	// Notified, when not nil, reports whether a webhook said the request is done, so the
	// next poll happens at once.
	Notified func() bool
}

func (c *Call) submitted(handle, requestID string) error {
	if c.Submitted == nil {
		return nil
	}
	return c.Submitted(handle, requestID)
}

func (c *Call) progress(pct int, msg string) {
	if c.Progress != nil {
		c.Progress(min(max(pct, 0), 99), msg)
	}
}

func (c *Call) notified() bool {
	return c.Notified != nil && c.Notified()
}

// Picture is one checked and decoded result.
type Picture struct {
	Image  image.Image
	Format media.Format // as the provider delivered it
	Seed   int64
}
