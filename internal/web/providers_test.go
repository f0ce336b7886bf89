package web_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/outbound/outboundtest"
	"github.com/sketchmaker/sketchmaker/internal/provider/providertest"
)

func TestProviderPromptEnhancement(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("enhance@example.com", goodPassword)
	before := c.JSONCredits()

	res := c.PostJSON("/generate/prompt", map[string]any{"topic": "a lighthouse",
		"art_style": "watercolor", "lighting_mood": "golden_hour", "color_scheme": "",
		"subject_focus": "wide shot", "background_style": "nature",
		"effects_filters": "film_grain"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, res.Body)
	}
	body := res.JSON()
	prompt, _ := body["enhanced_prompt"].(string)
	if !strings.Contains(prompt, "a lighthouse") || !strings.Contains(prompt, "watercolour") ||
		body["prompt"] != prompt || body["engine"] != "builtin/offline" {
		t.Fatalf("answer %s", res.Body)
	}
	if after := c.JSONCredits(); after != before-0.1 {
		t.Fatalf("balance %v → %v, want 0.1 spent", before, after)
	}

	res = c.PostJSON("/generate/prompt", map[string]any{"topic": "x", "art_style": "cubism"})
	details, _ := res.JSON()["details"].(map[string]any)
	if res.StatusCode != http.StatusBadRequest || details["field"] != "art_style" {
		t.Fatalf("unknown style: %d %s", res.StatusCode, res.Body)
	}
	res = c.Send(http.MethodPost, "/generate/prompt", "application/json",
		[]byte(`{"topic":"x"}`), "")
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("without a CSRF token: %d", res.StatusCode)
	}
	if after := c.JSONCredits(); after != before-0.1 {
		t.Fatalf("refused requests cost credits: balance %v", after)
	}
}

func TestProviderDashboardOffersTheHelper(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("helper@example.com", goodPassword)
	page := string(c.Get("/dashboard").Body)
	for _, want := range []string{`id="enhance-button"`, `data-enhance="art_style"`,
		`value="golden_hour"`} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
	if strings.Contains(page, "fal-ai/flux/dev") {
		t.Error("a FAL model is offered without FAL_KEY")
	}
}

// TestProviderFALThroughTheAPI generates through POST /generate/image with FAL
// configured from the environment, its base URL at a private address (127.0.0.1) that
// the administrator's explicit setting allows.
func TestProviderFALThroughTheAPI(t *testing.T) {
	fal := providertest.NewFAL(t, 0)
	app := apptest.NewWith(t, apptest.Options{Env: fal.Env(t)})
	c := app.Client(t)
	c.Register("fal@example.com", goodPassword)

	if page := string(c.Get("/dashboard").Body); !strings.Contains(page, "fal-ai/flux/dev") {
		t.Fatal("the FAL models are not offered with FAL_KEY set")
	}
	res := c.PostJSON("/generate/image", map[string]any{"prompt": "a quiet harbour",
		"model": "fal-ai/flux/dev", "image_size": "square", "output_format": "jpeg",
		"num_inference_steps": 40, "guidance_scale": 7})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, res.Body)
	}
	var out struct {
		Images []struct {
			Format, Engine string
			Width          int
		} `json:"images"`
		CreditsUsed float64 `json:"credits_used"`
	}
	if err := json.Unmarshal(res.Body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 1 || out.Images[0].Format != "jpeg" ||
		out.Images[0].Engine != "fal" || out.Images[0].Width != 96 || out.CreditsUsed != 1 {
		t.Fatalf("answer %s", res.Body)
	}
	sent := fal.Bodies()[0]
	if sent["num_inference_steps"] != 40.0 || sent["guidance_scale"] != 7.0 ||
		sent["image_size"] != "square" || sent["enable_safety_checker"] != true {
		t.Fatalf("FAL was sent %v", sent)
	}

	// A client cannot turn the safety checker off: the field is not part of the API.
	res = c.PostJSON("/generate/image", map[string]any{"prompt": "a harbour",
		"model": "fal-ai/flux/dev", "enable_safety_checker": false, "safety_tolerance": "6"})
	if res.StatusCode == http.StatusOK {
		if last := fal.Bodies()[len(fal.Bodies())-1]; last["enable_safety_checker"] != true {
			t.Fatalf("the client switched the safety checker: %v", last)
		}
	}
}

func TestProviderFALWebhookRoute(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	keys := outboundtest.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]any{{"kty": "OKP",
			"crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}}})
	}))
	fal := providertest.NewFAL(t, 0)
	env := fal.Env(t)
	env["FAL_JWKS_URL"] = keys.URL + "/.well-known/jwks.json"
	env["PROVIDER_CA_FILE"] = writeBoth(t, fal, keys)
	app := apptest.NewWith(t, apptest.Options{Env: env})
	c := app.Client(t)

	body := []byte(`{"request_id":"req-9","status":"OK","payload":{"images":[]}}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sum := sha256.Sum256(body)
	sig := hex.EncodeToString(ed25519.Sign(priv, []byte("req-9\nuser-1\n"+ts+"\n"+
		hex.EncodeToString(sum[:]))))
	send := func(signature string) *apptest.Response {
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/webhooks/fal",
			strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Fal-Webhook-Request-Id", "req-9")
		req.Header.Set("X-Fal-Webhook-User-Id", "user-1")
		req.Header.Set("X-Fal-Webhook-Timestamp", ts)
		req.Header.Set("X-Fal-Webhook-Signature", signature)
		return c.Do(req)
	}

	// No CSRF token is needed; the signature is what counts.
	if res := send(strings.Repeat("ab", 64)); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d %s", res.StatusCode, res.Body)
	}
	res := send(sig)
	if res.StatusCode != http.StatusOK || res.JSON()["received"] != true {
		t.Fatalf("good signature: %d %s", res.StatusCode, res.Body)
	}
	if strings.Contains(app.Audit.String(), `"csrf_failure"`) {
		t.Fatal("the webhook was treated as a CSRF failure")
	}
}

// writeBoth writes the certificates of both test servers into one CA file.
func writeBoth(t *testing.T, fal *providertest.FAL, keys *outboundtest.Server) string {
	path := fal.WriteCA(t)
	data := append(append([]byte{}, fal.CertPEM...), keys.CertPEM...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
