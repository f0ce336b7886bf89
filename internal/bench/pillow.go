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

// pillowScript decodes the file, resizes it so its longer side is 256 pixels with a
// bicubic filter (media.Thumbnail's Catmull-Rom is bicubic) and encodes WebP at quality 80
// and method 2, as SketchMaker's thumbnail does; it prints the median seconds of one pass.
const pillowScript = `
import io, sys, time
from PIL import Image
path, runs = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
def once():
    im = Image.open(io.BytesIO(data))
    im.load()
    w, h = im.size
    s = 256 / max(w, h)
    small = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.BICUBIC)
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80, method=2)
once()
times = []
for _ in range(runs):
    t = time.perf_counter()
    once()
    times.append(time.perf_counter() - t)
times.sort()
print(times[len(times) // 2])
`

// errNoPillow explains how to get the reference when Pillow is missing.
var errNoPillow = errors.New("Pillow is not installed for this Python; install it with " +
	"apt-get install -y python3-pil and run with -python /usr/bin/python3")

// pillow returns Pillow's median time to decode, resize and WebP-encode the file at path.
func pillow(ctx context.Context, python, path string, runs int) (time.Duration, error) {
	if python == "" {
		return 0, errNoPillow
	}
	probe := exec.CommandContext(ctx, python, "-c", "import PIL.Image, PIL.WebPImagePlugin")
	if err := probe.Run(); err != nil {
		return 0, errNoPillow
	}

	cmd := exec.CommandContext(ctx, python, "-c", pillowScript, path, strconv.Itoa(runs))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("run Pillow: %w: %.200s", err, stderr.String())
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0, fmt.Errorf("read Pillow's time %q: %w", out, err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
