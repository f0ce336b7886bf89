// Package clamd asks a ClamAV daemon whether a file carries malware. It speaks clamd's
// INSTREAM command over TCP: the file goes out in length-prefixed chunks and the daemon
// answers with one line naming what it found. An unreachable or confused daemon is an error
// wrapping ErrUnavailable, so that callers can choose to refuse or accept files while the
// scanner is down.
package clamd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// ErrUnavailable is wrapped by every failure to get a verdict: the daemon is down, slow,
// refused the stream or answered something unreadable.
var ErrUnavailable = errors.New("malware scanner unavailable")

// ErrInfected is wrapped by every *InfectedError.
var ErrInfected = errors.New("malware found")

// InfectedError is the verdict on a file the daemon recognised as malware.
type InfectedError struct {
	Signature string // the daemon's name for what it found, such as Eicar-Test-Signature
}

// Error names the signature.
func (e *InfectedError) Error() string { return "malware found: " + e.Signature }

// Unwrap lets callers test with errors.Is(err, ErrInfected).
func (e *InfectedError) Unwrap() error { return ErrInfected }

// DefaultTimeout bounds a whole scan when Client.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// chunkSize is the largest chunk sent at once; clamd accepts chunks up to its
// StreamMaxLength, and small chunks keep the memory of a scan flat.
const chunkSize = 64 << 10

// maxReply bounds the daemon's answer, which is one short line.
const maxReply = 4 << 10

// Client scans files with the clamd daemon at Addr (host:port).
type Client struct {
	Addr    string
	Timeout time.Duration // for a whole scan; zero means DefaultTimeout

	// Dial replaces the standard dialer when not nil (tests).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Scan streams everything read from r to the daemon and returns nil when it found nothing,
// an *InfectedError when it recognised malware, and an error wrapping ErrUnavailable when no
// verdict could be had.
func (c *Client) Scan(ctx context.Context, r io.Reader) error {
	conn, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	sendErr := send(conn, r)
	// The daemon may stop reading and answer early, for example when the stream passes its
	// size limit; its answer explains the failed write better than the write error does.
	reply, readErr := readReply(conn)
	if readErr != nil {
		if sendErr != nil {
			return fmt.Errorf("%w: send stream: %w", ErrUnavailable, sendErr)
		}
		return fmt.Errorf("%w: read verdict: %w", ErrUnavailable, readErr)
	}
	return ParseReply(reply)
}

// Ping checks that the daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	conn, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return fmt.Errorf("%w: send ping: %w", ErrUnavailable, err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return fmt.Errorf("%w: read pong: %w", ErrUnavailable, err)
	}
	if reply != "PONG" {
		return fmt.Errorf("%w: unexpected answer to ping %q", ErrUnavailable, clip(reply))
	}
	return nil
}

// connect dials the daemon with the scan's deadline set on the connection.
func (c *Client) connect(ctx context.Context) (net.Conn, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	dial := c.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: connect: %w", ErrUnavailable, err)
	}
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: set deadline: %w", ErrUnavailable, err)
	}
	return conn, nil
}

// send writes the INSTREAM command, the chunks of r and the terminating empty chunk.
func send(w io.Writer, r io.Reader) error {
	bw := bufio.NewWriterSize(w, chunkSize+4)
	if _, err := bw.WriteString("zINSTREAM\x00"); err != nil {
		return err
	}

	buf := make([]byte, chunkSize)
	var prefix [4]byte
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			binary.BigEndian.PutUint32(prefix[:], uint32(n))
			bw.Write(prefix[:])
			if _, werr := bw.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read file: %w", err)
		}
	}

	binary.BigEndian.PutUint32(prefix[:], 0)
	bw.Write(prefix[:])
	return bw.Flush()
}

// readReply reads one answer, which the z-prefixed commands end with a NUL byte.
func readReply(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxReply))
	if len(data) == 0 && err != nil {
		return "", err
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	} else if len(data) == 0 {
		return "", io.ErrUnexpectedEOF
	}
	return strings.TrimSpace(string(data)), nil
}

// ParseReply reads a verdict such as "stream: OK" or "stream: Eicar-Test-Signature FOUND".
// Anything else, including the daemon's own errors ("INSTREAM size limit exceeded. ERROR"),
// wraps ErrUnavailable.
func ParseReply(reply string) error {
	rest, ok := strings.CutPrefix(reply, "stream: ")
	if !ok {
		// Some builds answer with the session id first ("1: stream: OK").
		if i := strings.Index(reply, ": stream: "); i >= 0 {
			rest, ok = reply[i+len(": stream: "):], true
		}
	}
	switch {
	case ok && rest == "OK":
		return nil
	case ok && strings.HasSuffix(rest, " FOUND"):
		sig := clip(strings.TrimSpace(strings.TrimSuffix(rest, " FOUND")))
		if sig == "" {
			sig = "unnamed signature"
		}
		return &InfectedError{Signature: sig}
	}
	return fmt.Errorf("%w: daemon answered %q", ErrUnavailable, clip(reply))
}

// clip bounds text taken from the daemon before it reaches a log or a message.
func clip(s string) string {
	if len(s) > 120 {
		s = s[:120]
	}
	return strings.ToValidUTF8(s, "")
}
