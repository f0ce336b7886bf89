package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Uploads configure the upload pipeline, its optional malware scan, and style training.
// The size of one file and of one upload request is MaxUploadBytes (MAX_CONTENT_LENGTH).
type Uploads struct {
	MaxSide   int   // widest or tallest image accepted, in pixels
	MaxPixels int64 // most pixels an image may have

	// ClamAVAddress is the host:port of a clamd daemon; empty turns scanning off.
	ClamAVAddress string
	// ClamAVFailOpen accepts uploads unscanned while the daemon cannot be reached;
	// the default refuses them.
	ClamAVFailOpen bool
	ClamAVTimeout  time.Duration

	// TrainingBackend is "builtin" (offline style profiles) or "fal" (LoRA training on
	// FAL, which needs FAL_KEY).
	TrainingBackend string
}

// positive returns a setter for a whole number from lo to hi.
func positive(dst func(*Config) *int64, lo, hi int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		*dst(c) = n
		return nil
	}
}

func setUploadMaxSide(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 64 || n > 65535 {
		return errors.New("must be a whole number of pixels from 64 to 65535")
	}
	c.Uploads.MaxSide = n
	return nil
}

func setClamAVAddress(c *Config, v string) error {
	c.Uploads.ClamAVAddress = ""
	if v == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" || port == "" {
		return errors.New("must be host:port of a clamd daemon listening on TCP, such as " +
			"127.0.0.1:3310")
	}
	c.Uploads.ClamAVAddress = v
	return nil
}

func setTrainingBackend(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "builtin", "fal":
		c.Uploads.TrainingBackend = strings.ToLower(v)
		return nil
	}
	return fmt.Errorf("must be builtin or fal, not %q", v)
}
