//go:build linux && !nodynamic

package pngcodec

import (
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

// TestImageLayout checks pngImage against png_image as png.h 1.6 lays it out on 64-bit
// Linux (sizeof and offsetof, printed by a C program compiled against the header).
func TestImageLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the layout below is that of 64-bit platforms")
	}
	var im pngImage
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"size", unsafe.Sizeof(im), 104},
		{"version", unsafe.Offsetof(im.version), 8},
		{"width", unsafe.Offsetof(im.width), 12},
		{"height", unsafe.Offsetof(im.height), 16},
		{"format", unsafe.Offsetof(im.format), 20},
		{"flags", unsafe.Offsetof(im.flags), 24},
		{"colormap_entries", unsafe.Offsetof(im.colormapEntries), 28},
		{"warning_or_error", unsafe.Offsetof(im.warningOrError), 32},
		{"message", unsafe.Offsetof(im.message), 36},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, png.h says %d", c.name, c.got, c.want)
		}
	}
}

// TestLibraryLoads fails when the system has libpng and this package did not load it,
// which would silently leave every file to image/png.
func TestLibraryLoads(t *testing.T) {
	found := requireSystemLibrary(t, "libpng16.so.16")
	if err := Library(); err != nil {
		t.Fatalf("the system has %v but it was not loaded: %v", found, err)
	}
}

// requireSystemLibrary returns where the system keeps the shared library soname, and
// skips the test when it has none.
func requireSystemLibrary(t *testing.T, soname string) []string {
	t.Helper()
	var found []string
	for _, dir := range []string{"/lib", "/usr/lib", "/lib64", "/usr/lib64"} {
		for _, pattern := range []string{soname, "*/" + soname} {
			m, _ := filepath.Glob(filepath.Join(dir, pattern))
			found = append(found, m...)
		}
	}
	if len(found) == 0 {
		t.Skip("this system has no " + soname)
	}
	return found
}

// TestLibpngMessage passes libpng's own words on in the error.
func TestLibpngMessage(t *testing.T) {
	if err := Library(); err != nil {
		t.Skip(err)
	}
	data := makePNG(t, spec{w: 4, h: 4, depth: 8, colour: colourRGB})
	data[12] = 'X' // IHDR becomes XHDR: libpng wants IHDR first
	h := header{width: 4, height: 4, depth: 8, colour: colourRGB}
	_, err := decodeLib(data, h)
	if err == nil || !strings.HasPrefix(err.Error(), "png: read header: ") ||
		len(err.Error()) <= len("png: read header: ") {
		t.Errorf("error %v, want libpng's message", err)
	}
}
