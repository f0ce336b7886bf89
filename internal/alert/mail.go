package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/mail"
)

// Queuer queues a templated mail; it is the mail package's Sender.
type Queuer interface {
	Send(ctx context.Context, to, template string, data mail.Data) error
}

// MailNotifier tells the alert address and every administrator about a fresh alert, by
// mail. The wording is the alert's own, which code chooses; nothing typed by a client is
// put into the message.
type MailNotifier struct {
	Mail Queuer
	// Recipients returns the addresses to tell: ALERT_EMAIL and the active administrators.
	Recipients func(ctx context.Context) ([]string, error)
}

// Notify queues one message per recipient. Delivery happens later, with retries.
func (n MailNotifier) Notify(ctx context.Context, a Alert) error {
	to, err := n.Recipients(ctx)
	if err != nil {
		return fmt.Errorf("alert recipients: %w", err)
	}
	data := mail.Data{
		"Type": a.Type, "Message": a.Message, "Subject": a.Subject,
		"Occurrences": a.Occurrences, "When": a.CreatedAt.UTC().Format(time.RFC1123),
	}
	var errs []error
	for _, addr := range unique(to) {
		if err := n.Mail.Send(ctx, addr, mail.AdminAlert, data); err != nil {
			errs = append(errs, fmt.Errorf("alert mail: %w", err))
		}
	}
	return errors.Join(errs...)
}

func unique(addrs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range addrs {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}
