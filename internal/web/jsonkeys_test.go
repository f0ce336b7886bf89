package web_test

import (
	"net/http"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
)

func TestJSONWithARepeatedKeyIsRefused(t *testing.T) {
	app := apptest.New(t)
	c := signedIn(t, app, "keys@example.com", 10)
	before := c.JSONCredits()
	for body, field := range map[string]string{
		`{"prompt":"a calm lake","prompt":"something else"}`:                            "prompt",
		`{"prompt":"a calm lake","Prompt":"something else"}`:                            "Prompt",
		`{"prompt":"a calm lake","image_size":{"width":512,"WIDTH":1024,"height":512}}`: "WIDTH",
	} {
		res := c.Send(http.MethodPost, "/generate/image", "application/json", []byte(body),
			c.CSRF())
		details, _ := res.JSON()["details"].(map[string]any)
		if res.StatusCode != http.StatusBadRequest || details["field"] != field {
			t.Errorf("%s: %d %s", body, res.StatusCode, res.Body)
		}
	}
	if after := c.JSONCredits(); after != before {
		t.Fatalf("refused requests moved credits from %v to %v", before, after)
	}

	// The same key in different objects, or in the elements of an array, is fine.
	for _, body := range []string{
		`{"prompt":"a calm lake","image_size":{"width":512,"height":512},"seed":{"x":1}}`,
		`{"prompt":"a calm lake","loras":[{"path":"a","scale":1},{"path":"a","scale":1}]}`,
	} {
		res := c.Send(http.MethodPost, "/generate/image", "application/json", []byte(body),
			c.CSRF())
		if details, _ := res.JSON()["details"].(map[string]any); res.StatusCode ==
			http.StatusBadRequest && (details["field"] == "path" || details["field"] == "width") {
			t.Errorf("%s refused as a repeated key: %s", body, res.Body)
		}
	}
}
