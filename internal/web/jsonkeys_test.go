package web_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/role"
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

func TestJSONWithANulIsRefused(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			app := apptest.NewWith(t, apptest.Options{Postgres: pg})
			c := signedIn(t, app, "nul@example.com", 10)
			admin, _ := admAccount(t, app, "root@example.com", role.Superadmin)
			uid := strconv.FormatInt(c.UserID(), 10)
			for _, req := range []struct {
				who        *apptest.Client
				path, body string
				wantField  string
			}{
				{c, "/generate/image", `{"prompt":"a\u0000b"}`, "prompt"},
				{admin, "/admin/api/users/" + uid + "/plan", `{"plan":"pro\u0000"}`, "plan"},
				{admin, "/admin/api/users/" + uid + "/credits",
					`{"action":"add","amount":1,"reason":"x\u0000"}`, "reason"},
			} {
				res := req.who.Send(http.MethodPost, req.path, "application/json",
					[]byte(req.body), req.who.CSRF())
				details, _ := res.JSON()["details"].(map[string]any)
				if res.StatusCode != http.StatusBadRequest ||
					(req.wantField != "" && details["field"] != req.wantField) {
					t.Errorf("%s %s: %d %s", req.path, req.body, res.StatusCode, res.Body)
				}
			}
		})
	}
}
