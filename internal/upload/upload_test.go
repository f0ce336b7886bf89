package upload

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/clamd"
	"github.com/sketchmaker/sketchmaker/internal/clamd/clamdtest"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"

	_ "golang.org/x/image/webp"
	_ "image/jpeg"
	_ "image/png"
)

// metadataMarkers are byte strings that only metadata carries: the EXIF header, TIFF
// headers (which hold every EXIF and GPS tag), XMP packets and XMP's GPS properties.
var metadataMarkers = []string{"Exif", "II*\x00", "MM\x00*", "<x:xmpmeta", "<?xpacket",
	"http://ns.adobe.com/xap/1.0/", "GPSLatitude", "GPSLongitude"}

// metadataIn lists the metadata found in a stored file: marker bytes anywhere, and the
// segments or chunks that can carry metadata, found by walking the file's structure.
func metadataIn(t testing.TB, data []byte) []string {
	t.Helper()
	var found []string
	for _, m := range metadataMarkers {
		if bytes.Contains(data, []byte(m)) {
			found = append(found, "bytes "+strings.TrimRight(m, "\x00*"))
		}
	}
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		found = append(found, jpegMetadata(data)...)
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		found = append(found, pngMetadata(data)...)
	case bytes.HasPrefix(data, []byte("RIFF")):
		found = append(found, webpMetadata(data)...)
	default:
		t.Fatalf("stored file is not PNG, JPEG or WebP: % x", data[:min(8, len(data))])
	}
	return found
}

// jpegMetadata walks the segments before the image data: only APP0 (JFIF) may appear
// among the application and comment segments.
func jpegMetadata(data []byte) []string {
	var found []string
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return append(found, "broken segment structure")
		}
		marker := data[i+1]
		if marker == 0xda { // start of scan: metadata cannot follow
			break
		}
		if marker >= 0xe1 && marker <= 0xef || marker == 0xfe {
			found = append(found, "segment "+string(rune('0'+int(marker&0x0f))))
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return found
}

// pngMetadata walks the chunks: text, EXIF, colour profile and time chunks are metadata.
func pngMetadata(data []byte) []string {
	var found []string
	for i := 8; i+8 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		switch typ {
		case "eXIf", "tEXt", "zTXt", "iTXt", "iCCP", "tIME":
			found = append(found, "chunk "+typ)
		}
		i += 12 + n
	}
	return found
}

// webpMetadata walks the RIFF chunks: EXIF, XMP and ICCP are metadata.
func webpMetadata(data []byte) []string {
	var found []string
	for i := 12; i+8 <= len(data); {
		typ := string(data[i : i+4])
		n := int(binary.LittleEndian.Uint32(data[i+4:]))
		switch typ {
		case "EXIF", "XMP ", "ICCP":
			found = append(found, "chunk "+typ)
		}
		i += 8 + n + n%2
	}
	return found
}

// storedFiles reads the three stored files of u from the blob directory.
func (r *rig) storedFiles(t testing.TB, u *Upload) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, key := range []string{u.BlobKey, u.ThumbKey, u.PreviewKey} {
		data, err := os.ReadFile(filepath.Join(r.stored, filepath.FromSlash(key)))
		if err != nil {
			t.Fatalf("stored file %s: %v", key, err)
		}
		out[key] = data
	}
	return out
}

func TestEveryPhotoIsAcceptedWithoutMetadata(t *testing.T) {
	r := newRig(t, nil)
	for _, name := range sharedNames(t, "photos") {
		t.Run(name, func(t *testing.T) {
			data := shared(t, "photos", name)
			if len(metadataIn(t, data)) == 0 {
				t.Fatalf("the detector finds no metadata in the original %s", name)
			}
			acc, err := r.svc.Accept(context.Background(), r.user, name, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			u := acc.Uploads[0]
			if u.DisplayName != name || u.Format != "jpeg" || acc.Batch != "" {
				t.Errorf("record: %+v batch %q", u, acc.Batch)
			}
			for key, stored := range r.storedFiles(t, u) {
				if strings.Contains(key, strings.TrimSuffix(name, ".jpg")) {
					t.Errorf("blob key %s contains the client's file name", key)
				}
				if found := metadataIn(t, stored); len(found) > 0 {
					t.Errorf("%s keeps metadata: %v", key, found)
				}
			}
		})
	}
}

// TestPhotosAreStoredUpright compares each rotated photo, as stored, with the photo
// whose orientation is already upright.
func TestPhotosAreStoredUpright(t *testing.T) {
	r := newRig(t, nil)
	decode := func(name string) image.Image {
		acc, err := r.svc.Accept(context.Background(), r.user, name,
			bytes.NewReader(shared(t, "photos", name)))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(bytes.NewReader(r.storedFiles(t,
			acc.Uploads[0])[acc.Uploads[0].BlobKey]))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}

	ref := decode("orientation-landscape_1.jpg")
	for _, o := range []string{"3", "6", "8"} {
		got := decode("orientation-landscape_" + o + ".jpg")
		if got.Bounds().Size() != ref.Bounds().Size() {
			t.Fatalf("orientation %s: stored %v, want %v", o, got.Bounds(), ref.Bounds())
		}
		if d := meanDiff(got, ref); d > 30 {
			t.Errorf("orientation %s: stored picture differs from the upright one by %.1f", o, d)
		}
	}
	if p := decode("orientation-portrait_5.jpg").Bounds(); p.Dy() <= p.Dx() {
		t.Errorf("portrait_5 stored as %v, not portrait", p)
	}
}

// meanDiff is the mean absolute difference of two same-sized images per channel, 0-255,
// sampled on a grid.
func meanDiff(a, b image.Image) float64 {
	r := a.Bounds()
	var sum float64
	var n int
	for y := r.Min.Y; y < r.Max.Y; y += 7 {
		for x := r.Min.X; x < r.Max.X; x += 7 {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			sum += abs(r1, r2) + abs(g1, g2) + abs(b1, b2)
			n += 3
		}
	}
	return sum / float64(n) / 257
}

func abs(a, b uint32) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}

// TestAttacks feeds every hostile file to the pipeline and expects the outcome the shared
// README states.
func TestAttacks(t *testing.T) {
	cases := []struct {
		file string
		kind fault.Kind // 0 (Internal) means accepted
		want string     // in the message
	}{
		{"bomb_20000x20000_complete.png", fault.TooLarge, "megapixels"},
		{"bomb_50000x50000.png", fault.TooLarge, "megapixels"},
		{"bomb_30000x30000.jpg", fault.TooLarge, "megapixels"},
		{"svg_script_as.png", fault.Unsupported, ""},
		{"gif_as.png", fault.Unsupported, "GIF"},
		{"pdf_as.png", fault.Unsupported, "PDF"},
		{"truncated.png", fault.Invalid, "damaged"},
		{"exif_gps.jpg", 0, ""},
		{"exif_gps.png", 0, ""},
		{"exif_gps.webp", 0, ""},
		{"valid_tiny.png", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r := newRig(t, nil)
			acc, err := r.svc.Accept(context.Background(), r.user, tc.file,
				bytes.NewReader(shared(t, "attacks", tc.file)))
			if tc.kind == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(tc.file, "exif_gps") &&
					len(metadataIn(t, shared(t, "attacks", tc.file))) == 0 {
					t.Fatalf("the detector finds no metadata in the original %s", tc.file)
				}
				for key, data := range r.storedFiles(t, acc.Uploads[0]) {
					if found := metadataIn(t, data); len(found) > 0 {
						t.Errorf("%s keeps metadata: %v", key, found)
					}
				}
				return
			}

			if got := kindOf(t, err); got != tc.kind {
				t.Errorf("kind %v, want %v: %v", got, tc.kind, err)
			}
			msg := fault.As(err).Message
			if !strings.HasPrefix(msg, tc.file+" was refused: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("message %q", msg)
			}
			r.assertNothingKept(t)
		})
	}
}

func TestHostileFileNamesNeverReachAPath(t *testing.T) {
	tiny := shared(t, "attacks", "valid_tiny.png")
	cases := []struct{ name, display string }{
		{"../../etc/passwd.png", "passwd.png"},
		{`..\..\x.png`, "x.png"},
		{"/absolute/evil.png", "evil.png"},
		{"a\u202egnp.exe.png", "agnp.exe.png"},
		{"", "image.png"},
		{"..", "image.png"},
	}
	r := newRig(t, nil)
	for _, tc := range cases {
		acc, err := r.svc.Accept(context.Background(), r.user, tc.name, bytes.NewReader(tiny))
		if err != nil {
			t.Fatalf("%q: %v", tc.name, err)
		}
		u := acc.Uploads[0]
		if u.DisplayName != tc.display {
			t.Errorf("%q: display name %q, want %q", tc.name, u.DisplayName, tc.display)
		}
		for _, key := range []string{u.BlobKey, u.ThumbKey, u.PreviewKey} {
			if strings.Contains(key, "..") || strings.Contains(key, "passwd") ||
				strings.Contains(key, "evil") {
				t.Errorf("%q: key %q", tc.name, key)
			}
		}
	}
	for _, f := range files(t, r.root) {
		if !strings.HasPrefix(f, "files"+string(filepath.Separator)) {
			t.Errorf("file outside the blob store: %s", f)
		}
	}
}

func TestExtensionMustAgreeWithTheBytes(t *testing.T) {
	r := newRig(t, nil)
	tiny := shared(t, "attacks", "valid_tiny.png")
	for _, name := range []string{"tiny.jpg", "tiny.webp", "tiny.zip", "tiny.gif"} {
		_, err := r.svc.Accept(context.Background(), r.user, name, bytes.NewReader(tiny))
		if kindOf(t, err) != fault.Invalid || !strings.Contains(fault.As(err).Message, "rename") {
			t.Errorf("%s: %v", name, err)
		}
	}
	r.assertNothingKept(t)
}

// countingReader counts the bytes taken from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestOversizedFileIsRefusedWithoutReadingIt sends a stream far longer than the limit and
// checks that the service stopped one byte past it.
func TestOversizedFileIsRefusedWithoutReadingIt(t *testing.T) {
	const limit = 1 << 20
	r := newRig(t, func(o *Options) { o.Limits.MaxBytes = limit })
	tiny := shared(t, "attacks", "valid_tiny.png")
	body := &countingReader{r: io.MultiReader(bytes.NewReader(tiny),
		io.LimitReader(zeros{}, 50<<20))}

	_, err := r.svc.Accept(context.Background(), r.user, "big.png", body)
	if kindOf(t, err) != fault.TooLarge || !strings.Contains(fault.As(err).Message, "1 MB") {
		t.Fatalf("oversized stream: %v", err)
	}
	if body.n > limit+1 {
		t.Errorf("read %d bytes of a stream refused at %d", body.n, limit)
	}
	r.assertNothingKept(t)
}

// TestExactLimitIsAccepted checks that a file of exactly the limit passes the size check.
func TestExactLimitIsAccepted(t *testing.T) {
	data := pngOf(t, 300, 300, color.NRGBA{10, 200, 30, 255})
	r := newRig(t, func(o *Options) { o.Limits.MaxBytes = int64(len(data)) })
	if _, err := r.svc.Accept(context.Background(), r.user, "x.png",
		bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	_, err := r.svc.Accept(context.Background(), r.user, "x.png",
		io.MultiReader(bytes.NewReader(data), strings.NewReader("!")))
	if kindOf(t, err) != fault.TooLarge {
		t.Fatalf("limit + 1: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// brokenReader fails after some bytes, as a client that disconnects.
type brokenReader struct{ data []byte }

func (b *brokenReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, errors.New("connection reset by peer")
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func TestInterruptedUploadIsAClientError(t *testing.T) {
	r := newRig(t, nil)
	data := shared(t, "photos", "Canon_40D.jpg")
	_, err := r.svc.Accept(context.Background(), r.user, "p.jpg",
		&brokenReader{data: data[:4000]})
	if kindOf(t, err) != fault.Invalid || !strings.Contains(fault.As(err).Message, "interrupted") {
		t.Fatalf("interrupted upload: %v", err)
	}
	r.assertNothingKept(t)
}

func TestDimensionLimitsAreConfigurable(t *testing.T) {
	r := newRig(t, func(o *Options) { o.Limits.MaxSide = 100; o.Limits.MaxPixels = 5000 })
	cases := []struct {
		w, h int
		kind fault.Kind
	}{{50, 50, 0}, {101, 10, fault.Invalid}, {80, 80, fault.TooLarge}}
	for _, tc := range cases {
		_, err := r.svc.Accept(context.Background(), r.user, "x.png",
			bytes.NewReader(pngOf(t, tc.w, tc.h, color.NRGBA{1, 2, 3, 255})))
		if tc.kind == 0 && err != nil || tc.kind != 0 && kindOf(t, err) != tc.kind {
			t.Errorf("%dx%d: %v", tc.w, tc.h, err)
		}
	}
}

// scanRig builds a service whose scanner is the clamd client on a stand-in daemon.
func scanRig(t *testing.T, failOpen bool) (*rig, *clamdtest.Server) {
	srv := clamdtest.Start(t)
	c := &clamd.Client{Addr: srv.Addr}
	r := newRig(t, func(o *Options) {
		o.Scanner, o.FailOpen = ClamdScanner{Client: c}, failOpen
	})
	return r, srv
}

func TestMalwareScan(t *testing.T) {
	tiny := shared(t, "attacks", "valid_tiny.png")
	infected := append(append([]byte{}, tiny...), clamdtest.EICAR...)

	t.Run("clean file is scanned and kept", func(t *testing.T) {
		r, srv := scanRig(t, false)
		if _, err := r.svc.Accept(context.Background(), r.user, "t.png",
			bytes.NewReader(tiny)); err != nil {
			t.Fatal(err)
		}
		if srv.Scans() != 1 || srv.Bytes() != int64(len(tiny)) {
			t.Errorf("scans %d bytes %d", srv.Scans(), srv.Bytes())
		}
	})
	t.Run("infected file is refused", func(t *testing.T) {
		r, _ := scanRig(t, false)
		// The picture itself decodes: only the scanner stands between it and the store.
		if _, err := media.Clean(bytes.NewReader(infected), "t.png", media.Limits{}); err != nil {
			t.Fatalf("the test file should decode: %v", err)
		}
		_, err := r.svc.Accept(context.Background(), r.user, "t.png", bytes.NewReader(infected))
		if kindOf(t, err) != fault.Invalid || !strings.Contains(fault.As(err).Message, "malware") {
			t.Fatalf("infected upload: %v", err)
		}
		r.assertNothingKept(t)
	})
	t.Run("scanner down refuses by default", func(t *testing.T) {
		r, srv := scanRig(t, false)
		srv.Close()
		_, err := r.svc.Accept(context.Background(), r.user, "t.png", bytes.NewReader(tiny))
		if kindOf(t, err) != fault.Unavailable || !strings.Contains(fault.As(err).Message,
			"virus scanner") {
			t.Fatalf("scanner down: %v", err)
		}
		r.assertNothingKept(t)
	})
	t.Run("scanner down accepts when failing open", func(t *testing.T) {
		r, srv := scanRig(t, true)
		srv.Close()
		if _, err := r.svc.Accept(context.Background(), r.user, "t.png",
			bytes.NewReader(tiny)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStoreQueries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		r := newRigOn(t, db, nil)
		other := addUser(t, db, "other@example.com")
		ctx := context.Background()
		tiny := shared(t, "attacks", "valid_tiny.png")
		var got []string
		for range 3 {
			acc, err := r.svc.Accept(ctx, r.user, "t.png", bytes.NewReader(tiny))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, acc.Uploads[0].ID)
		}

		many, err := r.svc.GetMany(ctx, r.user, []string{got[2], got[0]})
		if err != nil || len(many) != 2 || many[0].ID != got[2] || many[1].ID != got[0] {
			t.Fatalf("GetMany: %v %v", many, err)
		}
		for _, bad := range [][]string{{got[0], got[0]}, {got[0], "nope"},
			{got[0], strings.Repeat("a", 32)}} {
			if _, err := r.svc.GetMany(ctx, r.user, bad); err == nil {
				t.Errorf("GetMany(%v) accepted", bad)
			}
		}
		if _, err := r.svc.GetMany(ctx, other, got); !errors.Is(err, ErrNotFound) {
			t.Errorf("another user's uploads: %v", err)
		}
		if _, err := r.svc.Get(ctx, other, got[0]); !errors.Is(err, ErrNotFound) {
			t.Errorf("another user's upload: %v", err)
		}

		f, n, err := r.svc.Open(ctx, many[0], Thumb)
		if err != nil || n == 0 {
			t.Fatalf("open thumb: %v", err)
		}
		f.Close()
		if err := r.svc.Discard(ctx, other, got); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Get(ctx, r.user, got[0]); err != nil {
			t.Fatalf("another user discarded an upload: %v", err)
		}
		if err := r.svc.Discard(ctx, r.user, got); err != nil {
			t.Fatal(err)
		}
		r.assertNothingKept(t)
	})
}

// FuzzAccept feeds arbitrary bytes and names to the pipeline: every outcome is an
// acceptance or a refusal with a safe message, never a panic or an internal error.
func FuzzAccept(f *testing.F) {
	f.Add(shared(f, "attacks", "valid_tiny.png"), "a.png")
	f.Add(shared(f, "attacks", "truncated.png"), "t.png")
	f.Add(shared(f, "attacks", "bomb_30000x30000.jpg"), "b.jpg")
	f.Add([]byte("PK\x05\x06"+strings.Repeat("\x00", 18)), "empty.zip")
	f.Add([]byte("PK\x03\x04garbage"), "x.zip")
	f.Add([]byte{}, "")
	r := newRig(f, func(o *Options) { o.Limits.MaxBytes = 1 << 20 })

	f.Fuzz(func(t *testing.T, data []byte, name string) {
		acc, err := r.svc.Accept(context.Background(), r.user, name, bytes.NewReader(data))
		if err == nil {
			if len(acc.Uploads) == 0 {
				t.Fatal("accepted nothing without an error")
			}
			return
		}
		fe := fault.As(err)
		if fe == nil || fe.Kind == fault.Internal || fe.Message == "" {
			t.Fatalf("refusal without a safe face: %v", err)
		}
	})
}

func TestThumbnailsAreWebPAt256And768(t *testing.T) {
	r := newRig(t, nil)
	acc, err := r.svc.Accept(context.Background(), r.user, "wide.png",
		bytes.NewReader(pngOf(t, 2000, 1000, color.NRGBA{200, 100, 50, 255})))
	if err != nil {
		t.Fatal(err)
	}
	u := acc.Uploads[0]
	stored := r.storedFiles(t, u)
	for key, want := range map[string]image.Point{u.ThumbKey: {256, 128},
		u.PreviewKey: {768, 384}, u.BlobKey: {2000, 1000}} {
		img, format, err := image.Decode(bytes.NewReader(stored[key]))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if img.Bounds().Size() != want {
			t.Errorf("%s: %v, want %v", key, img.Bounds().Size(), want)
		}
		if key != u.BlobKey && format != "webp" {
			t.Errorf("%s is %s, not WebP", key, format)
		}
	}
}
