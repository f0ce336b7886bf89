package web_test

import (
	"context"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// TestAlertsAreMailedToTheAlertAddressAndAdmins checks the wiring of issue 7's alert mail:
// a fresh critical alert queues one message for ALERT_EMAIL and one for each active
// administrator, and a repeat within the hour queues nothing more.
func TestAlertsAreMailedToTheAlertAddressAndAdmins(t *testing.T) {
	app := apptest.NewWith(t, apptest.Options{Env: map[string]string{
		"ALERT_EMAIL": "security@example.com"}})
	ctx := context.Background()
	if _, err := app.Accounts.Create(ctx, account.NewUser{Email: "boss@example.com",
		Password: goodPassword, Role: role.Admin}); err != nil {
		t.Fatal(err)
	}
	app.Client(t).Register("plain@example.com", goodPassword)

	for range 2 {
		if _, _, err := app.Abuse.Alerts.Raise(ctx, "ip_blocked", "203.0.113.9",
			"An address was blocked after repeated limit violations."); err != nil {
			t.Fatal(err)
		}
	}

	var got []string
	if err := app.DB.SelectContext(ctx, &got, `SELECT recipient FROM outbox
		WHERE template = 'admin_alert' ORDER BY recipient`); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "boss@example.com" || got[1] != "security@example.com" {
		t.Fatalf("alert mail went to %v, want the admin and the alert address once each", got)
	}
}
