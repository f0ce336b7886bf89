package alert

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/mail"
)

type queued struct {
	mu   sync.Mutex
	sent []string
	data []mail.Data
}

func (q *queued) Send(_ context.Context, to, template string, data mail.Data) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = append(q.sent, to+" "+template)
	q.data = append(q.data, data)
	return nil
}

func TestMailNotifierTellsEachRecipientOnce(t *testing.T) {
	q := &queued{}
	n := MailNotifier{Mail: q, Recipients: func(context.Context) ([]string, error) {
		return []string{"alerts@example.com", "admin@example.com", "", "alerts@example.com"}, nil
	}}
	a := Alert{Type: "ip_blocked", Subject: "203.0.113.9", Message: "An address was blocked.",
		Occurrences: 3, CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	want := []string{"alerts@example.com admin_alert", "admin@example.com admin_alert"}
	if len(q.sent) != 2 || q.sent[0] != want[0] || q.sent[1] != want[1] {
		t.Fatalf("sent %v, want %v", q.sent, want)
	}
	if q.data[0]["Message"] != a.Message || q.data[0]["Occurrences"] != 3 {
		t.Fatalf("data %v", q.data[0])
	}

	// The real templates render what the notifier passes (the sender adds the site).
	d := q.data[0]
	d["SiteName"], d["SiteURL"] = "SketchMaker", "https://studio.example"
	if _, err := mail.Render(mail.AdminAlert, "a@example.com", d); err != nil {
		t.Fatalf("render: %v", err)
	}
}
