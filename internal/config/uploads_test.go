package config

import (
	"strings"
	"testing"
	"time"
)

func TestUploadDefaults(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	want := Uploads{MaxSide: 8192, MaxPixels: 40_000_000, ClamAVTimeout: 30 * time.Second,
		TrainingBackend: "builtin"}
	if c.Uploads != want || c.MaxUploadBytes != 25<<20 {
		t.Fatalf("uploads %+v, max bytes %d", c.Uploads, c.MaxUploadBytes)
	}
}

func TestUploadSettings(t *testing.T) {
	c, err := Load(env(map[string]string{"UPLOAD_MAX_SIDE": "4096",
		"UPLOAD_MAX_PIXELS": "1000000", "CLAMAV_ADDRESS": "clamd.internal:3310",
		"CLAMAV_FAIL_OPEN": "true", "CLAMAV_TIMEOUT": "5", "TRAINING_BACKEND": "FAL"}), "")
	if err != nil {
		t.Fatal(err)
	}
	want := Uploads{MaxSide: 4096, MaxPixels: 1_000_000, ClamAVAddress: "clamd.internal:3310",
		ClamAVFailOpen: true, ClamAVTimeout: 5 * time.Second, TrainingBackend: "fal"}
	if c.Uploads != want {
		t.Fatalf("uploads %+v", c.Uploads)
	}
}

func TestUploadSettingsAreChecked(t *testing.T) {
	bad := map[string]string{"UPLOAD_MAX_SIDE": "10", "UPLOAD_MAX_PIXELS": "lots",
		"CLAMAV_ADDRESS": "/var/run/clamd.sock", "CLAMAV_FAIL_OPEN": "maybe",
		"CLAMAV_TIMEOUT": "0", "TRAINING_BACKEND": "gpu"}
	_, err := Load(env(bad), "")
	if err == nil {
		t.Fatal("bad upload settings accepted")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}
}
