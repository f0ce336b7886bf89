package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/mail/mailtest"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/setting"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	sender   *mail.Sender
	settings *setting.Store
	db       *database.DB
	clock    *clock
	log      *bytes.Buffer
}

func newSender(t *testing.T, db *database.DB, defaults mail.Settings, srv *mailtest.Server,
	keys *secret.KeyRing) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	buf := &bytes.Buffer{}
	st := setting.New(db, c.now)
	tr := &mail.SMTP{Timeout: 5 * time.Second}
	if srv != nil {
		tr.RootCAs = srv.RootCAs
	}
	s := mail.NewSender(mail.Options{
		DB: db, Settings: st, Keys: keys, Defaults: defaults,
		SiteURL: "https://studio.example", Transport: tr,
		Log: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: c.now,
	})
	return &fixture{sender: s, settings: st, db: db, clock: c, log: buf}
}

func smtpSettings(srv *mailtest.Server, mode string) mail.Settings {
	return mail.Settings{Host: srv.Host, Port: srv.Port, TLS: mode,
		From: "SketchMaker <studio@example.com>"}
}

func resetData() mail.Data {
	return mail.Data{"Name": "Ann", "Code": "482913", "Minutes": 15}
}

func TestWithoutSMTPMessagesAreHeldAndTheLogSaysNothingOfThem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newSender(t, db, mail.Settings{}, nil, nil)
		if err := f.sender.Send(ctx, "ann@example.com", mail.PasswordReset, resetData()); err != nil {
			t.Fatal(err)
		}

		list, total, err := f.sender.List(ctx, 10, 0)
		if err != nil || total != 1 || list[0].Status != mail.StatusHeld ||
			!strings.Contains(list[0].Text, "482913") {
			t.Fatalf("outbox: %d %+v %v", total, list, err)
		}
		logged := f.log.String()
		if !strings.Contains(logged, "queued in the outbox") {
			t.Fatalf("the log does not say a message was queued: %s", logged)
		}
		for _, secret := range []string{"482913", "ann@example.com", "password reset"} {
			if strings.Contains(strings.ToLower(logged), secret) {
				t.Fatalf("the log holds %q: %s", secret, logged)
			}
		}
		if n, err := f.sender.DeliverDue(ctx); n != 0 || err != nil {
			t.Fatalf("held mail delivered: %d %v", n, err)
		}
	})
}

func TestDeliveryOverEachTLSMode(t *testing.T) {
	modes := []struct {
		name, mode string
		user       string
	}{
		{"plain relay", mailtest.Plain, ""},
		{"starttls with auth", mailtest.StartTLS, "mailer"},
		{"implicit tls with auth", mailtest.Implicit, "mailer"},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := mailtest.Start(t, mailtest.Options{TLS: m.mode, Username: m.user,
				Password: "smtp pass 1"})
			cfg := smtpSettings(srv, m.mode)
			cfg.Username, cfg.Password = m.user, "smtp pass 1"
			f := newSender(t, dbtest.SQLite(t), cfg, srv, nil)
			ctx := context.Background()

			if err := f.sender.Send(ctx, "ann@example.com", mail.PasswordReset,
				resetData()); err != nil {
				t.Fatal(err)
			}
			if n, err := f.sender.DeliverDue(ctx); n != 1 || err != nil {
				t.Fatalf("delivered %d: %v", n, err)
			}
			got := srv.Wait(t, "ann@example.com", "reset code")
			if got.Code() != "482913" || !strings.Contains(got.HTML, "482913") ||
				got.From != "studio@example.com" {
				t.Fatalf("received %+v", got)
			}

			list, _, _ := f.sender.List(ctx, 1, 0)
			if list[0].Status != mail.StatusSent || list[0].Text != "" || list[0].HTML != "" {
				t.Fatalf("a sent message keeps its body: %+v", list[0])
			}
		})
	}
}

func TestUntrustedCertificateAndMissingStartTLSFail(t *testing.T) {
	ctx := context.Background()
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS})
	tr := &mail.SMTP{Timeout: 5 * time.Second} // no RootCAs: the system's roots
	m, _ := mail.Render(mail.TestMessage, "a@example.com", fullData("A"))
	err := tr.Deliver(ctx, smtpSettings(srv, mail.TLSStartTLS), m)
	if err == nil || !strings.Contains(mail.Describe(err), "certificate") {
		t.Fatalf("untrusted certificate: %v (%s)", err, mail.Describe(err))
	}

	plain := mailtest.Start(t, mailtest.Options{})
	err = tr.Deliver(ctx, smtpSettings(plain, mail.TLSStartTLS), m)
	if err == nil || !strings.Contains(mail.Describe(err), "STARTTLS") {
		t.Fatalf("STARTTLS silently skipped: %v (%s)", err, mail.Describe(err))
	}
	if len(plain.Messages()) != 0 {
		t.Fatal("a message went out without the required STARTTLS")
	}
}

func TestFailedDeliveryIsRetriedWithBackoffThenGivenUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		srv := mailtest.Start(t, mailtest.Options{})
		f := newSender(t, db, smtpSettings(srv, mail.TLSNone), srv, nil)
		srv.FailNext(1)
		if err := f.sender.Send(ctx, "bob@example.com", mail.Welcome,
			mail.Data{"Name": "Bob"}); err != nil {
			t.Fatal(err)
		}

		if n, _ := f.sender.DeliverDue(ctx); n != 0 {
			t.Fatal("a refused message counted as sent")
		}
		e, _ := f.sender.Get(ctx, 1)
		if e.Status != mail.StatusQueued || e.Attempts != 1 || e.LastError == "" ||
			e.NextAttemptAt <= f.clock.now().UnixMilli() {
			t.Fatalf("after a failure: %+v", e)
		}
		if n, _ := f.sender.DeliverDue(ctx); n != 0 {
			t.Fatal("retried before the backoff")
		}
		f.clock.add(time.Minute)
		if n, _ := f.sender.DeliverDue(ctx); n != 1 {
			t.Fatal("not retried after the backoff")
		}
		srv.Wait(t, "bob@example.com", "Welcome")

		// A message that keeps failing is given up after MaxAttempts.
		srv.FailNext(100)
		_ = f.sender.Send(ctx, "carl@example.com", mail.Welcome, mail.Data{"Name": "Carl"})
		for i := 0; i < mail.MaxAttempts+2; i++ {
			_, _ = f.sender.DeliverDue(ctx)
			f.clock.add(7 * time.Hour)
		}
		e, _ = f.sender.Get(ctx, 2)
		if e.Status != mail.StatusFailed || e.Attempts != mail.MaxAttempts {
			t.Fatalf("after every attempt failed: %+v", e)
		}
	})
}

func TestAbandonedClaimIsReleased(t *testing.T) {
	ctx := context.Background()
	srv := mailtest.Start(t, mailtest.Options{})
	f := newSender(t, dbtest.SQLite(t), smtpSettings(srv, mail.TLSNone), srv, nil)
	_ = f.sender.Send(ctx, "dan@example.com", mail.Welcome, mail.Data{"Name": "Dan"})
	// A loop that died after claiming the message.
	if _, err := f.db.ExecContext(ctx, `UPDATE outbox SET status = 'sending',
		lease_until = ?`, f.clock.now().Add(time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.sender.DeliverDue(ctx); n != 0 {
		t.Fatal("a leased message was taken by a second loop")
	}
	f.clock.add(2 * time.Minute)
	if n, _ := f.sender.DeliverDue(ctx); n != 1 {
		t.Fatal("the message of a dead loop was never released")
	}
}

func TestSavedSettingsOverrideTheEnvironmentAndSealThePassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS,
			Username: "panel", Password: "panel pass 9"})
		keys, err := secret.ParseKeyRing(secret.GenerateKey())
		if err != nil {
			t.Fatal(err)
		}
		f := newSender(t, db, mail.Settings{Host: "unused.invalid", Port: 25,
			TLS: mail.TLSStartTLS}, srv, keys)

		in := mail.Settings{Host: srv.Host, Port: srv.Port, TLS: mail.TLSStartTLS,
			Username: "panel", Password: "panel pass 9", From: "studio@example.com"}
		changed, err := f.sender.SaveConfig(ctx, in, 1)
		if err != nil || len(changed) != 6 {
			t.Fatalf("save: %v %v", changed, err)
		}
		var stored string
		_ = db.GetContext(ctx, &stored, `SELECT value FROM settings WHERE key = 'mail.smtp_password'`)
		if stored == "" || strings.Contains(stored, "panel pass") {
			t.Fatalf("the SMTP password is stored as %q", stored)
		}
		pub, err := f.sender.PublicConfig(ctx)
		if err != nil || pub.Password != "" || !pub.PasswordSet || pub.PasswordLast4 != "…ss 9" ||
			pub.Host != srv.Host {
			t.Fatalf("public config %+v %v", pub, err)
		}
		if err := f.sender.SendNow(ctx, "eve@example.com"); err != nil {
			t.Fatalf("test message: %v", err)
		}
		srv.Wait(t, "eve@example.com", "test message")

		// Saving again without a password keeps the saved one.
		in.Password = ""
		if _, err := f.sender.SaveConfig(ctx, in, 1); err != nil {
			t.Fatal(err)
		}
		if cfg, _ := f.sender.Config(ctx); cfg.Password != "panel pass 9" {
			t.Fatal("saving without a password dropped the saved one")
		}
	})
}

func TestSavingAPasswordNeedsTheEncryptionKey(t *testing.T) {
	f := newSender(t, dbtest.SQLite(t), mail.Settings{}, nil, nil)
	_, err := f.sender.SaveConfig(context.Background(), mail.Settings{Host: "smtp.example.com",
		Port: 587, Username: "u", Password: "secret pw", From: "a@example.com"}, 1)
	if err == nil || !strings.Contains(err.Error(), "API_KEY_ENCRYPTION_KEY") {
		t.Fatalf("saved a password without a key: %v", err)
	}
}
