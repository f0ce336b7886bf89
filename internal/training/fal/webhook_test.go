package fal

import (
	"context"
	"errors"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// TestWebhookWakesThePoll checks that a training submitted with webhooks on names the
// webhook URL in fal_webhook, and that a webhook's mark makes the trainer ask FAL at once
// instead of at its next poll, an hour away.
func TestWebhookWakesThePoll(t *testing.T) {
	const hook = "https://studio.example/webhooks/fal"
	fake := newFake(t)
	fake.statuses = []string{"IN_QUEUE", "COMPLETED"}
	var notified, asked atomic.Int32
	fake.onPoll = func(n int) {
		if n == 1 {
			notified.Store(1) // the webhook arrives while the training waits
		}
	}
	tr := fake.trainer()
	tr.Sleep, tr.PollEvery, tr.WebhookURL = nil, time.Hour, hook
	rep := &report{}
	run := newRun(t, rep, &fakeSet{})
	run.OnNotified = func(context.Context) bool {
		asked.Add(1)
		return notified.Load() == 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := tr.Train(ctx, run)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("the trainer waited for its polling interval despite the webhook")
	}
	if err != nil || out.RemoteURL == "" {
		t.Fatalf("output %+v, %v", out, err)
	}
	q, _ := url.ParseQuery(fake.query)
	if q.Get("fal_webhook") != hook || len(q) != 1 {
		t.Errorf("submission query %q", fake.query)
	}
	if fake.polls != 2 || asked.Load() == 0 {
		t.Errorf("%d polls, notification asked %d times", fake.polls, asked.Load())
	}
}

// TestNoWebhookNoQuery checks that without a webhook URL the submission has no query.
func TestNoWebhookNoQuery(t *testing.T) {
	fake := newFake(t)
	if _, err := fake.trainer().Train(context.Background(),
		newRun(t, &report{}, &fakeSet{})); err != nil {
		t.Fatal(err)
	}
	if fake.query != "" {
		t.Errorf("submission query %q", fake.query)
	}
}
