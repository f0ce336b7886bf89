package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

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

// Pool runs jobs with a fixed number of workers.
type Pool struct {
	store   *Store
	kinds   map[string]Kind
	limits  map[string]time.Duration
	workers int
	lease   time.Duration
	timeout time.Duration
	id      string
	log     *slog.Logger
	wake    chan struct{}
}

// NewPool returns a pool of workers for this process, identified by a random worker id.
func NewPool(store *Store, workers int, log *slog.Logger) *Pool {
	return &Pool{
		store: store, kinds: map[string]Kind{}, limits: map[string]time.Duration{},
		workers: workers,
		lease:   30 * time.Second, timeout: 10 * time.Minute,
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

	p.recover(ctx)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
			p.recover(ctx)
		}
	}
}

// recover requeues jobs of dead workers and settles those given up.
func (p *Pool) recover(ctx context.Context) {
	failed, err := p.store.Recover(ctx)
	if err != nil && ctx.Err() == nil {
		p.log.Error("job recovery failed", "error", err)
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

func (p *Pool) work(ctx context.Context, worker string) {
	for ctx.Err() == nil {
		j, err := p.store.Claim(ctx, worker, p.lease)
		if err != nil && ctx.Err() == nil {
			p.log.Error("job claim failed", "error", err)
		}
		if j == nil {
			select {
			case <-ctx.Done():
			case <-p.wake:
			case <-time.After(time.Second):
			}
			continue
		}
		p.runOne(ctx, j, worker)
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
	report := func(pct int, msg string) {
		mine, err := p.store.Progress(ctx, j.ID, worker, pct, msg, p.lease)
		if err == nil && !mine {
			cancel() // canceled by the user or taken over
		}
	}
	report(0, "Starting")

	out, err := p.safeRun(runCtx, k, j, report)
	if ctx.Err() != nil {
		// Shutting down: leave the job running; its lease runs out and it is claimed again.
		return
	}
	j.Result, j.CostSettled, j.Message = out.Result, out.Used, out.Message
	j.Status, j.Progress = Succeeded, 100
	if err != nil {
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

func (p *Pool) finish(ctx context.Context, j *Job, worker string) {
	mine, err := p.store.Finish(ctx, j, worker)
	if err != nil {
		p.log.Error("job not finished", "job_id", j.ID, "error", err)
		return
	}
	if !mine {
		// Canceled meanwhile: read the job as it stands and settle that.
		cur, err := p.store.Get(ctx, j.ID)
		if err != nil {
			return
		}
		j = cur
	}
	p.settle(ctx, j)
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
