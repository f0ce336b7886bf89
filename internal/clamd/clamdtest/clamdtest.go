// Package clamdtest runs a small clamd stand-in on a local TCP port for tests. It speaks the
// real protocol (zINSTREAM with length-prefixed chunks, zPING, NUL-terminated answers) and
// reports the EICAR test string wherever it appears in a stream.
package clamdtest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// EICAR is the industry's harmless anti-malware test string.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// Signature is the name the daemon gives EICAR, as ClamAV does.
const Signature = "Eicar-Test-Signature"

// StreamMaxLength is the largest stream the stand-in accepts, like clamd's setting of the
// same name (here 64 MB).
const StreamMaxLength = 64 << 20

// Server is a running stand-in.
type Server struct {
	Addr string

	ln      net.Listener
	scans   atomic.Int64
	scanned atomic.Int64
	wg      sync.WaitGroup
}

// Start listens on 127.0.0.1 and serves until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("clamdtest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; later connections are refused, as when the daemon is down.
func (s *Server) Close() {
	s.ln.Close()
	s.wg.Wait()
}

// Scans returns how many streams the server has judged.
func (s *Server) Scans() int64 { return s.scans.Load() }

// Bytes returns how many stream bytes the server has received.
func (s *Server) Bytes() int64 { return s.scanned.Load() }

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			s.handle(conn)
		}()
	}
}

// handle answers one command.
func (s *Server) handle(conn net.Conn) {
	r := bufio.NewReader(conn)
	cmd, err := r.ReadString(0)
	if err != nil {
		return
	}
	switch cmd {
	case "zPING\x00":
		conn.Write([]byte("PONG\x00"))
	case "zINSTREAM\x00":
		conn.Write([]byte(s.instream(r)))
	default:
		conn.Write([]byte("UNKNOWN COMMAND\x00"))
	}
}

// instream reads the chunks of one stream and returns the verdict.
func (s *Server) instream(r io.Reader) string {
	var data bytes.Buffer
	var prefix [4]byte
	for {
		if _, err := io.ReadFull(r, prefix[:]); err != nil {
			return "stream: read error. ERROR\x00"
		}
		n := int64(binary.BigEndian.Uint32(prefix[:]))
		if n == 0 {
			break
		}
		if int64(data.Len())+n > StreamMaxLength {
			return "INSTREAM size limit exceeded. ERROR\x00"
		}
		if _, err := io.CopyN(&data, r, n); err != nil {
			return "stream: read error. ERROR\x00"
		}
	}

	s.scans.Add(1)
	s.scanned.Add(int64(data.Len()))
	if bytes.Contains(data.Bytes(), []byte(EICAR)) {
		return "stream: " + Signature + " FOUND\x00"
	}
	return "stream: OK\x00"
}
