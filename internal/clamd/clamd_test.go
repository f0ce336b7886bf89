package clamd_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/clamd"
	"github.com/sketchmaker/sketchmaker/internal/clamd/clamdtest"
)

func TestScanVerdicts(t *testing.T) {
	srv := clamdtest.Start(t)
	c := &clamd.Client{Addr: srv.Addr}
	big := bytes.Repeat([]byte("harmless bytes "), 20000) // several chunks

	cases := []struct {
		name     string
		data     []byte
		infected bool
	}{
		{"empty", nil, false},
		{"small", []byte("hello"), false},
		{"several chunks", big, false},
		{"eicar", []byte(clamdtest.EICAR), true},
		{"eicar after many chunks", append(append([]byte{}, big...), clamdtest.EICAR...), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Bytes()
			err := c.Scan(context.Background(), bytes.NewReader(tc.data))
			if got := srv.Bytes() - before; got != int64(len(tc.data)) {
				t.Errorf("daemon received %d bytes, want %d", got, len(tc.data))
			}
			if !tc.infected {
				if err != nil {
					t.Fatalf("clean stream: %v", err)
				}
				return
			}
			var ie *clamd.InfectedError
			if !errors.As(err, &ie) || !errors.Is(err, clamd.ErrInfected) {
				t.Fatalf("infected stream: %v", err)
			}
			if ie.Signature != clamdtest.Signature {
				t.Errorf("signature %q", ie.Signature)
			}
		})
	}
}

func TestPing(t *testing.T) {
	srv := clamdtest.Start(t)
	if err := (&clamd.Client{Addr: srv.Addr}).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDaemonDownIsUnavailable(t *testing.T) {
	srv := clamdtest.Start(t)
	srv.Close()
	c := &clamd.Client{Addr: srv.Addr}
	err := c.Scan(context.Background(), strings.NewReader("x"))
	if !errors.Is(err, clamd.ErrUnavailable) {
		t.Fatalf("scan with the daemon down: %v", err)
	}
	if err := c.Ping(context.Background()); !errors.Is(err, clamd.ErrUnavailable) {
		t.Fatalf("ping with the daemon down: %v", err)
	}
}

// TestSilentDaemonTimesOut uses a listener that accepts and never answers.
func TestSilentDaemonTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()

	c := &clamd.Client{Addr: ln.Addr().String(), Timeout: 200 * time.Millisecond}
	if err := c.Scan(context.Background(), strings.NewReader("x")); !errors.Is(err,
		clamd.ErrUnavailable) {
		t.Fatalf("silent daemon: %v", err)
	}
}

func TestParseReply(t *testing.T) {
	cases := []struct {
		reply     string
		signature string // "" for a clean verdict
		broken    bool
	}{
		{"stream: OK", "", false},
		{"1: stream: OK", "", false},
		{"stream: Eicar-Test-Signature FOUND", "Eicar-Test-Signature", false},
		{"2: stream: Win.Test.EICAR_HDB-1 FOUND", "Win.Test.EICAR_HDB-1", false},
		{"stream:  FOUND", "unnamed signature", false},
		{"INSTREAM size limit exceeded. ERROR", "", true},
		{"stream: lstat() failed. ERROR", "", true},
		{"", "", true},
		{"PONG", "", true},
	}
	for _, tc := range cases {
		err := clamd.ParseReply(tc.reply)
		var ie *clamd.InfectedError
		switch {
		case tc.broken:
			if !errors.Is(err, clamd.ErrUnavailable) {
				t.Errorf("%q: %v, want unavailable", tc.reply, err)
			}
		case tc.signature != "":
			if !errors.As(err, &ie) || ie.Signature != tc.signature {
				t.Errorf("%q: %v, want %s", tc.reply, err, tc.signature)
			}
		case err != nil:
			t.Errorf("%q: %v, want clean", tc.reply, err)
		}
	}
}

// FuzzParseReply checks that any answer is a clean verdict, a bounded signature, or
// unavailable, never a panic.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"stream: OK", "stream: X FOUND", "1: stream: OK", "ERROR",
		"stream: \xff FOUND", strings.Repeat("stream: ", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		err := clamd.ParseReply(reply)
		var ie *clamd.InfectedError
		switch {
		case err == nil:
		case errors.As(err, &ie):
			if len(ie.Signature) > 120 || ie.Signature == "" {
				t.Fatalf("signature %q", ie.Signature)
			}
		case !errors.Is(err, clamd.ErrUnavailable):
			t.Fatalf("unexpected error %v", err)
		}
	})
}
