// Package schedule keeps a board of the periodic tasks an instance runs (sweeping old
// sessions, monthly credit resets and the like): when each last ran, how long it took,
// whether it failed, and when it runs next, for the admin dashboard. The board is in
// memory and belongs to one instance.
package schedule

import (
	"slices"
	"sync"
	"time"
)

// Task is what the board knows about one periodic task.
type Task struct {
	Name    string
	Every   time.Duration
	LastRun time.Time // zero before the first run
	Took    time.Duration
	Failed  bool
	Runs    int
}

// Next returns when the task runs next: at the first tick after start when it never ran.
func (t Task) Next(start time.Time) time.Time {
	if t.LastRun.IsZero() {
		return start
	}
	return t.LastRun.Add(t.Every)
}

// Board records the runs of periodic tasks. It is safe for concurrent use.
type Board struct {
	mu    sync.Mutex
	start time.Time
	tasks map[string]*Task
}

// NewBoard returns an empty board whose tasks start at start.
func NewBoard(start time.Time) *Board {
	return &Board{start: start, tasks: map[string]*Task{}}
}

// Add announces a task that runs every interval.
func (b *Board) Add(name string, every time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.tasks[name]; !ok {
		b.tasks[name] = &Task{Name: name, Every: every}
	}
}

// Record notes that the task name ran at, took that long, and failed or not. A task not
// announced with Add is added with no interval.
func (b *Board) Record(name string, at time.Time, took time.Duration, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.tasks[name]
	if !ok {
		t = &Task{Name: name}
		b.tasks[name] = t
	}
	t.LastRun, t.Took, t.Failed = at, took, failed
	t.Runs++
}

// Start returns when the board's tasks began.
func (b *Board) Start() time.Time { return b.start }

// Tasks returns a copy of every task, by name.
func (b *Board) Tasks() []Task {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Task, 0, len(b.tasks))
	for _, t := range b.tasks {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(x, y Task) int {
		switch {
		case x.Name < y.Name:
			return -1
		case x.Name > y.Name:
			return 1
		}
		return 0
	})
	return out
}
