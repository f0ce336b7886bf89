package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// pillowScript decodes the file, resizes it so its longer side is 256 pixels and encodes
// WebP at quality 80 and method 2, as SketchMaker's thumbnail does. It times two resizes
// and prints the median seconds of a whole pass with each: first reducing by whole
// factors with a box filter until within twice the size and then bicubic
// (reducing_gap=2.0, the algorithm of media.Thumbnail), then bicubic over the whole
// picture (Pillow's plain resize). A third pass also re-encodes the whole picture as PNG
// at Pillow's fastest compression level, as SketchMaker stores a provider's picture.
const pillowScript = `
import io, sys, time
from PIL import Image
path, runs = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
def once(gap, reencode=False):
    im = Image.open(io.BytesIO(data))
    im.load()
    if reencode:
        im.save(io.BytesIO(), "PNG", compress_level=1)
    w, h = im.size
    s = 256 / max(w, h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = im.resize(size, Image.BICUBIC, reducing_gap=gap)
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80, method=2)
def median(gap, reencode=False):
    once(gap, reencode)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        once(gap, reencode)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]
print(median(2.0), median(None), median(2.0, True))
`

// errNoPillow explains how to get the reference when Pillow is missing.
var errNoPillow = errors.New("no Pillow in this Python; install Debian's python3-pil " +
	"(apt-get install -y python3-pil) and run with -python /usr/bin/python3")

// pillowTimes are Pillow's median times for one file.
type pillowTimes struct {
	same     time.Duration // decode, media.Thumbnail's resize, WebP
	plain    time.Duration // the same with Pillow's plain bicubic resize
	reencode time.Duration // the first, plus a PNG re-encode of the whole picture
}

// pillow returns Pillow's median times to decode, resize and WebP-encode the file at
// path (see pillowScript).
func pillow(ctx context.Context, python, path string, runs int) (pillowTimes, error) {
	if python == "" {
		return pillowTimes{}, errNoPillow
	}
	probe := exec.CommandContext(ctx, python, "-c", "import PIL.Image, PIL.WebPImagePlugin")
	if err := probe.Run(); err != nil {
		return pillowTimes{}, errNoPillow
	}

	cmd := exec.CommandContext(ctx, python, "-c", pillowScript, path, strconv.Itoa(runs))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return pillowTimes{}, fmt.Errorf("run Pillow: %w: %.200s", err, stderr.String())
	}
	f := strings.Fields(string(out))
	if len(f) != 3 {
		return pillowTimes{}, fmt.Errorf("read Pillow's times from %q", out)
	}
	var d [3]time.Duration
	for i := range d {
		secs, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return pillowTimes{}, fmt.Errorf("read Pillow's time %q: %w", f[i], err)
		}
		d[i] = time.Duration(secs * float64(time.Second))
	}
	return pillowTimes{same: d[0], plain: d[1], reencode: d[2]}, nil
}
