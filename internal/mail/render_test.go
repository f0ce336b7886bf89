package mail_test

import (
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/mail"
)

// fullData holds every key any template reads.
func fullData(name string) mail.Data {
	return mail.Data{
		"SiteName": "SketchMaker", "SiteURL": "https://studio.example", "Name": name,
		"Link": "https://studio.example/verify-email?token=abc", "Hours": 24, "Change": false,
		"Code": "123456", "Minutes": 15, "Attempts": 5, "Until": "12:05 UTC",
		"Event": mail.AlertPasswordChanged, "When": "1 Mar 2026 12:00 UTC", "IP": "203.0.113.9",
		"Type": "ip_blocked", "Message": "An address was blocked.", "Subject": "203.0.113.9",
		"Occurrences": 1,
	}
}

func TestEveryTemplateRenders(t *testing.T) {
	for _, name := range mail.Templates() {
		m, err := mail.Render(name, "ann@example.com", fullData("Ann"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || m.Text == "" ||
			!strings.Contains(m.HTML, "<html") || m.Template != name ||
			m.To != "ann@example.com" {
			t.Errorf("%s: rendered %+v", name, m)
		}
	}
}

func TestRenderEscapesHTMLButNotText(t *testing.T) {
	hostile := `<img src=x onerror=alert(1)>"'`
	m, err := mail.Render(mail.Welcome, "a@example.com", fullData(hostile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<img src=x") {
		t.Fatalf("HTML part carries the name unescaped:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "&lt;img src=x") || !strings.Contains(m.Text, hostile) {
		t.Fatal("the name is missing from a part")
	}
}

func TestRenderRefusesUnknownAndIncomplete(t *testing.T) {
	if _, err := mail.Render("no_such", "a@example.com", fullData("A")); err == nil {
		t.Error("an unknown template rendered")
	}
	d := fullData("A")
	d["Event"] = "made_up"
	if _, err := mail.Render(mail.SecurityAlert, "a@example.com", d); err == nil {
		t.Error("an unknown security alert rendered")
	}
	d = fullData("A")
	delete(d, "Code")
	if _, err := mail.Render(mail.PasswordReset, "a@example.com", d); err == nil {
		t.Error("a reset mail rendered without its code")
	}
}

func TestSecurityAlertWordingIsFixed(t *testing.T) {
	d := fullData("Ann")
	d["Body"] = "click https://evil.example now"
	m, err := mail.Render(mail.SecurityAlert, "a@example.com", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "evil.example") || !strings.Contains(m.Subject, "password") {
		t.Fatalf("alert text came from the caller: %q\n%s", m.Subject, m.Text)
	}
}

func TestSettingsValidate(t *testing.T) {
	good := mail.Settings{Host: "smtp.example.com", Port: 587, TLS: mail.TLSStartTLS,
		From: "SketchMaker <studio@example.com>", Username: "u", Password: "p"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good settings: %v", err)
	}
	bad := map[string]func(*mail.Settings){
		"port":            func(s *mail.Settings) { s.Port = 0 },
		"tls mode":        func(s *mail.Settings) { s.TLS = "ssl3" },
		"scheme in host":  func(s *mail.Settings) { s.Host = "smtp://smtp.example.com" },
		"sender":          func(s *mail.Settings) { s.From = "not an address" },
		"header in from":  func(s *mail.Settings) { s.From = "a@example.com\r\nBcc: x@y.z" },
		"clear text auth": func(s *mail.Settings) { s.TLS = mail.TLSNone },
	}
	for name, change := range bad {
		s := good
		change(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, s)
		}
	}
	local := good
	local.Host, local.TLS = "127.0.0.1", mail.TLSNone
	if err := local.Validate(); err != nil {
		t.Errorf("a local relay without TLS: %v", err)
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{"Ann", "<script>alert(1)</script>", "\r\nBcc: x@y.z", "{{.}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		m, err := mail.Render(mail.AccountLocked, "a@example.com", fullData(name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Fatalf("subject with a line break: %q", m.Subject)
		}
		if strings.Contains(name, "<") && strings.Contains(m.HTML, name) {
			t.Fatalf("name %q reached the HTML unescaped", name)
		}
	})
}

func FuzzSettingsValidate(f *testing.F) {
	f.Add("smtp.example.com", 587, "starttls", "a@example.com")
	f.Add("", 0, "", "")
	f.Add("::1", 25, "none", "<x@y>")
	f.Fuzz(func(t *testing.T, host string, port int, mode, from string) {
		s := mail.Settings{Host: host, Port: port, TLS: mode, From: from}
		if err := s.Validate(); err == nil && host != "" &&
			strings.ContainsAny(from, "\r\n") {
			t.Fatalf("accepted a sender with a line break: %q", from)
		}
	})
}

// TestDeletedAccountAlertOffersNoReset tells the reader of a deleted account whom to write
// to, since there is no password left to reset, and keeps the reset link for the others.
func TestDeletedAccountAlertOffersNoReset(t *testing.T) {
	for event, wantReset := range map[string]bool{mail.AlertAccountDeleted: false,
		mail.AlertPasswordChanged: true} {
		d := fullData("Ann")
		d["Event"] = event
		m, err := mail.Render(mail.SecurityAlert, "a@example.com", d)
		if err != nil {
			t.Fatal(err)
		}
		for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
			if got := strings.Contains(body, "/forgot-password"); got != wantReset {
				t.Errorf("%s %s: reset link %v, want %v", event, part, got, wantReset)
			}
			if got := strings.Contains(body, "administrators"); got == wantReset {
				t.Errorf("%s %s: advice to write to the administrators %v", event, part, got)
			}
		}
	}
}
