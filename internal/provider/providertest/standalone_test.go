package providertest

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestStartFAL runs the fake without a testing.TB of its own, as the benchmark does: it
// speaks HTTP/2 like FAL's queue, answers a submitted request, and writes the
// configuration that trusts its certificate.
func TestStartFAL(t *testing.T) {
	f, err := StartFAL(0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	c := f.Client()
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/fal-ai/flux/dev",
		strings.NewReader(`{"prompt":"a harbour","num_images":1}`))
	req.Header.Set("Authorization", "Key "+f.Key)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var sub struct {
		StatusURL string `json:"status_url"`
	}
	if err := json.NewDecoder(res.Body).Decode(&sub); err != nil || sub.StatusURL == "" {
		t.Fatalf("submit answered %d: %+v, %v", res.StatusCode, sub, err)
	}
	if res.ProtoMajor != 2 {
		t.Errorf("the fake spoke %s, not HTTP/2", res.Proto)
	}

	req, _ = http.NewRequest(http.MethodGet, sub.StatusURL, nil)
	req.Header.Set("Authorization", "Key "+f.Key)
	st, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	st.Body.Close()
	if st.StatusCode != http.StatusOK || f.Submits.Load() != 1 {
		t.Fatalf("status %d after %d submits; a fake without delay is done at once",
			st.StatusCode, f.Submits.Load())
	}

	env, err := f.EnvIn(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(env["PROVIDER_CA_FILE"])
	if err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Fatalf("CA file: %v", err)
	}
	if env["FAL_BASE_URL"] != f.URL || env["FAL_KEY"] != f.Key {
		t.Fatalf("env %v", env)
	}
}
