package account_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/database/dbtest"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/password"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/secret"
	"github.com/sketchmaker/sketchmaker/internal/setting"
	"github.com/sketchmaker/sketchmaker/internal/totp"
)

// inbox renders each message for real, so that a flow that forgets a template field fails,
// and keeps it for the test to read.
type inbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (b *inbox) Send(_ context.Context, to, template string, data mail.Data) error {
	data["SiteName"], data["SiteURL"] = "SketchMaker", "https://studio.example"
	m, err := mail.Render(template, to, data)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	return nil
}

// last returns the newest message to addr from template, or fails.
func (b *inbox) last(t *testing.T, addr, template string) mail.Message {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.msgs) - 1; i >= 0; i-- {
		if b.msgs[i].To == addr && b.msgs[i].Template == template {
			return b.msgs[i]
		}
	}
	t.Fatalf("no %s message to %s among %d", template, addr, len(b.msgs))
	return mail.Message{}
}

func (b *inbox) count(addr, template string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.msgs {
		if m.To == addr && m.Template == template {
			n++
		}
	}
	return n
}

// revoker records which sessions the service revoked.
type revoker struct {
	mu    sync.Mutex
	calls []string
}

func (r *revoker) RevokeUser(_ context.Context, userID int64, keep string) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%d keep=%q", userID, keep))
	return 1, nil
}

// files records which accounts had their files removed.
type files struct{ removed []int64 }

func (f *files) DeleteAll(_ context.Context, userID int64) error {
	f.removed = append(f.removed, userID)
	return nil
}

type full struct {
	s        *account.Service
	clock    *clock
	inbox    *inbox
	revoker  *revoker
	files    *files
	settings *setting.Store
}

func newFull(t *testing.T, db *database.DB, rules account.Rules) *full {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	pol, err := password.NewPolicy(8, 10)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secret.ParseKeyRing(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	f := &full{clock: c, inbox: &inbox{}, revoker: &revoker{}, files: &files{},
		settings: setting.New(db, c.now)}
	f.s = account.New(db, password.NewHasher(10, 2), pol, credit.New(db, c.now),
		account.Lockout{}, c.now)
	f.s.Configure(account.Extras{Mailer: f.inbox, Sessions: f.revoker, Files: f.files,
		Settings: f.settings, Keys: keys, MACKey: []byte("test mac key"),
		SiteURL: "https://studio.example", Defaults: rules})
	return f
}

func tokenOf(t *testing.T, m mail.Message) string {
	t.Helper()
	i := strings.Index(m.Text, "token=")
	if i < 0 {
		t.Fatalf("no link in %q", m.Text)
	}
	return strings.Fields(m.Text[i+len("token="):])[0]
}

func codeOf(t *testing.T, m mail.Message) string {
	t.Helper()
	for _, line := range strings.Split(m.Text, "\n") {
		if l := strings.TrimSpace(line); len(l) == 6 && strings.Trim(l, "0123456789") == "" {
			return l
		}
	}
	t.Fatalf("no code in %q", m.Text)
	return ""
}

func TestRegisterHidesTakenAddressesWhenNobodySignsInAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFull(t, db, account.Rules{RequireVerification: true})
		first, err := f.s.Register(ctx, account.NewUser{Email: "ann@example.com", Password: pw})
		if err != nil || first.User == nil || first.SignIn || !first.Verify {
			t.Fatalf("new address: %+v %v", first, err)
		}
		f.inbox.last(t, "ann@example.com", mail.VerifyEmail)

		again, err := f.s.Register(ctx, account.NewUser{Email: "ANN@example.com", Password: pw})
		if err != nil || again.User != nil || again.SignIn != first.SignIn ||
			again.Verify != first.Verify || again.Pending != first.Pending {
			t.Fatalf("taken address answered differently: %+v %v", again, err)
		}
		alert := f.inbox.last(t, "ann@example.com", mail.SecurityAlert)
		if !strings.Contains(alert.Text, "tried to create a new account") {
			t.Fatalf("owner notice: %s", alert.Text)
		}
		// Weak passwords are refused the same way for both.
		_, e1 := f.s.Register(ctx, account.NewUser{Email: "new@example.com", Password: "short"})
		_, e2 := f.s.Register(ctx, account.NewUser{Email: "ann@example.com", Password: "short"})
		if fault.As(e1) == nil || fault.As(e1).Message != fault.As(e2).Message {
			t.Fatalf("weak password answers differ: %v / %v", e1, e2)
		}
	})
}

func TestRegisterSignsInAndWelcomesWhenNoRuleApplies(t *testing.T) {
	ctx := context.Background()
	f := newFull(t, dbtest.SQLite(t), account.Rules{})
	reg, err := f.s.Register(ctx, account.NewUser{Email: "bo@example.com", Password: pw})
	if err != nil || !reg.SignIn || reg.User.Status != account.StatusActive {
		t.Fatalf("register: %+v %v", reg, err)
	}
	f.inbox.last(t, "bo@example.com", mail.Welcome)
	if _, err := f.s.Register(ctx, account.NewUser{Email: "bo@example.com",
		Password: pw}); !errors.Is(err, account.ErrEmailTaken) {
		t.Fatalf("taken address without verification: %v", err)
	}
}

func TestApprovalFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFull(t, db, account.Rules{})
		if _, err := f.s.SaveRules(ctx, account.Rules{RequireApproval: true}, 1); err != nil {
			t.Fatal(err)
		}
		reg, err := f.s.Register(ctx, account.NewUser{Email: "cy@example.com", Password: pw})
		if err != nil || !reg.Pending || reg.SignIn || reg.User.Status != account.StatusPending {
			t.Fatalf("register under approval: %+v %v", reg, err)
		}
		if _, _, err := f.s.Authenticate(ctx, "cy@example.com", pw); !errors.Is(err,
			account.ErrPending) {
			t.Fatalf("pending sign-in with the right password: %v", err)
		}
		if _, _, err := f.s.Authenticate(ctx, "cy@example.com", "wrong password 9"); !errors.Is(
			err, account.ErrBadCredentials) {
			t.Fatalf("pending sign-in with a wrong password: %v", err)
		}

		if _, err := f.s.Approve(ctx, reg.User.ID); err != nil {
			t.Fatal(err)
		}
		f.inbox.last(t, "cy@example.com", mail.AccountApproved)
		if _, _, err := f.s.Authenticate(ctx, "cy@example.com", pw); err != nil {
			t.Fatalf("sign-in after approval: %v", err)
		}
		if _, err := f.s.Approve(ctx, reg.User.ID); fault.As(err) == nil {
			t.Fatal("approved an active account again")
		}
	})
}

func TestVerificationLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFull(t, db, account.Rules{RequireVerification: true})
		reg, _ := f.s.Register(ctx, account.NewUser{Email: "di@example.com", Password: pw})
		first := tokenOf(t, f.inbox.last(t, "di@example.com", mail.VerifyEmail))

		// A resend replaces the first link.
		if err := f.s.SendVerification(ctx, reg.User.ID); err != nil {
			t.Fatal(err)
		}
		second := tokenOf(t, f.inbox.last(t, "di@example.com", mail.VerifyEmail))
		if _, _, err := f.s.ConfirmEmail(ctx, first); !errors.Is(err, account.ErrEmailLink) {
			t.Fatalf("replaced link worked: %v", err)
		}
		var stored int
		_ = db.GetContext(ctx, &stored, db.Rebind(`SELECT COUNT(*) FROM email_tokens
			WHERE token_hash = ?`), second)
		if stored != 0 {
			t.Fatal("a link is stored in clear text")
		}

		u, change, err := f.s.ConfirmEmail(ctx, second)
		if err != nil || change || !u.EmailVerified {
			t.Fatalf("confirm: %+v %v %v", u, change, err)
		}
		if _, _, err := f.s.ConfirmEmail(ctx, second); !errors.Is(err, account.ErrEmailLink) {
			t.Fatalf("a link worked twice: %v", err)
		}
		if err := f.s.SendVerification(ctx, reg.User.ID); fault.As(err) == nil {
			t.Fatal("a confirmed address got another link")
		}
	})
}

func TestVerificationLinkExpiresAndIsRateLimited(t *testing.T) {
	ctx := context.Background()
	f := newFull(t, dbtest.SQLite(t), account.Rules{RequireVerification: true})
	reg, _ := f.s.Register(ctx, account.NewUser{Email: "ed@example.com", Password: pw})
	tok := tokenOf(t, f.inbox.last(t, "ed@example.com", mail.VerifyEmail))
	f.clock.t = f.clock.t.Add(account.LinkLifetime + time.Second)
	if _, _, err := f.s.ConfirmEmail(ctx, tok); !errors.Is(err, account.ErrEmailLink) {
		t.Fatalf("expired link: %v", err)
	}

	for i := 0; i < 3; i++ {
		if err := f.s.SendVerification(ctx, reg.User.ID); err != nil {
			t.Fatalf("resend %d: %v", i+1, err)
		}
	}
	if err := f.s.SendVerification(ctx, reg.User.ID); !errors.Is(err, account.ErrTooManyMails) {
		t.Fatalf("fourth resend within the hour: %v", err)
	}
	f.clock.t = f.clock.t.Add(time.Hour)
	if err := f.s.SendVerification(ctx, reg.User.ID); err != nil {
		t.Fatalf("resend an hour later: %v", err)
	}
}

func TestEmailChangeNeedsTheNewAddressToConfirm(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFull(t, db, account.Rules{})
		reg, _ := f.s.Register(ctx, account.NewUser{Email: "fay@example.com", Password: pw})
		_, _ = f.s.Register(ctx, account.NewUser{Email: "taken@example.com", Password: pw})
		id := reg.User.ID

		if err := f.s.RequestEmailChange(ctx, id, "fay@new.example", "wrong pass 1"); !errors.Is(
			err, account.ErrWrongPassword) {
			t.Fatalf("wrong password: %v", err)
		}
		if err := f.s.RequestEmailChange(ctx, id, "fay@new.example", pw); err != nil {
			t.Fatal(err)
		}
		if u, _ := f.s.ByID(ctx, id); u.Email != "fay@example.com" {
			t.Fatal("the address changed before the new one confirmed")
		}
		if p, _ := f.s.PendingEmail(ctx, id); p != "fay@new.example" {
			t.Fatalf("pending address %q", p)
		}
		tok := tokenOf(t, f.inbox.last(t, "fay@new.example", mail.VerifyEmail))
		u, change, err := f.s.ConfirmEmail(ctx, tok)
		if err != nil || !change || u.Email != "fay@new.example" || !u.EmailVerified {
			t.Fatalf("confirm change: %+v %v", u, err)
		}
		f.inbox.last(t, "fay@example.com", mail.SecurityAlert)

		// A taken address gets the same answer and no mail.
		if err := f.s.RequestEmailChange(ctx, id, "taken@example.com", pw); err != nil {
			t.Fatalf("taken address: %v", err)
		}
		if n := f.inbox.count("taken@example.com", mail.VerifyEmail); n != 0 {
			t.Fatal("a link went to another account's address")
		}
	})
}

func TestPasswordResetCode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFull(t, db, account.Rules{})
		reg, _ := f.s.Register(ctx, account.NewUser{Email: "gil@example.com", Password: pw})
		const newPW = "brand new secret 7"

		req, err := f.s.RequestReset(ctx, "Gil@Example.com")
		if err != nil || len(req) < 40 {
			t.Fatalf("request: %q %v", req, err)
		}
		code := codeOf(t, f.inbox.last(t, "gil@example.com", mail.PasswordReset))

		// The code is bound to its request.
		other, _ := f.s.RequestReset(ctx, "gil@example.com")
		if _, err := f.s.ResetPassword(ctx, other, code, newPW); !errors.Is(err,
			account.ErrResetCode) {
			t.Fatalf("code of another request: %v", err)
		}

		u, err := f.s.ResetPassword(ctx, req, code, newPW)
		if err != nil || u.ID != reg.User.ID {
			t.Fatalf("reset: %v", err)
		}
		if len(f.revoker.calls) != 1 || !strings.Contains(f.revoker.calls[0], `keep=""`) {
			t.Fatalf("sessions revoked: %v", f.revoker.calls)
		}
		if _, _, err := f.s.Authenticate(ctx, "gil@example.com", newPW); err != nil {
			t.Fatalf("new password: %v", err)
		}
		f.inbox.last(t, "gil@example.com", mail.SecurityAlert)
		if _, err := f.s.ResetPassword(ctx, req, code, "another secret 8"); !errors.Is(err,
			account.ErrResetCode) {
			t.Fatalf("used code worked again: %v", err)
		}
	})
}

func TestResetCodeSixthTryAndExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFull(t, dbtest.SQLite(t), account.Rules{})
	_, _ = f.s.Register(ctx, account.NewUser{Email: "hal@example.com", Password: pw})
	req, _ := f.s.RequestReset(ctx, "hal@example.com")
	code := codeOf(t, f.inbox.last(t, "hal@example.com", mail.PasswordReset))
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 0; i < account.ResetTries; i++ {
		if _, err := f.s.ResetPassword(ctx, req, wrong, "brand new secret 7"); !errors.Is(err,
			account.ErrResetCode) {
			t.Fatalf("wrong try %d: %v", i+1, err)
		}
	}
	if _, err := f.s.ResetPassword(ctx, req, code, "brand new secret 7"); !errors.Is(err,
		account.ErrResetCode) {
		t.Fatalf("the sixth try worked with the right code: %v", err)
	}

	req, _ = f.s.RequestReset(ctx, "hal@example.com")
	code = codeOf(t, f.inbox.last(t, "hal@example.com", mail.PasswordReset))
	f.clock.t = f.clock.t.Add(account.ResetLifetime + time.Second)
	if _, err := f.s.ResetPassword(ctx, req, code, "brand new secret 7"); !errors.Is(err,
		account.ErrResetCode) {
		t.Fatalf("an expired code worked: %v", err)
	}
	// A weak new password costs no try.
	f.clock.t = f.clock.t.Add(-account.ResetLifetime)
	if _, err := f.s.ResetPassword(ctx, req, code, "short"); fault.As(err) == nil ||
		fault.As(err).Field != "password" {
		t.Fatalf("weak password: %v", err)
	}
}

func TestResetForUnknownAddressDoesTheSameWorkAndNeverWorks(t *testing.T) {
	ctx := context.Background()
	f := newFull(t, dbtest.SQLite(t), account.Rules{})
	req, err := f.s.RequestReset(ctx, "nobody@example.com")
	if err != nil || len(req) < 40 || !f.s.ResetActive(ctx, req) {
		t.Fatalf("unknown address: %q %v", req, err)
	}
	if len(f.inbox.msgs) != 0 {
		t.Fatal("mail went out for an unknown address")
	}
	for _, code := range []string{"000000", "123456", "999999"} {
		if _, err := f.s.ResetPassword(ctx, req, code, "brand new secret 7"); !errors.Is(err,
			account.ErrResetCode) {
			t.Fatalf("code %s for nobody: %v", code, err)
		}
	}
}

func TestLockoutSendsOneMail(t *testing.T) {
	ctx := context.Background()
	f := newFull(t, dbtest.SQLite(t), account.Rules{})
	_, _ = f.s.Register(ctx, account.NewUser{Email: "ivy@example.com", Password: pw})
	for i := 0; i < 7; i++ {
		_, _, _ = f.s.Authenticate(ctx, "ivy@example.com", "wrong password 1")
	}
	if n := f.inbox.count("ivy@example.com", mail.AccountLocked); n != 1 {
		t.Fatalf("%d lock mails, want 1", n)
	}
	m := f.inbox.last(t, "ivy@example.com", mail.AccountLocked)
	if !strings.Contains(m.Text, "5 failed sign-in attempts") || !strings.Contains(m.Text, "5 minutes") {
		t.Fatalf("lock mail: %s", m.Text)
	}
}

func TestPasswordChangeRevokesOtherSessions(t *testing.T) {
	ctx := context.Background()
	f := newFull(t, dbtest.SQLite(t), account.Rules{})
	reg, _ := f.s.Register(ctx, account.NewUser{Email: "jo@example.com", Password: pw})
	if err := f.s.ChangePassword(ctx, reg.User.ID, "not it 123", "fresh secret 77",
		"keep-me"); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := f.s.ChangePassword(ctx, reg.User.ID, pw, "fresh secret 77", "keep-me"); err != nil {
		t.Fatal(err)
	}
	if len(f.revoker.calls) != 1 || !strings.Contains(f.revoker.calls[0], `keep="keep-me"`) {
		t.Fatalf("revoked: %v", f.revoker.calls)
	}
	f.inbox.last(t, "jo@example.com", mail.SecurityAlert)
}

func TestTwoFactor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFull(t, db, account.Rules{})
		reg, _ := f.s.Register(ctx, account.NewUser{Email: "kim@example.com", Password: pw})
		id := reg.User.ID

		en, err := f.s.BeginTwoFactor(ctx, id)
		if err != nil || !strings.HasPrefix(en.URI, "otpauth://totp/SketchMaker:") {
			t.Fatalf("begin: %+v %v", en, err)
		}
		secretBytes, _ := totp.DecodeSecret(en.Secret)
		var stored string
		_ = db.GetContext(ctx, &stored, db.Rebind(`SELECT totp_secret FROM users WHERE id = ?`), id)
		if strings.Contains(stored, en.Secret) || !strings.HasPrefix(stored, "v1.") {
			t.Fatalf("the secret is stored as %q", stored)
		}
		if _, err := f.s.EnableTwoFactor(ctx, id, "000000"); err == nil &&
			totp.Default.Generate(secretBytes, f.clock.t) != "000000" {
			t.Fatal("enabled with a wrong code")
		}
		codes, err := f.s.EnableTwoFactor(ctx, id, totp.Default.Generate(secretBytes, f.clock.t))
		if err != nil || len(codes) != account.RecoveryCodeCount {
			t.Fatalf("enable: %v %v", codes, err)
		}

		// The code that enabled it cannot sign in; the next one can, once.
		tok, _ := f.s.StartChallenge(ctx, id, "password", "/gallery")
		now := totp.Default.Generate(secretBytes, f.clock.t)
		if _, _, err := f.s.AnswerChallenge(ctx, tok, now); err == nil {
			t.Fatal("a code was used twice")
		}
		f.clock.t = f.clock.t.Add(30 * time.Second)
		next := totp.Default.Generate(secretBytes, f.clock.t)
		step, _, err := f.s.AnswerChallenge(ctx, tok, next)
		if err != nil || step.Factor != "totp" || step.Next != "/gallery" || step.User.ID != id {
			t.Fatalf("second step: %+v %v", step, err)
		}
		if f.s.ChallengeOpen(ctx, tok) {
			t.Fatal("an answered challenge is still open")
		}

		// A recovery code works once, in any case and spacing.
		tok, _ = f.s.StartChallenge(ctx, id, "password", "")
		typed := strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))
		if step, _, err := f.s.AnswerChallenge(ctx, tok, typed); err != nil ||
			step.Factor != "recovery_code" {
			t.Fatalf("recovery code: %+v %v", step, err)
		}
		tok, _ = f.s.StartChallenge(ctx, id, "password", "")
		if _, _, err := f.s.AnswerChallenge(ctx, tok, codes[0]); err == nil {
			t.Fatal("a recovery code worked twice")
		}
		if n, _ := f.s.RecoveryCodesLeft(ctx, id); n != account.RecoveryCodeCount-1 {
			t.Fatalf("%d codes left", n)
		}

		if err := f.s.DisableTwoFactor(ctx, id, pw, codes[1]); err != nil {
			t.Fatalf("disable: %v", err)
		}
		if u, _ := f.s.ByID(ctx, id); u.TOTPEnabled {
			t.Fatal("still on after disabling")
		}
	})
}

func TestChallengeEndsAfterFiveWrongCodes(t *testing.T) {
	ctx := context.Background()
	f := newFull(t, dbtest.SQLite(t), account.Rules{})
	reg, _ := f.s.Register(ctx, account.NewUser{Email: "lu@example.com", Password: pw})
	en, _ := f.s.BeginTwoFactor(ctx, reg.User.ID)
	sec, _ := totp.DecodeSecret(en.Secret)
	_, _ = f.s.EnableTwoFactor(ctx, reg.User.ID, totp.Default.Generate(sec, f.clock.t))
	f.clock.t = f.clock.t.Add(time.Minute)

	tok, _ := f.s.StartChallenge(ctx, reg.User.ID, "password", "")
	for i := 1; i <= account.ChallengeTries; i++ {
		_, fail, err := f.s.AnswerChallenge(ctx, tok, "abcdef")
		if err == nil || fail == nil {
			t.Fatalf("wrong code %d accepted", i)
		}
	}
	good := totp.Default.Generate(sec, f.clock.t)
	if _, _, err := f.s.AnswerChallenge(ctx, tok, good); !errors.Is(err, account.ErrChallenge) {
		t.Fatalf("right code after five wrong ones: %v", err)
	}
	f.clock.t = f.clock.t.Add(account.ChallengeLifetime)
	tok, _ = f.s.StartChallenge(ctx, reg.User.ID, "password", "")
	f.clock.t = f.clock.t.Add(account.ChallengeLifetime + time.Second)
	if f.s.ChallengeOpen(ctx, tok) {
		t.Fatal("a challenge outlived its lifetime")
	}
}

func TestProviderIdentities(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFull(t, db, account.Rules{})
		owner, _ := f.s.Register(ctx, account.NewUser{Email: "mo@example.com", Password: pw})
		other, _ := f.s.Register(ctx, account.NewUser{Email: "ned@example.com", Password: pw})

		// A new address makes an account without a password.
		u, created, err := f.s.SignInWith(ctx, account.Identity{Provider: "google",
			Subject: "g-1", Email: "New.Person@Example.com", Name: "New Person"})
		if err != nil || !created || u.PasswordHash != "" || !u.EmailVerified ||
			u.Email != "new.person@example.com" {
			t.Fatalf("new identity: %+v %v %v", u, created, err)
		}
		if again, created, err := f.s.SignInWith(ctx, account.Identity{Provider: "google",
			Subject: "g-1", Email: "new.person@example.com"}); err != nil || created ||
			again.ID != u.ID {
			t.Fatalf("returning identity: %v %v", created, err)
		}
		if _, _, err := f.s.Authenticate(ctx, "new.person@example.com", ""); err == nil {
			t.Fatal("an account without a password signed in with an empty one")
		}

		// An existing address is not taken over.
		id := account.Identity{Provider: "google", Subject: "g-2", Email: "mo@example.com"}
		got, _, err := f.s.SignInWith(ctx, id)
		if !errors.Is(err, account.ErrLinkRequired) || got.ID != owner.User.ID {
			t.Fatalf("existing address: %v", err)
		}
		tok, _ := f.s.OfferLink(ctx, got.ID, id)
		if linked, err := f.s.ClaimLink(ctx, tok, other.User.ID); linked != nil || err != nil {
			t.Fatalf("another account claimed the link: %v %v", linked, err)
		}
		tok, _ = f.s.OfferLink(ctx, got.ID, id)
		if linked, err := f.s.ClaimLink(ctx, tok, owner.User.ID); linked == nil || err != nil {
			t.Fatalf("the owner's claim: %v %v", linked, err)
		}
		if u, _, err := f.s.SignInWith(ctx, id); err != nil || u.ID != owner.User.ID {
			t.Fatalf("after linking: %v", err)
		}
		if err := f.s.Unlink(ctx, owner.User.ID, "google"); err != nil {
			t.Fatalf("unlink with a password set: %v", err)
		}
		if err := f.s.Unlink(ctx, u.ID, "google"); fault.As(err) == nil {
			t.Fatal("unlinked the only way into an account without a password")
		}
	})
}

func TestCloseRemovesFilesAndSparesTheLastSuperadmin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFull(t, db, account.Rules{})
		u, _ := f.s.Create(ctx, account.NewUser{Email: "root@example.com", Password: pw,
			Role: role.Superadmin})
		reg, _ := f.s.Register(ctx, account.NewUser{Email: "pat@example.com", Password: pw})

		if err := f.s.Close(ctx, reg.User.ID, "wrong pass 12"); !errors.Is(err,
			account.ErrWrongPassword) {
			t.Fatalf("wrong password: %v", err)
		}
		if err := f.s.Close(ctx, reg.User.ID, pw); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.ByID(ctx, reg.User.ID); !errors.Is(err, database.ErrNotFound) {
			t.Fatalf("account still there: %v", err)
		}
		if len(f.files.removed) != 1 || f.files.removed[0] != reg.User.ID {
			t.Fatalf("files removed for %v", f.files.removed)
		}
		var ledger int
		_ = db.GetContext(ctx, &ledger, db.Rebind(`SELECT COUNT(*) FROM credit_ledger
			WHERE user_id = ?`), reg.User.ID)
		if ledger == 0 {
			t.Fatal("the ledger rows went with the account")
		}

		if err := f.s.Close(ctx, u.ID, pw); !errors.Is(err, account.ErrLastSuperadmin) {
			t.Fatalf("last superadmin closed: %v", err)
		}
		if len(f.files.removed) != 1 {
			t.Fatal("the last superadmin's files were removed before the refusal")
		}
	})
}

// TestResetOverTheMailQuotaHasNoCode asks for more resets than the hourly mail quota: the
// requests past it get no mail and no code, so no guess can complete them, whichever
// address asked. Otherwise each request would add five guesses at a live code.
func TestResetOverTheMailQuotaHasNoCode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFull(t, db, account.Rules{})
		reg, _ := f.s.Register(ctx, account.NewUser{Email: "ned@example.com", Password: pw})
		for range 5 {
			if _, err := f.s.RequestReset(ctx, "ned@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		mailed := f.inbox.count("ned@example.com", mail.PasswordReset)
		var live, dead int
		q := db.Rebind(`SELECT COUNT(*) FROM password_resets WHERE user_id = ?
			AND code_hash <> ''`)
		if err := db.GetContext(ctx, &live, q, reg.User.ID); err != nil {
			t.Fatal(err)
		}
		q = db.Rebind(`SELECT COUNT(*) FROM password_resets WHERE user_id = ?
			AND code_hash = ''`)
		if err := db.GetContext(ctx, &dead, q, reg.User.ID); err != nil {
			t.Fatal(err)
		}
		if mailed != 3 || live != mailed || dead != 5-mailed {
			t.Fatalf("%d mails, %d requests with a code, %d without; want 3, 3 and 2",
				mailed, live, dead)
		}
	})
}
