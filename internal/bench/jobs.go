package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// jobRequest is the body of every benchmark generation: a FAL model, answered by the
// fake FAL, without waiting for the result.
var jobRequest = map[string]any{"prompt": "a quiet harbour at dawn", "model": "fal-ai/flux/dev",
	"image_size": "square", "output_format": "png", "async": true}

// jobRows queues r.o.Jobs generation jobs against the fake FAL, which answers each after
// r.o.JobDelay, measures the gallery probe while they are in flight against the same
// probe with no jobs, waits for every job to end, and reads the server's peak memory.
func (r *run) jobRows(ctx context.Context) error {
	quiet, err := r.load(ctx, r.gallery, galleryPath, r.o.ProbeConns, "")
	if err != nil {
		return err
	}
	rss, _, err := r.srv.Memory()
	if err != nil {
		return err
	}
	if err := r.srv.ResetPeak(); err != nil {
		return err
	}

	start := time.Now()
	jobs, err := r.submitJobs(ctx)
	if err != nil {
		return err
	}
	submitted := time.Since(start)
	busy, counts, err := r.galleryUntilDone(ctx, jobs, start)
	if err != nil {
		return err
	}
	_, peak, err := r.srv.Memory()
	if err != nil {
		return err
	}

	scenario := fmt.Sprintf("%d generation jobs in flight, fake FAL answering after %s",
		r.o.Jobs, r.o.JobDelay)
	done := float64(counts[jobSucceeded]) / float64(r.o.Jobs)
	r.add(Row{Scenario: scenario + ": completed",
		Figure: fmt.Sprintf("%d of %d succeeded in %s (%s to submit)", counts[jobSucceeded],
			r.o.Jobs, time.Since(start).Round(time.Second), submitted.Round(time.Second)),
		Reference: fmt.Sprintf("%d submitted", len(jobs)), Ratio: math.NaN(), Value: done,
		Target: Target{AtLeast, 1, "all jobs complete"}, Note: counts.note()})
	p99 := Ratio(float64(busy.P(99)), float64(quiet.P(99)))
	r.add(Row{Scenario: scenario + fmt.Sprintf(": gallery p99 (%d connections)",
		r.o.ProbeConns), Figure: busy.String(), Reference: "no jobs: " + quiet.String(),
		Ratio: p99, Value: p99, Target: Target{AtMost, 2, "<= 2x the reference's p99"},
		Note: fmt.Sprintf("measured from the last submission until every job ended (%s)",
			busy.Elapsed.Round(time.Second))})
	r.add(Row{Scenario: scenario + ": server peak memory", Figure: "VmHWM " + mb(peak),
		Reference: "VmRSS before the jobs " + mb(rss), Ratio: Ratio(peak, rss),
		Value: peak / (1 << 20), Target: Target{Below, 300, "< 300 MB"}})
	return nil
}

// galleryUntilDone runs the gallery probe from now until every job has ended, so its
// figures cover the jobs' whole life: waiting at the provider, and the waves of downloads,
// re-encoding and settling as they complete.
func (r *run) galleryUntilDone(ctx context.Context, jobs []queued, start time.Time) (Summary,
	jobCounts, error) {
	done := make(chan struct{})
	var counts jobCounts
	var awaitErr error
	go func() {
		defer close(done)
		counts, awaitErr = r.awaitJobs(ctx, jobs, start)
	}()

	wait := r.profileCPU(ctx, "jobs", r.o.JobDelay)
	defer wait()
	busy, err := Load{Conns: r.o.ProbeConns, Warmup: time.Second, Duration: time.Hour,
		Until: done, Request: get(r.gallery, galleryPath)}.Run(ctx)
	<-done
	if err == nil {
		err = awaitErr
	}
	return busy, counts, err
}

// queued is a submitted job and the account that owns it.
type queued struct {
	id    string
	owner *Visitor
}

// submitJobs queues the jobs through POST /generate/image from every job account at once.
func (r *run) submitJobs(ctx context.Context) ([]queued, error) {
	client, done := loopbackClient(len(r.jobUsers) * 2)
	defer done()

	var mu sync.Mutex
	var jobs []queued
	var firstErr error
	var wg sync.WaitGroup
	per := (r.o.Jobs + len(r.jobUsers) - 1) / len(r.jobUsers)
	for i, v := range r.jobUsers {
		n := max(min(per, r.o.Jobs-i*per), 0)
		for _, half := range []int{(n + 1) / 2, n / 2} { // two connections per account
			wg.Add(1)
			go func(count int) {
				defer wg.Done()
				for range count {
					var out struct {
						ID string `json:"job_id"`
					}
					err := v.JSON(ctx, client, http.MethodPost, "/generate/image", jobRequest,
						&out, http.StatusAccepted)
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					if err == nil {
						jobs = append(jobs, queued{out.ID, v})
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}(half)
		}
	}
	wg.Wait()
	if firstErr != nil {
		return jobs, fmt.Errorf("submit jobs: %w", firstErr)
	}
	return jobs, nil
}

// Job states as the API reports them.
const (
	jobSucceeded = "succeeded"
	jobFailed    = "failed"
)

// jobCounts counts jobs per state.
type jobCounts map[string]int

// note names the states other than success, for the table's notes.
func (c jobCounts) note() string {
	out := ""
	for state, n := range c {
		if state != jobSucceeded && n > 0 {
			out += fmt.Sprintf("%d %s; ", n, state)
		}
	}
	if out == "" {
		return ""
	}
	return "jobs not succeeded: " + out
}

// awaitJobs polls the jobs, oldest first, until each has ended or the time allowed ran
// out, and counts their final states. A round stops at the first job still running, since
// the later ones are queued behind it. The time allowed is generous: the provider's slots
// run the jobs in waves of the configured concurrency.
func (r *run) awaitJobs(ctx context.Context, jobs []queued, start time.Time) (jobCounts,
	error) {
	client, done := loopbackClient(1)
	defer done()
	waves := (len(jobs) + r.o.JobConcurrency - 1) / r.o.JobConcurrency
	deadline := start.Add(time.Duration(waves+2)*r.o.JobDelay*2 + time.Minute)
	if len(jobs) == 0 {
		return nil, errors.New("no job was submitted")
	}

	counts := jobCounts{}
	for len(jobs) > 0 && time.Now().Before(deadline) {
		var out struct {
			Status string `json:"status"`
		}
		j := jobs[0]
		err := j.owner.JSON(ctx, client, http.MethodGet, "/api/jobs/"+j.id, nil, &out,
			http.StatusOK)
		if err != nil {
			return counts, err
		}
		switch out.Status {
		case jobSucceeded, jobFailed, "canceled":
			counts[out.Status]++
			jobs = jobs[1:]
			continue
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return counts, err
		}
	}
	if len(jobs) > 0 {
		counts["still running at the deadline"] += len(jobs)
	}
	return counts, nil
}
