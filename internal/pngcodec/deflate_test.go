//go:build linux && !nodynamic

package pngcodec

import "testing"

// TestDeflateLoads fails when the system has libdeflate and this package did not load
// it, which would silently leave every file to the slower decoders.
func TestDeflateLoads(t *testing.T) {
	found := requireSystemLibrary(t, "libdeflate.so.0")
	if err := loadDeflate(); err != nil {
		t.Fatalf("the system has %v but it was not loaded: %v", found, err)
	}
}
