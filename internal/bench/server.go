package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running sketchmaker binary under test.
type Server struct {
	URL  string // http://127.0.0.1:port
	cmd  *exec.Cmd
	log  *os.File
	exit chan error
}

// StartServer runs bin serve with env (and nothing of this process's environment but
// PATH and HOME) on a free loopback port, in dir, and waits until /healthz answers.
func StartServer(ctx context.Context, bin, dir string, env map[string]string) (*Server,
	error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "server.log"),
		os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open server log: %w", err)
	}

	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"SKETCHMAKER_ADDR=127.0.0.1:" + strconv.Itoa(port)}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}

	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, log: logFile,
		exit: make(chan error, 1)}
	go func() { s.exit <- cmd.Wait() }()
	if err := s.waitHealthy(ctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w (see %s)", err, logFile.Name())
	}
	return s, nil
}

// waitHealthy polls /healthz for up to a minute.
func (s *Server) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exit:
			s.exit <- err
			return fmt.Errorf("server exited while starting: %v", err)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/healthz", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("server did not answer /healthz within a minute")
}

// PID returns the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Memory returns the server's resident set and its high-water mark, in bytes.
func (s *Server) Memory() (rss, hwm float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil {
		return 0, 0, fmt.Errorf("read server memory: %w", err)
	}
	defer f.Close()

	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 64)
		if name == "VmRSS" {
			rss = kb * 1024
		} else {
			hwm = kb * 1024
		}
	}
	return rss, hwm, sc.Err()
}

// ResetPeak sets the server's memory high-water mark back to its current resident set
// (Linux's clear_refs), so the next Memory reports the peak from now on.
func (s *Server) ResetPeak() error {
	path := fmt.Sprintf("/proc/%d/clear_refs", s.PID())
	if err := os.WriteFile(path, []byte("5"), 0); err != nil {
		return fmt.Errorf("reset server memory peak: %w", err)
	}
	return nil
}

// Stop asks the server to shut down and kills it when it has not after 20 seconds.
func (s *Server) Stop() {
	defer s.log.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
