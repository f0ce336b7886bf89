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
// picture (Pillow's plain resize).
const pillowScript = `
import io, sys, time
from PIL import Image
path, runs = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
def once(gap):
    im = Image.open(io.BytesIO(data))
    im.load()
    w, h = im.size
    s = 256 / max(w, h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = im.resize(size, Image.BICUBIC, reducing_gap=gap)
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80, method=2)
def median(gap):
    once(gap)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        once(gap)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]
print(median(2.0), median(None))
`

// errNoPillow explains how to get the reference when Pillow is missing.
var errNoPillow = errors.New("no Pillow in this Python; install Debian's python3-pil " +
	"(apt-get install -y python3-pil) and run with -python /usr/bin/python3")

// pillow returns Pillow's median times to decode, resize and WebP-encode the file at
// path: with the same resize as media.Thumbnail, and with Pillow's plain bicubic resize.
func pillow(ctx context.Context, python, path string, runs int) (same, plain time.Duration,
	err error) {
	if python == "" {
		return 0, 0, errNoPillow
	}
	probe := exec.CommandContext(ctx, python, "-c", "import PIL.Image, PIL.WebPImagePlugin")
	if err := probe.Run(); err != nil {
		return 0, 0, errNoPillow
	}

	cmd := exec.CommandContext(ctx, python, "-c", pillowScript, path, strconv.Itoa(runs))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("run Pillow: %w: %.200s", err, stderr.String())
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("read Pillow's times from %q", out)
	}
	var secs [2]float64
	for i := range secs {
		if secs[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return 0, 0, fmt.Errorf("read Pillow's time %q: %w", f[i], err)
		}
	}
	return time.Duration(secs[0] * float64(time.Second)),
		time.Duration(secs[1] * float64(time.Second)), nil
}
