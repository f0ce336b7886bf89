package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// The messages SketchMaker sends; each is a pair of templates, NAME.txt and NAME.html.
const (
	Welcome         = "welcome"
	VerifyEmail     = "verify_email"
	PasswordReset   = "password_reset"
	AccountApproved = "account_approved"
	AccountLocked   = "account_locked"
	SecurityAlert   = "security_alert"
	TestMessage     = "test_message"
	AdminAlert      = "admin_alert"
)

// Templates lists every message template.
func Templates() []string {
	return []string{Welcome, VerifyEmail, PasswordReset, AccountApproved, AccountLocked,
		SecurityAlert, TestMessage, AdminAlert}
}

// The events a security alert can tell about. The wording of each is fixed here, so that no
// caller can put arbitrary text into a security mail.
const (
	AlertPasswordChanged   = "password_changed"
	AlertPasswordReset     = "password_reset"
	AlertEmailChanged      = "email_changed"
	AlertTwoFactorOn       = "two_factor_enabled"
	AlertTwoFactorOff      = "two_factor_disabled"
	AlertRecoveryCodes     = "recovery_codes_renewed"
	AlertIdentityLinked    = "identity_linked"
	AlertRegisterAttempt   = "register_attempt"
	AlertAccountDeleted    = "account_deleted"
	AlertSessionsRevoked   = "sessions_revoked"
	AlertRecoveryCodesUsed = "recovery_code_used"
)

type alert struct{ headline, body string }

// accountGone are the notices of an account that no longer exists: their reader has no
// password left to reset.
var accountGone = map[string]bool{AlertAccountDeleted: true}

var alerts = map[string]alert{
	AlertPasswordChanged: {"Your password was changed",
		"The password of your account was changed, and every other session was signed out."},
	AlertPasswordReset: {"Your password was reset",
		"The password of your account was reset with a code sent to this address, and " +
			"every session was signed out."},
	AlertEmailChanged: {"Your email address was changed",
		"The email address of your account was changed. This address no longer signs in."},
	AlertTwoFactorOn: {"Two-factor sign-in is on",
		"Two-factor sign-in was turned on for your account."},
	AlertTwoFactorOff: {"Two-factor sign-in is off",
		"Two-factor sign-in was turned off for your account."},
	AlertRecoveryCodes: {"New recovery codes",
		"New recovery codes were made for your account; the old ones no longer work."},
	AlertRecoveryCodesUsed: {"A recovery code was used",
		"A recovery code was used to sign in to your account."},
	AlertIdentityLinked: {"A sign-in method was linked",
		"A sign-in with an external provider was linked to your account."},
	AlertRegisterAttempt: {"Someone tried to register with your address",
		"Someone tried to create a new account with this address. You already have an " +
			"account, so nothing was created. If it was you, sign in or reset your password."},
	AlertAccountDeleted: {"Your account was deleted",
		"Your account was deleted with its images, uploads and trained styles."},
	AlertSessionsRevoked: {"Sessions signed out",
		"Other sessions of your account were signed out."},
}

// Data is what a template receives. The sender adds SiteName and SiteURL.
type Data map[string]any

//go:embed templates
var templateFS embed.FS

// pair is one message's parsed templates.
type pair struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var parsed = mustParse()

func mustParse() map[string]pair {
	out := map[string]pair{}
	for _, name := range Templates() {
		txt, err := texttemplate.New(name+".txt").Option("missingkey=error").
			ParseFS(templateFS, "templates/"+name+".txt")
		if err != nil {
			panic(fmt.Sprintf("mail template %s.txt: %v", name, err))
		}
		html, err := htmltemplate.New("layout.html").Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			panic(fmt.Sprintf("mail template %s.html: %v", name, err))
		}
		out[name] = pair{text: txt, html: html}
	}
	return out
}

// Render fills template name for the recipient to. The subject comes from the text
// template's "subject" block; line breaks in it are removed.
func Render(name, to string, data Data) (Message, error) {
	p, ok := parsed[name]
	if !ok {
		return Message{}, fmt.Errorf("no mail template %q", name)
	}
	data = copyData(data)
	if name == SecurityAlert {
		a, ok := alerts[fmt.Sprint(data["Event"])]
		if !ok {
			return Message{}, fmt.Errorf("no security alert %q", data["Event"])
		}
		data["Headline"], data["Body"] = a.headline, a.body
		data["AccountGone"] = accountGone[fmt.Sprint(data["Event"])]
	}

	var subj, text, html bytes.Buffer
	if err := p.text.ExecuteTemplate(&subj, "subject", data); err != nil {
		return Message{}, fmt.Errorf("render %s subject: %w", name, err)
	}
	if err := p.text.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("render %s text: %w", name, err)
	}
	if err := p.html.ExecuteTemplate(&html, "layout.html", data); err != nil {
		return Message{}, fmt.Errorf("render %s html: %w", name, err)
	}
	subject := strings.Join(strings.Fields(subj.String()), " ")
	return Message{To: to, Subject: subject, Text: strings.TrimSpace(text.String()) + "\n",
		HTML: html.String(), Template: name}, nil
}

// copyData returns a copy of d, so Render never changes its caller's map.
func copyData(d Data) Data {
	out := make(Data, len(d)+2)
	for k, v := range d {
		out[k] = v
	}
	return out
}
