package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

func TestStyleTrainingNeedsAPlanThatIncludesIt(t *testing.T) {
	app := apptest.New(t)
	c := app.Client(t)
	c.Register("free@example.com", goodPassword) // the free plan: no style training
	app.SetCredits(t, c.UserID(), 100)
	tiny := sharedFile(t, "attacks", "valid_tiny.png")

	page := c.Get("/training")
	if page.StatusCode != http.StatusOK ||
		!strings.Contains(string(page.Body), "does not include style training") ||
		strings.Contains(string(page.Body), `id="training-form"`) {
		t.Fatalf("training page on the free plan: %d %s", page.StatusCode, page.Body)
	}
	res := upload(t, c, part{"a.png", tiny})
	if res.StatusCode != http.StatusForbidden ||
		!strings.Contains(res.JSON()["error"].(string), "does not include style training") {
		t.Fatalf("upload on the free plan: %d %s", res.StatusCode, res.Body)
	}
	if res := c.PostJSON("/api/training/start", map[string]any{"trigger_word": "mine",
		"steps": 100, "upload_ids": []string{}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("start on the free plan: %d %s", res.StatusCode, res.Body)
	}
	if n := uploadRows(t, app); n != 0 || c.JSONCredits() != 100 {
		t.Fatalf("refused requests stored %d uploads, credits now %v", n, c.JSONCredits())
	}

	// An administrator ticks style training on the free plan: it applies at once.
	admin, _ := admAccount(t, app, "boss@example.com", role.Admin)
	free, err := app.Credits.PlanBySlug(context.Background(), "free")
	if err != nil {
		t.Fatal(err)
	}
	res = admin.PostForm("/admin/plans/"+strconv.FormatInt(free.ID, 10), url.Values{
		"name": {free.Name}, "monthly_credits": {"3"}, "price": {"0"},
		"features": {"Built-in offline engine"}, "style_training": {"on"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit the free plan: %d %s", res.StatusCode, res.Body)
	}
	if free, _ = app.Credits.PlanBySlug(context.Background(), "free"); !free.HasFeature(
		credit.FeatureStyles) || free.HasFeature(credit.FeatureAPI) {
		t.Fatalf("free plan features: %v", free.Features)
	}
	if res := upload(t, c, part{"a.png", tiny}); res.StatusCode != http.StatusOK {
		t.Fatalf("upload once the plan includes training: %d %s", res.StatusCode, res.Body)
	}

	// Administrators may train whatever their plan.
	if res := upload(t, admin, part{"b.png", tiny}); res.StatusCode != http.StatusOK {
		t.Fatalf("upload by an administrator: %d %s", res.StatusCode, res.Body)
	}
}
