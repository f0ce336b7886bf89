package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/apptest"
)

func TestPricingShowsEachPlansPrice(t *testing.T) {
	app := apptest.New(t)
	res := app.Client(t).Get("/pricing")
	body := string(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("pricing: %d", res.StatusCode)
	}
	// The seeded plans: free, premium at 1900 cents and professional at 9900.
	for _, want := range []string{">Free<", ">19.00 a month<", ">99.00 a month<"} {
		if !strings.Contains(body, want) {
			t.Errorf("pricing page lacks %q", want)
		}
	}
}
