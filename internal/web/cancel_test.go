package web_test

import (
	"net/http"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
)

func TestCancellingAFinishedJobSaysSo(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("done@example.com", goodPassword)

	res := c.PostJSON("/generate/image", map[string]any{"prompt": "a quiet harbour",
		"image_size": "square"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d %s", res.StatusCode, res.Body)
	}
	id, _ := res.JSON()["job_id"].(string)
	before := c.JSONCredits()

	res = c.PostJSON("/api/jobs/"+id+"/cancel", map[string]any{})
	body := res.JSON()
	if res.StatusCode != http.StatusConflict || body["type"] != "conflict" ||
		body["error"] != "This job has finished already; there is nothing to cancel." {
		t.Fatalf("cancel of a finished job: %d %s", res.StatusCode, res.Body)
	}
	if after := c.JSONCredits(); after != before {
		t.Fatalf("credits moved from %v to %v", before, after)
	}
}
