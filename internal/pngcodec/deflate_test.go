//go:build linux && !nodynamic

package pngcodec

import (
	"path/filepath"
	"testing"
)

// TestDeflateLoads fails when the system has libdeflate and this package did not load
// it, which would silently leave every file to the slower decoders.
func TestDeflateLoads(t *testing.T) {
	var found []string
	for _, dir := range []string{"/lib", "/usr/lib", "/lib64", "/usr/lib64"} {
		for _, pattern := range []string{"libdeflate.so.0", "*/libdeflate.so.0"} {
			m, _ := filepath.Glob(filepath.Join(dir, pattern))
			found = append(found, m...)
		}
	}
	if len(found) == 0 {
		t.Skip("this system has no libdeflate.so.0")
	}
	if err := loadDeflate(); err != nil {
		t.Fatalf("the system has %v but it was not loaded: %v", found, err)
	}
}
