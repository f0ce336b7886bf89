package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sketchmaker/sketchmaker/internal/cli"
)

// bcryptCost is the production cost the sign-in scenario runs at (BCRYPT_LOG_ROUNDS).
const bcryptCost = 12

// signInRows measures sign-ins per second against raw bcrypt comparisons per second on
// the same cores, and the gallery's p99 during a sign-in flood against its idle p99.
func (r *run) signInRows(ctx context.Context) error {
	flood, err := r.floodLoad(ctx)
	if err != nil {
		return err
	}

	// The server runs cli.BcryptSlots() comparisons at once (this process has the same
	// processors); the reference runs as many, half before and half after the flood.
	slots := cli.BcryptSlots()
	before, err := rawBcrypt(ctx, slots, r.o.Duration/2)
	if err != nil {
		return err
	}
	alone, err := flood.Run(ctx)
	if err != nil {
		return err
	}
	if alone.Requests == 0 {
		return fmt.Errorf("no sign-in succeeded: %s", alone.FirstErr)
	}
	after, err := rawBcrypt(ctx, slots, r.o.Duration/2)
	if err != nil {
		return err
	}
	raw := (before + after) / 2
	rawAll, err := rawBcrypt(ctx, runtime.NumCPU(), r.o.Duration/2)
	if err != nil {
		return err
	}

	ratio := Ratio(alone.RPS(), raw)
	r.add(Row{Scenario: fmt.Sprintf("sign-in at bcrypt cost %d, %d connections", bcryptCost,
		r.o.FloodConns), Figure: fmt.Sprintf("%.2f sign-ins/s (p99 %s)", alone.RPS(),
		ms(alone.P(99))), Reference: fmt.Sprintf("raw bcrypt: %.2f comparisons/s on %d "+
		"goroutines (the server's bcrypt slots)", raw, slots), Ratio: ratio, Value: ratio,
		Target: Target{AtLeast, 0.90, ">= 0.90x the reference"},
		Note: fmt.Sprintf("the server runs %d bcrypt comparison(s) at once of %d "+
			"processors; raw bcrypt on all %d: %.2f comparisons/s, so sign-ins reach "+
			"%.2fx of the whole machine's bcrypt rate", slots, runtime.NumCPU(),
			runtime.NumCPU(), rawAll, Ratio(alone.RPS(), rawAll))})

	return r.floodProbeRow(ctx, flood)
}

// floodProbeRow measures the gallery probe alone and beside the sign-in flood, in
// alternating windows.
func (r *run) floodProbeRow(ctx context.Context, flood Load) error {
	rounds := max(r.o.Rounds/2, 1)
	window := r.o.Duration / time.Duration(rounds)
	var idle, busy, during []Summary
	for round := range rounds {
		quiet, err := r.loadFor(ctx, r.gallery, galleryPath, r.o.ProbeConns, "",
			r.o.Warmup/2, window)
		if err != nil {
			return err
		}
		g, f, err := r.besideFlood(ctx, flood, window, round == 0)
		if err != nil {
			return err
		}
		idle, busy, during = append(idle, quiet), append(busy, g), append(during, f)
	}

	quiet, loud, f := Combine(idle), Combine(busy), Combine(during)
	p99 := Ratio(float64(loud.P(99)), float64(quiet.P(99)))
	r.add(Row{Scenario: fmt.Sprintf("gallery p99 (%d connections) during the sign-in flood",
		r.o.ProbeConns), Figure: loud.String(), Reference: "no flood: " + quiet.String(),
		Ratio: p99, Value: p99, Target: Target{AtMost, 3, "<= 3x the reference's p99"},
		Note: fmt.Sprintf("the flood meanwhile: %.2f sign-ins/s", f.RPS())})
	return nil
}

// besideFlood runs the gallery probe and the sign-in flood at the same time for window,
// after the warm-up, which lets the flood fill the server's bcrypt queue first.
func (r *run) besideFlood(ctx context.Context, flood Load, window time.Duration,
	profiled bool) (gallery, signIns Summary, err error) {
	flood.Warmup, flood.Duration = r.o.Warmup/2, window
	var wg sync.WaitGroup
	var floodErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		signIns, floodErr = flood.Run(ctx)
	}()
	profile := ""
	if profiled {
		profile = "signin-flood"
	}
	gallery, err = r.loadFor(ctx, r.gallery, galleryPath, r.o.ProbeConns, profile,
		r.o.Warmup/2, window)
	wg.Wait()
	if err == nil {
		err = floodErr
	}
	return gallery, signIns, err
}

// floodLoad prepares the sign-in flood: each connection is an anonymous visitor posting
// the right password for one of the sign-in accounts, over and over. It keeps its
// anonymous cookie and token, so each answer is one complete password sign-in.
func (r *run) floodLoad(ctx context.Context) (Load, error) {
	visitors := make([]*Visitor, r.o.FloodConns)
	bodies := make([][]byte, r.o.FloodConns)
	for i := range visitors {
		v, err := NewVisitor(ctx, r.srv.URL)
		if err != nil {
			return Load{}, err
		}
		visitors[i] = v
		bodies[i], _ = json.Marshal(map[string]string{
			"email": r.seed.SignInUsers[i%len(r.seed.SignInUsers)], "password": Password})
	}
	return Load{Conns: r.o.FloodConns, Warmup: r.o.Warmup, Duration: r.o.Duration,
		Request: func(w int) (*http.Request, error) {
			return visitors[w].Request(context.Background(), http.MethodPost, "/login",
				"application/json", bytes.NewReader(bodies[w]))
		}}, nil
}

// rawBcrypt returns how many cost-12 comparisons per second workers goroutines of this
// process complete in d.
func rawBcrypt(ctx context.Context, workers int, d time.Duration) (float64, error) {
	pw := []byte(Password)
	hash, err := bcrypt.GenerateFromPassword(pw, bcryptCost)
	if err != nil {
		return 0, fmt.Errorf("hash the reference password: %w", err)
	}

	var done atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if bcrypt.CompareHashAndPassword(hash, pw) == nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), ctx.Err()
}
