package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// ErrLater is in the chain of an error that a later attempt may well not meet, such as
// a database that did not answer in time. A run that fails with it leaves its job for a
// later attempt, unless the job has used every attempt.
var ErrLater = errors.New("passing failure")

// Later marks err as passing (see ErrLater). Its safe face, if it has one, is kept for
// the job's last attempt.
func Later(err error) error { return fmt.Errorf("%w: %w", ErrLater, err) }

// laterDelay is how long a job that met a passing failure waits after its first attempt;
// the wait doubles with each attempt.
const laterDelay = 10 * time.Second

// Outcome is what a finished run delivered.
type Outcome struct {
	Result  string // JSON describing the result, stored on the job
	Used    int64  // milli-credits actually consumed
	Message string
}

// Kind runs one kind of job. Run does the work and reports progress; Settle is called after
// the job reached its final state and squares its credits. Settle must be idempotent: after
// a crash it may be called again for the same job.
type Kind interface {
	Run(ctx context.Context, j *Job, report func(pct int, msg string)) (Outcome, error)
	Settle(ctx context.Context, j *Job) error
}

// Pool runs jobs with a fixed number of workers. Idle workers wait to be woken rather than
// each asking the database for work every second: a submission in this process wakes one
// (Notify), a worker that claimed a job wakes the next in case more are queued, and one
// slow, jittered check per pool finds jobs that another instance queued or recovered.
type Pool struct {
	store   *Store
	kinds   map[string]Kind
	limits  map[string]time.Duration
	workers int
	lease   time.Duration
	timeout time.Duration
	poll    time.Duration
	id      string
	log     *slog.Logger

	// wake holds at most one pending wake-up: one is enough, because the worker it wakes
	// passes it on as long as it finds work.
	wake chan struct{}
	idle atomic.Int64 // workers waiting on wake
}

// DefaultPoll is how often, on average, a pool looks for jobs it was not told about.
const DefaultPoll = 2 * time.Second

// NewPool returns a pool of workers for this process, identified by a random worker id.
func NewPool(store *Store, workers int, log *slog.Logger) *Pool {
	return &Pool{
		store: store, kinds: map[string]Kind{}, limits: map[string]time.Duration{},
		workers: workers,
		lease:   30 * time.Second, timeout: 10 * time.Minute, poll: DefaultPoll,
		id: NewID()[:12], log: log, wake: make(chan struct{}, 1),
	}
}

// Register makes the pool run jobs of kind with k, each stopped after the default limit.
func (p *Pool) Register(kind string, k Kind) { p.kinds[kind] = k }

// RegisterTimeout is Register with a time limit of its own for the kind, for work such as
// style training that runs far longer than an image.
func (p *Pool) RegisterTimeout(kind string, k Kind, limit time.Duration) {
	p.kinds[kind] = k
	p.limits[kind] = limit
}

// SetPoll changes how often, on average, the pool looks for jobs that no Notify announced:
// those queued by another instance on the same database. Call it before Run.
func (p *Pool) SetPoll(every time.Duration) {
	if every > 0 {
		p.poll = every
	}
}

// Notify wakes an idle worker after a job was queued.
func (p *Pool) Notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends. It recovers abandoned jobs at start and then every few seconds.
func (p *Pool) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < p.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(ctx, fmt.Sprintf("%s-%d", p.id, i))
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.watch(ctx)
	}()

	p.Notify() // for jobs queued before this start
	p.recover(ctx)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			st := p.store.ClaimStats()
			p.log.Info("job pool stopped", "claims", st.Claims, "empty_claims", st.Empty,
				"queue_checks", st.Checks)
			return
		case <-tick.C:
			p.recover(ctx)
		}
	}
}

// watch wakes a worker when jobs are queued that no Notify announced: another instance
// queued or recovered them. It only asks while a worker is idle, and at jittered times so
// that instances started together do not ask together.
func (p *Pool) watch(ctx context.Context) {
	for {
		t := time.NewTimer(p.poll/2 + rand.N(p.poll))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if p.idle.Load() == 0 {
			continue // every worker is busy and claims again when it is done
		}
		queued, err := p.store.HasQueued(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Error("job queue check failed", "error", err)
		}
		if queued {
			p.Notify()
		}
	}
}

// recover requeues jobs of dead workers and settles those given up.
func (p *Pool) recover(ctx context.Context) {
	failed, requeued, err := p.store.Recover(ctx)
	if err != nil && ctx.Err() == nil {
		p.log.Error("job recovery failed", "error", err)
	}
	if requeued > 0 {
		p.Notify()
	}
	for i := range failed {
		p.settle(ctx, &failed[i])
	}

	// Jobs that ended while this or another process stopped before squaring their
	// credits. Settling is idempotent, so racing the normal path does no harm.
	stale, err := p.store.Unsettled(ctx, settleGrace)
	if err != nil && ctx.Err() == nil {
		p.log.Error("unsettled job search failed", "error", err)
	}
	for i := range stale {
		p.settle(ctx, &stale[i])
	}
}

// settleGrace is how long a finished job may wait for its settlement before recovery
// settles it instead.
const settleGrace = 10 * time.Second

// work runs jobs as worker until ctx ends. It claims until the queue is empty and then
// waits to be woken; each successful claim wakes the next idle worker, so a burst of
// submissions spreads over as many workers as it needs, and an empty queue costs one
// claim per burst rather than one per worker and second.
func (p *Pool) work(ctx context.Context, worker string) {
	for {
		p.idle.Add(1)
		select {
		case <-ctx.Done():
			p.idle.Add(-1)
			return
		case <-p.wake:
		}
		p.idle.Add(-1)

		for ctx.Err() == nil {
			j, err := p.store.Claim(ctx, worker, p.lease)
			if err != nil && ctx.Err() == nil {
				// The queue check retries within a few seconds if jobs are waiting.
				p.log.Error("job claim failed", "error", err)
			}
			if j == nil {
				break
			}
			p.Notify()
			p.runOne(ctx, j, worker)
		}
	}
}

// runOne runs a claimed job to its end and settles it.
func (p *Pool) runOne(ctx context.Context, j *Job, worker string) {
	k, ok := p.kinds[j.Kind]
	if !ok {
		j.Status, j.Error = Failed, "This kind of job is not supported by this server."
		p.finish(ctx, j, worker)
		return
	}

	limit := p.timeout
	if l, ok := p.limits[j.Kind]; ok {
		limit = l
	}
	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var lost atomic.Bool // the job was canceled by its user or taken over
	report := func(pct int, msg string) {
		mine, err := p.store.Progress(ctx, j.ID, worker, pct, msg, p.lease)
		if err == nil && !mine {
			lost.Store(true)
			cancel()
		}
	}
	report(0, "Starting")

	out, err := p.safeRun(runCtx, k, j, report)
	if ctx.Err() != nil {
		// Shutting down: leave the job running; its lease runs out and it is claimed again.
		return
	}
	if errors.Is(err, ErrLater) && !lost.Load() && j.Attempts < MaxAttempts {
		p.postpone(ctx, j, worker, err)
		return
	}
	j.Result, j.CostSettled, j.Message = out.Result, out.Used, out.Message
	j.Status, j.Progress = Succeeded, 100
	switch {
	case err != nil && lost.Load():
		// Finish records nothing over the job's new owner or its cancellation.
		j.Status, j.Error = Failed, userMessage(err)
		p.log.Info("job stopped: canceled or taken over", "job_id", j.ID, "kind", j.Kind)
	case err != nil:
		j.Status, j.Error = Failed, userMessage(err)
		p.log.Warn("job failed", "job_id", j.ID, "kind", j.Kind, "error", err)
	}
	p.finish(ctx, j, worker)
}

// safeRun turns a panic in a job into a failure, so one bad job cannot stop a worker.
func (p *Pool) safeRun(ctx context.Context, k Kind, j *Job,
	report func(int, string)) (out Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("job panicked: %v", r)
		}
	}()
	return k.Run(ctx, j, report)
}

// postpone leaves a job whose run met a passing failure for a later attempt, which
// recovery starts once the wait for this attempt has passed. A job that cannot be
// postponed keeps its lease, which runs out soon enough.
func (p *Pool) postpone(ctx context.Context, j *Job, worker string, cause error) {
	wait := laterDelay << max(j.Attempts-1, 0)
	until := p.store.now().Add(wait)
	mine, err := p.store.Postpone(ctx, j.ID, worker, until, "Waiting to try again")
	if err != nil {
		p.log.Error("job not postponed", "job_id", j.ID, "error", err)
		return
	}
	if !mine {
		p.settleCurrent(ctx, j.ID)
		return
	}
	p.log.Warn("job postponed", "job_id", j.ID, "kind", j.Kind, "attempt", j.Attempts,
		"retry_in", wait, "error", cause)
}

func (p *Pool) finish(ctx context.Context, j *Job, worker string) {
	mine, err := p.store.Finish(ctx, j, worker)
	if err != nil {
		p.log.Error("job not finished", "job_id", j.ID, "error", err)
		return
	}
	if !mine {
		p.settleCurrent(ctx, j.ID)
		return
	}
	p.settle(ctx, j)
}

// settleCurrent settles job id as it stands, when it was not this worker's any more: a
// job canceled meanwhile is settled; one that another worker took over is left to it.
func (p *Pool) settleCurrent(ctx context.Context, id string) {
	cur, err := p.store.Get(ctx, id)
	if err != nil || !cur.Done() {
		return
	}
	p.settle(ctx, cur)
}

func (p *Pool) settle(ctx context.Context, j *Job) {
	k, ok := p.kinds[j.Kind]
	if !ok {
		return
	}
	if err := k.Settle(ctx, j); err != nil {
		p.log.Error("job not settled", "job_id", j.ID, "error", err)
		return
	}
	if err := p.store.MarkSettled(ctx, j.ID); err != nil {
		p.log.Error("job settlement not recorded", "job_id", j.ID, "error", err)
	}
}

// userMessage returns the safe face of a job error.
func userMessage(err error) string {
	if fe := fault.As(err); fe != nil {
		return fe.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "The job took too long and was stopped. Your credits were refunded."
	}
	return "The job failed. Your credits were refunded."
}
