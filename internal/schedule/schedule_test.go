package schedule

import (
	"sync"
	"testing"
	"time"
)

func TestBoard(t *testing.T) {
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	b := NewBoard(start)
	b.Add("sessions", time.Minute)
	b.Add("credits", time.Minute)

	tasks := b.Tasks()
	if len(tasks) != 2 || tasks[0].Name != "credits" || !tasks[0].Next(start).Equal(start) {
		t.Fatalf("before any run: %+v", tasks)
	}

	at := start.Add(30 * time.Second)
	b.Record("sessions", at, 20*time.Millisecond, true)
	b.Record("sessions", at, 10*time.Millisecond, false)
	got := b.Tasks()[1]
	if got.Runs != 2 || got.Failed || got.Took != 10*time.Millisecond ||
		!got.Next(start).Equal(at.Add(time.Minute)) {
		t.Fatalf("after two runs: %+v", got)
	}

	b.Record("unannounced", at, 0, false)
	if len(b.Tasks()) != 3 {
		t.Fatal("an unannounced task was not added")
	}
}

func TestBoardIsSafeForConcurrentUse(t *testing.T) {
	b := NewBoard(time.Now())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Record("t", time.Unix(int64(i), 0), 0, false)
				_ = b.Tasks()
			}
		}()
	}
	wg.Wait()
	if b.Tasks()[0].Runs != 800 {
		t.Fatalf("runs = %d, want 800", b.Tasks()[0].Runs)
	}
}
