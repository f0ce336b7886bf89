package upload

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sketchmaker/sketchmaker/internal/clamd"
)

// ClamdScanner adapts a clamd client to Scanner.
type ClamdScanner struct {
	Client *clamd.Client
}

// Scan asks the daemon; a verdict of malware wraps ErrInfected.
func (c ClamdScanner) Scan(ctx context.Context, r io.Reader) error {
	err := c.Client.Scan(ctx, r)
	if errors.Is(err, clamd.ErrInfected) {
		return fmt.Errorf("%w: %w", ErrInfected, err)
	}
	return err
}
