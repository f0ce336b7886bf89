package media

import (
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/shareddata"
)

func TestTIFFOrientation(t *testing.T) {
	little := func(o uint16, typ uint16) []byte {
		b := []byte("II*\x00\x08\x00\x00\x00\x02\x00")
		b = append(b, make([]byte, 12)...) // another tag first
		entry := make([]byte, 12)
		binary.LittleEndian.PutUint16(entry[0:], orientationTag)
		binary.LittleEndian.PutUint16(entry[2:], typ)
		binary.LittleEndian.PutUint32(entry[4:], 1)
		binary.LittleEndian.PutUint32(entry[8:], uint32(o))
		return append(b, entry...)
	}

	cases := []struct {
		name string
		data []byte
		want int
	}{
		{"big-endian 6", tiffWithOrientation(6), 6},
		{"big-endian 8", tiffWithOrientation(8), 8},
		{"with Exif prefix", append([]byte("Exif\x00\x00"), tiffWithOrientation(3)...), 3},
		{"little-endian second entry", little(5, 3), 5},
		{"stored as LONG", little(7, 4), 7},
		{"wrong type", little(6, 2), 1},
		{"out of range", tiffWithOrientation(9), 1},
		{"zero", tiffWithOrientation(0), 1},
		{"truncated entry", tiffWithOrientation(6)[:15], 1},
		{"offset past the end", []byte("MM\x00*\xff\xff\xff\xf0"), 1},
		{"offset into the header", []byte("MM\x00*\x00\x00\x00\x02\x00\x01"), 1},
		{"not TIFF", []byte("hello world!"), 1},
		{"empty", nil, 1},
	}
	for _, tc := range cases {
		if got := tiffOrientation(tc.data); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestOrientationOfSharedPhotos(t *testing.T) {
	want := map[string]int{
		"orientation-landscape_1.jpg": 1, "orientation-landscape_3.jpg": 3,
		"orientation-landscape_6.jpg": 6, "orientation-landscape_8.jpg": 8,
		"orientation-portrait_5.jpg": 5, "Canon_40D.jpg": 1, "gps-DSCN0010.jpg": 1,
	}
	for name, o := range want {
		if got := exifOrientation(JPEG, shareddata.Read(t, "photos", name)); got != o {
			t.Errorf("%s: orientation %d, want %d", name, got, o)
		}
	}
}

func TestExifBlocksAreFound(t *testing.T) {
	for _, name := range []string{"exif_gps.jpg", "exif_gps.png", "exif_gps.webp"} {
		data := shareddata.Read(t, "attacks", name)
		f, err := Sniff(data)
		if err != nil {
			t.Fatal(err)
		}

		var block []byte
		switch f {
		case JPEG:
			block = jpegExif(data)
		case PNG:
			block = pngExif(data)
		case WebP:
			block = webpExif(data)
		}
		if !strings.HasPrefix(string(block), "MM\x00*") {
			t.Errorf("%s: EXIF block not found: %q", name, block[:min(len(block), 8)])
		}
	}
}

func TestExifWalkersSurviveDamage(t *testing.T) {
	for _, path := range []string{"exif_gps.jpg", "exif_gps.png", "exif_gps.webp"} {
		data := shareddata.Read(t, "attacks", filepath.Base(path))
		f, _ := Sniff(data)
		for cut := 0; cut < len(data); cut++ {
			if o := exifOrientation(f, data[:cut]); o != 1 {
				t.Fatalf("%s cut at %d: orientation %d", path, cut, o)
			}
		}
	}
}

// FuzzExifOrientation feeds arbitrary bytes to each metadata walker: the answer is always
// an orientation from 1 to 8 and never a panic.
func FuzzExifOrientation(f *testing.F) {
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x08Exif\x00\x00"), uint8(0))
	f.Add(withPNGChunk(encodePNG(f, pattern(2, 2)), "eXIf", tiffWithOrientation(6)), uint8(1))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPEXIF\x10\x00\x00\x00MM\x00*"), uint8(2))
	f.Add(tiffWithOrientation(8), uint8(3))

	formats := []Format{JPEG, PNG, WebP}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		o := tiffOrientation(data)
		if which < 3 {
			o = exifOrientation(formats[which], data)
		}
		if o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
