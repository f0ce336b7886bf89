package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Limits of ComfyUI's websocket.
const (
	comfyDialTimeout = 10 * time.Second
	comfyMaxFrame    = 32 << 20 // binary preview images are read and dropped
	comfyMaxText     = 1 << 20  // a JSON message larger than this is ignored
	// comfySlowPoll is how often /history is still read while the websocket is live, in
	// case a message is lost.
	comfySlowPoll = 10 * time.Second
)

// comfyStream follows one prompt on ComfyUI's websocket (/ws?clientId=...): progress
// messages become progress reports, and the end of the prompt (done, failed or
// interrupted) wakes the waiting loop so /history is read at once. The stream only ever
// hints; the result always comes from /history.
type comfyStream struct {
	conn    *websocket.Conn
	cancel  context.CancelFunc
	wake    chan struct{} // one token when the prompt ended or the stream was lost
	ended   chan struct{} // closed when the reader stopped
	started atomic.Bool   // a progress message about the prompt arrived
}

// comfyMessage is one JSON message of ComfyUI's websocket.
type comfyMessage struct {
	Type string `json:"type"`
	Data struct {
		PromptID string           `json:"prompt_id"`
		Node     *json.RawMessage `json:"node"`
		Value    float64          `json:"value"`
		Max      float64          `json:"max"`
	} `json:"data"`
}

// dialStream opens ComfyUI's websocket for clientID through the provider's outbound client,
// so the address policy (and the administrator's trusted host:port) applies to it as to
// every other call; websocket.Dial turns the client's total timeout into a handshake
// deadline only. It returns nil when the socket cannot be opened; polling then does
// all the work.
func (p *comfyProvider) dialStream(ctx context.Context, clientID string) *comfyStream {
	dctx, cancel := context.WithTimeout(ctx, comfyDialTimeout)
	defer cancel()
	u := p.base + "/ws?" + url.Values{"clientId": {clientID}}.Encode()
	conn, res, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		HTTPClient: p.call.client, HTTPHeader: p.call.header.Clone()})
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	if err != nil {
		return nil
	}
	conn.SetReadLimit(comfyMaxFrame)
	return &comfyStream{conn: conn, wake: make(chan struct{}, 1),
		ended: make(chan struct{})}
}

// follow reads the stream's messages about prompt id until the prompt ends, the stream
// fails or ctx ends.
func (s *comfyStream) follow(ctx context.Context, call *Call, id string) {
	if s == nil {
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	go func() {
		defer close(s.ended)
		defer s.signal()
		for {
			m, err := s.next(ctx)
			if err != nil {
				return
			}
			if m == nil || m.Data.PromptID != "" && m.Data.PromptID != id {
				continue
			}
			if s.handle(call, m) {
				return
			}
		}
	}()
}

// next returns the next JSON message, or nil for a binary or unreadable one.
func (s *comfyStream) next(ctx context.Context) (*comfyMessage, error) {
	typ, r, err := s.conn.Reader(ctx)
	if err != nil {
		return nil, err
	}
	var data []byte
	if typ == websocket.MessageText {
		data, err = io.ReadAll(io.LimitReader(r, comfyMaxText+1))
		if err != nil {
			return nil, err
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	var m comfyMessage
	if len(data) == 0 || len(data) > comfyMaxText || json.Unmarshal(data, &m) != nil {
		return nil, nil
	}
	return &m, nil
}

// handle reports one message about the prompt and says whether the prompt has ended.
func (s *comfyStream) handle(call *Call, m *comfyMessage) bool {
	switch m.Type {
	case "execution_start":
		s.started.Store(true)
		call.progress(10, "Generating at ComfyUI")
	case "progress":
		if m.Data.Max <= 0 || m.Data.Value < 0 || m.Data.Value > m.Data.Max {
			return false
		}
		s.started.Store(true)
		call.progress(10+int(80*m.Data.Value/m.Data.Max), fmt.Sprintf(
			"Generating at ComfyUI (step %d of %d)", int(m.Data.Value), int(m.Data.Max)))
	case "executing":
		return m.Data.Node == nil // node null: nothing left to run
	case "execution_error", "execution_interrupted", "execution_success":
		return true
	}
	return false
}

// signal leaves one wake-up token for the waiting loop.
func (s *comfyStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// live reports whether the stream is still being read.
func (s *comfyStream) live() bool {
	if s == nil {
		return false
	}
	select {
	case <-s.ended:
		return false
	default:
		return true
	}
}

// reporting reports whether the stream is giving the prompt's progress, so the estimate
// from the queue and elapsed time is not needed.
func (s *comfyStream) reporting() bool { return s.live() && s.started.Load() }

// sleep waits for the next /history poll: poll while the stream is not live, a slower
// safety poll while it is, and no longer than until the stream says the prompt ended.
func (s *comfyStream) sleep(ctx context.Context, poll time.Duration) error {
	if s == nil {
		return sleepCtx(ctx, poll)
	}
	d := poll
	if s.live() {
		d = max(poll, comfySlowPoll)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.wake:
		return nil
	case <-t.C:
		return nil
	}
}

// close stops the reader and drops the connection.
func (s *comfyStream) close() {
	if s == nil {
		return
	}
	if s.cancel != nil {
		s.cancel()
	}
	_ = s.conn.CloseNow()
	if s.cancel != nil {
		<-s.ended
	}
}
