package upload

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"runtime"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// testAdmission is an admission of 100 bytes for four processors: every picture counts
// for at least 25.
func testAdmission() *admission {
	return newAdmission(100, 4, slog.New(slog.DiscardHandler))
}

// ended is a context that has already ended. A picture there is room for is let in at
// once whatever its context, so admitting with it tells, without waiting, whether there
// is room now.
func ended() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// admitted is the outcome of an admit call made in the background.
type admitted struct {
	release func()
	err     error
}

// admitLater asks for size bytes in the background.
func admitLater(ctx context.Context, a *admission, size int64) <-chan admitted {
	ch := make(chan admitted, 1)
	go func() {
		release, err := a.admit(ctx, size)
		ch <- admitted{release, err}
	}()
	return ch
}

// untilWaiting returns once n pictures wait for their turn, and fails the test when the
// call watched by got finishes first: it should have been made to wait.
func untilWaiting(t *testing.T, a *admission, n int64, got <-chan admitted) {
	t.Helper()
	for a.waiting.Load() < n {
		select {
		case res := <-got:
			t.Fatalf("let in without waiting (error %v)", res.err)
		default:
			runtime.Gosched()
		}
	}
}

// stillWaiting fails the test when the call watched by got has finished.
func stillWaiting(t *testing.T, got <-chan admitted) {
	t.Helper()
	select {
	case res := <-got:
		t.Fatalf("let in while the budget was taken (error %v)", res.err)
	default:
	}
}

func TestLargePicturesAreDecodedOneAtATime(t *testing.T) {
	a := testAdmission()
	first, err := a.admit(ended(), 60)
	if err != nil {
		t.Fatalf("the first large picture waited: %v", err)
	}

	second := admitLater(context.Background(), a, 60)
	untilWaiting(t, a, 1, second)
	stillWaiting(t, second)
	first()
	res := <-second
	if res.err != nil {
		t.Fatalf("the second large picture was not let in after the first: %v", res.err)
	}
	if _, err := a.admit(ended(), 60); err == nil {
		t.Fatal("a third large picture was let in beside the second")
	}
	res.release()
}

func TestSmallPicturesAreDecodedTogether(t *testing.T) {
	a := testAdmission()
	var releases []func()
	for i := range 4 {
		release, err := a.admit(ended(), 10)
		if err != nil {
			t.Fatalf("small picture %d waited with %d others in: %v", i+1, i, err)
		}
		releases = append(releases, release)
	}
	// Each counts for a processor's share, so a fifth waits although its bytes would fit.
	if _, err := a.admit(ended(), 10); err == nil {
		t.Fatal("more small pictures were let in than there are processors")
	}
	releases[0]()
	if _, err := a.admit(ended(), 10); err != nil {
		t.Fatalf("a small picture waited for a free share: %v", err)
	}
}

func TestWaitingForATurnEndsWithTheContext(t *testing.T) {
	a := testAdmission()
	first, err := a.admit(ended(), 100)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	second := admitLater(ctx, a, 50)
	untilWaiting(t, a, 1, second)
	cancel()
	if res := <-second; !errors.Is(res.err, context.Canceled) {
		t.Fatalf("waiting ended with %v, want the context's end", res.err)
	}
	if n := a.waiting.Load(); n != 0 {
		t.Fatalf("%d pictures still counted as waiting", n)
	}

	first()
	if _, err := a.admit(ended(), 100); err != nil {
		t.Fatalf("the abandoned wait kept part of the budget: %v", err)
	}
}

func TestPictureLargerThanTheBudgetIsDecodedAlone(t *testing.T) {
	a := testAdmission()
	small, err := a.admit(ended(), 10)
	if err != nil {
		t.Fatal(err)
	}

	// A guard against a regression that would wait for ever, not a measure of speed.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	huge := admitLater(ctx, a, 1000)
	untilWaiting(t, a, 1, huge)
	stillWaiting(t, huge)
	small()
	res := <-huge
	if res.err != nil {
		t.Fatalf("a picture over the budget was never let in: %v", res.err)
	}
	if _, err := a.admit(ended(), 10); err == nil {
		t.Fatal("a small picture was let in beside one over the budget")
	}
	res.release()
	if _, err := a.admit(ended(), 10); err != nil {
		t.Fatalf("the budget was not given back: %v", err)
	}
}

func TestMemoryIsCollectedAfterALargePicture(t *testing.T) {
	a := testAdmission()
	release, err := a.admit(ended(), 60)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	release()
	runtime.ReadMemStats(&after)
	if after.NumForcedGC == before.NumForcedGC {
		t.Fatal("no collection ran when a large picture gave its share back")
	}
}

func TestUploadOverTheDecodeBudgetIsAccepted(t *testing.T) {
	r := newRig(t, func(o *Options) { o.DecodeBudget = 1 << 10 })
	// A guard against a regression that would wait for ever, not a measure of speed.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	data := pngOf(t, 200, 100, color.NRGBA{10, 20, 30, 255}) // 80 KB of pixels
	acc, err := r.svc.Accept(ctx, r.user, "big.png", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("a picture larger than the whole budget was refused: %v", err)
	}
	u := acc.Uploads[0]
	stored := r.storedFiles(t, u)
	if u.SizeBytes != int64(len(stored[u.BlobKey])) {
		t.Errorf("recorded %d bytes, stored %d", u.SizeBytes, len(stored[u.BlobKey]))
	}
}

func TestUploadWaitingForItsTurnEndsWithTheRequest(t *testing.T) {
	r := newRig(t, nil)
	busy, err := r.svc.decodes.admit(ended(), DefaultDecodeBudget)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	data := pngOf(t, 64, 64, color.NRGBA{1, 2, 3, 255})
	done := make(chan error, 1)
	go func() {
		_, err := r.svc.Accept(ctx, r.user, "small.png", bytes.NewReader(data))
		done <- err
	}()
	for r.svc.decodes.waiting.Load() < 1 {
		select {
		case err := <-done:
			t.Fatalf("the upload did not wait for the busy budget (error %v)", err)
		default:
			runtime.Gosched()
		}
	}
	cancel()
	err = <-done
	if kindOf(t, err) != fault.Unavailable || !errors.Is(err, context.Canceled) {
		t.Fatalf("ended with %v, want an unavailable fault wrapping the cancellation", err)
	}
	r.assertNothingKept(t)

	busy()
	if _, err := r.svc.Accept(context.Background(), r.user, "small.png",
		bytes.NewReader(data)); err != nil {
		t.Fatalf("an upload after the wait was refused: %v", err)
	}
}

func TestPreviewAndThumbnailMatchThePicture(t *testing.T) {
	r := newRig(t, nil)
	src := quadrants(2400, 1800)
	acc, err := r.svc.Accept(context.Background(), r.user, "quadrants.png",
		bytes.NewReader(encodePNG(t, src)))
	if err != nil {
		t.Fatal(err)
	}
	u := acc.Uploads[0]
	stored := r.storedFiles(t, u)

	for key, side := range map[string]int{u.PreviewKey: PreviewSide, u.ThumbKey: ThumbSide} {
		// DecodeLimited reads WebP's video-range colour as it is meant; image.Decode
		// would not.
		got, _, err := media.DecodeLimited(stored[key], media.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		want := image.NewRGBA(image.Rect(0, 0, side, side*3/4))
		if got.Bounds() != want.Rect {
			t.Fatalf("%s is %v, want %v", key, got.Bounds(), want.Rect)
		}
		// The reference is the filter the service used before, in one pass from the
		// original; WebP's own loss is in the margin.
		draw.CatmullRom.Scale(want, want.Rect, src, src.Rect, draw.Src, nil)
		var total, worst float64
		for y := 0; y < want.Rect.Dy(); y++ {
			for x := 0; x < want.Rect.Dx(); x++ {
				g := color.RGBAModel.Convert(got.At(x, y)).(color.RGBA)
				w := want.RGBAAt(x, y)
				for _, d := range []float64{float64(g.R) - float64(w.R),
					float64(g.G) - float64(w.G), float64(g.B) - float64(w.B)} {
					total += math.Abs(d)
					worst = math.Max(worst, math.Abs(d))
				}
			}
		}
		mean := total / float64(3*want.Rect.Dx()*want.Rect.Dy())
		if mean > 3 {
			t.Errorf("%s differs from the picture by %.2f levels on average (worst %.0f)",
				key, mean, worst)
		}
	}
}

// encodePNG encodes img as PNG.
func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// quadrants is a w×h picture of four colours with a gradient across each: any shift,
// flip or colour mix-up in a scaled copy shows.
func quadrants(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	base := [4]color.NRGBA{{220, 40, 40, 255}, {40, 200, 60, 255}, {30, 60, 210, 255},
		{230, 220, 50, 255}}
	for y := range h {
		for x := range w {
			c := base[2*(2*y/h)+2*x/w]
			shade := uint8(x * 30 / w)
			img.SetNRGBA(x, y, color.NRGBA{c.R - min(c.R, shade), c.G - min(c.G, shade),
				c.B - min(c.B, shade), 255})
		}
	}
	return img
}
