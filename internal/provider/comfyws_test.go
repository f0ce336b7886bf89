package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/sketchmaker/sketchmaker/internal/provider"
)

// comfyWS scripts a ComfyUI that speaks its websocket: /ws accepts a client id, and once
// /prompt queued a prompt for that client, the socket sends the script's messages. The
// history says the prompt is done only after the script ran (or never, when held).
type comfyWS struct {
	mu       sync.Mutex
	clientID string // of the socket
	queuedBy string // client_id of the /prompt body
	queued   chan struct{}
	polled   chan struct{} // closed at the first /history request
	pollOnce sync.Once
	sent     atomic.Bool
	script   []map[string]any
	drop     bool // close the socket after the script instead of keeping it open
	status   string
}

func newComfyWS(t *testing.T, f *fake, script []map[string]any) *comfyWS {
	c := &comfyWS{queued: make(chan struct{}), polled: make(chan struct{}), script: script, status: "success"}
	f.on("GET /ws", c.serveWS(t))
	f.on("POST /prompt", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ClientID string `json:"client_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		c.mu.Lock()
		c.queuedBy = body.ClientID
		c.mu.Unlock()
		close(c.queued)
		writeJSON(w, http.StatusOK, map[string]any{"prompt_id": "p-ws", "number": 1})
	})
	f.on("GET /history/p-ws", func(w http.ResponseWriter, r *http.Request) {
		c.pollOnce.Do(func() { close(c.polled) })
		if !c.sent.Load() {
			writeJSON(w, http.StatusOK, map[string]any{})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"p-ws": map[string]any{
			"outputs": map[string]any{"9": map[string]any{"images": []map[string]any{
				{"filename": "sm_0001.png", "subfolder": "", "type": "output"}}}},
			"status": map[string]any{"status_str": c.status, "completed": true}}})
	})
	f.on("GET /queue", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"queue_running": [][]any{},
			"queue_pending": [][]any{{1, "p-ws"}}})
	})
	img := pngOf(t, 8, 8)
	f.on("GET /view", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(img) })
	return c
}

func (c *comfyWS) serveWS(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer conn.CloseNow()
		c.mu.Lock()
		c.clientID = r.URL.Query().Get("clientId")
		c.mu.Unlock()

		ctx := r.Context()
		select {
		case <-c.queued:
		case <-time.After(10 * time.Second):
			return
		}
		// A binary preview frame first, as ComfyUI sends while sampling.
		_ = conn.Write(ctx, websocket.MessageBinary, make([]byte, 4096))
		_ = wsjson.Write(ctx, conn, map[string]any{"type": "status",
			"data": map[string]any{"status": map[string]any{"exec_info": map[string]any{
				"queue_remaining": 1}}}})
		for i, m := range c.script {
			if i == len(c.script)-1 {
				// The end only after the provider read /history once and went to wait.
				select {
				case <-c.polled:
				case <-time.After(10 * time.Second):
				}
				c.sent.Store(true)
			}
			if err := wsjson.Write(ctx, conn, m); err != nil {
				return
			}
		}
		if c.drop {
			return
		}
		_, _, _ = conn.Read(ctx) // until the client closes
	}
}

func wsMsg(typ string, data map[string]any) map[string]any {
	return map[string]any{"type": typ, "data": data}
}

// TestComfyUIWebsocketDrivesProgress checks that progress comes from ComfyUI's websocket
// and that its end message makes the provider read /history at once, for success and for
// failure; the polling interval is an hour, so only the websocket can finish the call.
func TestComfyUIWebsocketDrivesProgress(t *testing.T) {
	steps := []map[string]any{
		wsMsg("execution_start", map[string]any{"prompt_id": "p-ws"}),
		wsMsg("progress", map[string]any{"value": 5, "max": 20, "prompt_id": "p-ws"}),
		wsMsg("progress", map[string]any{"value": 999, "max": 7, "prompt_id": "other"}),
		wsMsg("progress", map[string]any{"value": 10, "max": 20, "prompt_id": "p-ws"}),
	}
	cases := []struct {
		name   string
		end    map[string]any
		status string
		fails  bool
	}{
		{"executing null", wsMsg("executing", map[string]any{"node": nil,
			"prompt_id": "p-ws"}), "success", false},
		{"execution_error", wsMsg("execution_error", map[string]any{"prompt_id": "p-ws",
			"exception_message": "out of memory"}), "error", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, sl := newFake(t), &sleeps{}
			ws := newComfyWS(t, f, append(slices.Clone(steps), c.end))
			ws.status = c.status
			p := imageProvider(t, f, sl, provider.ComfyUI, func(s *provider.Settings) {
				s.ComfyWorkflow = []byte(workflow)
				s.PollInterval = time.Hour
			})
			var mu sync.Mutex
			var pcts []int
			var msgs []string
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pics, err := p.Generate(ctx, &provider.Call{
				Model: modelOf(t, "comfyui/default"), Request: basicRequest(),
				Progress: func(pct int, m string) {
					mu.Lock()
					pcts, msgs = append(pcts, pct), append(msgs, m)
					mu.Unlock()
				}})
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("the provider waited for the polling interval, not the websocket")
			}
			if c.fails != (err != nil) || !c.fails && len(pics) != 1 {
				t.Fatalf("%d pictures, %v", len(pics), err)
			}

			ws.mu.Lock()
			defer ws.mu.Unlock()
			if len(ws.clientID) != 32 || ws.clientID != ws.queuedBy {
				t.Errorf("socket client %q, prompt client_id %q", ws.clientID, ws.queuedBy)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Contains(msgs, "Generating at ComfyUI (step 10 of 20)") ||
				!slices.Contains(pcts, 30) || !slices.Contains(pcts, 50) {
				t.Errorf("progress %v %q", pcts, msgs)
			}
			for _, m := range msgs {
				if strings.Contains(m, "999") {
					t.Errorf("another prompt's progress reported: %q", m)
				}
			}
		})
	}
}

// TestComfyUIFallsBackToPolling checks that a websocket that is refused, or lost before
// the prompt ends, leaves /history polling to finish the job.
func TestComfyUIFallsBackToPolling(t *testing.T) {
	for _, refused := range []bool{true, false} {
		f, sl := newFake(t), &sleeps{}
		ws := newComfyWS(t, f, []map[string]any{wsMsg("progress", map[string]any{
			"value": 1, "max": 4, "prompt_id": "p-ws"})})
		ws.drop = true
		if refused {
			f.on("GET /ws", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no websocket here", http.StatusNotFound)
			})
			ws.sent.Store(true)
		}
		var polls atomic.Int32
		f.on("GET /history/p-ws", func(w http.ResponseWriter, r *http.Request) {
			ws.pollOnce.Do(func() { close(ws.polled) })
			if polls.Add(1) < 3 {
				writeJSON(w, http.StatusOK, map[string]any{})
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"p-ws": map[string]any{
				"outputs": map[string]any{"9": map[string]any{"images": []map[string]any{
					{"filename": "a.png", "subfolder": "", "type": "output"}}}},
				"status": map[string]any{"status_str": "success", "completed": true}}})
		})
		p := comfyProvider(t, f, sl)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		pics, err := p.Generate(ctx, &provider.Call{Model: modelOf(t, "comfyui/default"),
			Request: basicRequest()})
		cancel()
		if err != nil || len(pics) != 1 || polls.Load() != 3 {
			t.Fatalf("refused=%v: %d pictures, %v, %d polls", refused, len(pics), err,
				polls.Load())
		}
	}
}
