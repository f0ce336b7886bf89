package config

import (
	"maps"
	"strings"
	"testing"
)

// s3Env is a complete, valid S3 configuration with extra values on top.
func s3Env(extra map[string]string) map[string]string {
	m := map[string]string{"S3_ENDPOINT": "https://s3.eu-west-1.amazonaws.com",
		"S3_BUCKET": "studio-images", "S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
		"S3_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	maps.Copy(m, extra)
	return m
}

func TestStorageDefaultsToTheDataDirectory(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	want := Storage{Region: "us-east-1", PathStyle: "auto"}
	if c.Storage != want || c.Storage.S3() {
		t.Fatalf("storage %+v, want %+v on disk", c.Storage, want)
	}
}

func TestStorageS3Settings(t *testing.T) {
	c, err := Load(env(s3Env(map[string]string{"S3_ENDPOINT": "http://127.0.0.1:9000/",
		"S3_REGION": "eu-west-1", "S3_PREFIX": "prod/sketchmaker/", "S3_PATH_STYLE": "TRUE",
		"SKETCHMAKER_ENV": "production", "SECRET_KEY": strings.Repeat("k", 40)})), "")
	if err != nil {
		t.Fatal(err)
	}
	want := Storage{Endpoint: "http://127.0.0.1:9000", Bucket: "studio-images",
		Region: "eu-west-1", Prefix: "prod/sketchmaker", PathStyle: "true",
		AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if c.Storage != want || !c.Storage.S3() {
		t.Fatalf("storage %+v, want %+v", c.Storage, want)
	}
}

func TestStorageValuesAreChecked(t *testing.T) {
	bad := map[string]string{
		"S3_ENDPOINT":   "ftp://s3.example.com",
		"S3_BUCKET":     "Bad Bucket!",
		"S3_REGION":     "eu west",
		"S3_PREFIX":     "../escape",
		"S3_PATH_STYLE": "sometimes",
	}
	_, err := Load(env(s3Env(bad)), "")
	if err == nil {
		t.Fatal("bad storage settings accepted")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}
}

func TestStorageRefusals(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string // a phrase the refusal must contain
	}{
		{"credentials in the URL", s3Env(map[string]string{
			"S3_ENDPOINT": "https://AKIA:secret@s3.example.com"}), "S3_ACCESS_KEY_ID"},
		{"bucket in the URL path", s3Env(map[string]string{
			"S3_ENDPOINT": "https://s3.example.com/studio-images"}), "S3_BUCKET"},
		{"a query", s3Env(map[string]string{
			"S3_ENDPOINT": "https://s3.example.com?x=1"}), "scheme and host only"},
		{"no host", s3Env(map[string]string{"S3_ENDPOINT": "https://"}), "S3_ENDPOINT"},
		{"endpoint without bucket", s3Env(map[string]string{"S3_BUCKET": ""}),
			"S3_BUCKET is required"},
		{"no secret", s3Env(map[string]string{"S3_SECRET_ACCESS_KEY": ""}),
			"S3_SECRET_ACCESS_KEY are both required"},
		{"no key id", s3Env(map[string]string{"S3_ACCESS_KEY_ID": ""}),
			"S3_ACCESS_KEY_ID and"},
		{"bucket without endpoint", map[string]string{"S3_BUCKET": "studio-images"},
			"S3_ENDPOINT is empty"},
		{"key without endpoint", map[string]string{"S3_SECRET_ACCESS_KEY": "x"},
			"S3_ENDPOINT is empty"},
		{"plain http to a public host in production", s3Env(map[string]string{
			"SKETCHMAKER_ENV": "production", "SECRET_KEY": strings.Repeat("k", 40),
			"S3_ENDPOINT": "http://s3.eu-west-1.amazonaws.com"}), "use https://"},
	}
	for _, c := range cases {
		_, err := Load(env(c.env), "")
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %q does not say %q", c.name, err, c.want)
		}
		if strings.Contains(err.Error(), "wJalrXUtnFEMI") ||
			strings.Contains(err.Error(), "secret@") {
			t.Errorf("%s: the refusal shows a secret: %v", c.name, err)
		}
	}
}

func TestStoragePlainHTTPOnlyToLocalHostsInProduction(t *testing.T) {
	prod := map[string]string{"SKETCHMAKER_ENV": "production",
		"SECRET_KEY": strings.Repeat("k", 40)}
	for endpoint, ok := range map[string]bool{
		"http://127.0.0.1:9000":       true,
		"http://localhost:9000":       true,
		"http://[::1]:9000":           true,
		"http://10.0.4.7:9000":        true,
		"http://192.168.1.20":         true,
		"http://minio:9000":           true,
		"https://s3.example.com":      true,
		"http://s3.example.com":       false,
		"http://203.0.113.9:9000":     false,
		"http://minio.example.com:80": false,
	} {
		extra := maps.Clone(prod)
		extra["S3_ENDPOINT"] = endpoint
		_, err := Load(env(s3Env(extra)), "")
		if (err == nil) != ok {
			t.Errorf("%s in production: error %v, want accepted %v", endpoint, err, ok)
		}
		// Development accepts every one of them.
		_, err = Load(env(s3Env(map[string]string{"S3_ENDPOINT": endpoint})), "")
		if err != nil {
			t.Errorf("%s in development: %v", endpoint, err)
		}
	}
}

func TestStorageSecretIsHidden(t *testing.T) {
	e := env(s3Env(nil))
	c, err := Load(e, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, row := range c.Describe(e) {
		seen[row[0]] = row[1]
		if strings.Contains(row[1], "wJalrXUtnFEMI") {
			t.Errorf("Describe shows the secret access key: %v", row)
		}
	}
	if seen["S3_SECRET_ACCESS_KEY"] != "(set, hidden)" || seen["S3_BUCKET"] != "studio-images" {
		t.Fatalf("described as %q and %q", seen["S3_SECRET_ACCESS_KEY"], seen["S3_BUCKET"])
	}
	if !strings.Contains(Table(), "`S3_ENDPOINT`") {
		t.Fatal("the configuration table lacks S3_ENDPOINT")
	}
}
