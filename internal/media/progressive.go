package media

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"sync"
	"time"
)

// jpegtranTimeout bounds one lossless conversion to progressive JPEG.
const jpegtranTimeout = 10 * time.Second

// jpegtran is the path of Debian's jpegtran (package libjpeg-turbo-progs), or "" when it is
// not on PATH. It is looked up once, on first use.
var jpegtran = sync.OnceValue(func() string {
	path, err := exec.LookPath("jpegtran")
	if err != nil {
		return ""
	}
	return path
})

// ProgressiveJPEG reports whether JPEG output is written progressive: image/jpeg writes
// only baseline JPEG, which jpegtran (when on PATH) rewrites losslessly. Without it, JPEG
// output stays baseline; the server says so once at startup.
func ProgressiveJPEG() bool { return jpegtran() != "" }

// progressive returns the baseline JPEG as progressive JPEG, converted losslessly by the
// jpegtran at path with no metadata copied, or the baseline unchanged when path is empty
// or the conversion fails or grows out of bounds.
func progressive(path string, baseline []byte) []byte {
	if path == "" {
		return baseline
	}
	ctx, cancel := context.WithTimeout(context.Background(), jpegtranTimeout)
	defer cancel()

	out := &capped{max: 2*len(baseline) + 64<<10}
	cmd := exec.CommandContext(ctx, path, "-progressive", "-optimize", "-copy", "none")
	cmd.Stdin = bytes.NewReader(baseline)
	cmd.Stdout = out
	if err := cmd.Run(); err != nil || !isJPEG(out.buf.Bytes()) {
		return baseline
	}
	return out.buf.Bytes()
}

// isJPEG reports whether data starts with a JPEG start-of-image marker and ends with an
// end-of-image marker.
func isJPEG(data []byte) bool {
	return len(data) > 4 && bytes.HasPrefix(data, []byte{0xFF, 0xD8}) &&
		bytes.HasSuffix(data, []byte{0xFF, 0xD9})
}

// errTooLong stops a converter whose output passed its bound.
var errTooLong = errors.New("converter output too large")

// capped is a buffer that refuses to grow past max bytes.
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > c.max {
		return 0, errTooLong
	}
	return c.buf.Write(p)
}
