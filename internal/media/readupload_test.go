package media

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestReadUploadSizesItsBufferFromAFile reads a spooled file in one buffer of the file's
// size, rather than doubling a buffer up to twice that (issue 8's upload memory).
func TestReadUploadSizesItsBufferFromAFile(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	data := append(b.Bytes(), make([]byte, 3<<20)...) // padding after IEND
	path := filepath.Join(t.TempDir(), "big.png")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		limit int64
		fits  bool
	}{
		{"under the limit", 8 << 20, true},
		{"over the limit", 1 << 20, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()

			got, format, err := readUpload(f, tc.limit)
			if !tc.fits {
				if err == nil {
					t.Fatalf("a %d-byte file passed a %d-byte limit", len(data), tc.limit)
				}
				return
			}
			if err != nil || format != PNG || !bytes.Equal(got, data) {
				t.Fatalf("readUpload = %d bytes, %q, %v", len(got), format, err)
			}
			// The allocator rounds a large buffer up to whole pages; doubling would leave
			// about a megabyte spare here.
			if slack := cap(got) - len(got); slack > 64<<10 {
				t.Errorf("the buffer has %d bytes to spare; want at most 64 KiB", slack)
			}
		})
	}
}
