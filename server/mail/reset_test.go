package mail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"invited/db"
)

// A forgot-password email names the site, carries the link and says it
// lasts an hour; an email whose link was replaced before it went out is
// stale, never sent with a dead link.
func TestRenderResetPassword(t *testing.T) {
	now := time.Now()
	store := mustStoreAt(t, db.Options{Now: func() time.Time { return now }})
	link, err := store.CreateSignupToken(db.SystemActor, db.NewSignupToken{Name: "team", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.RedeemSignupToken(link.Secret, db.NewUser{Email: "ada@example.com", Name: "Ada <b>Lovelace</b>\r\nBcc: x", PasswordHash: "$argon2id$fake"})
	if err != nil {
		t.Fatal(err)
	}
	accounts := &db.Accounts{Store: store}
	ask := func() db.OutboxEmail {
		t.Helper()
		if err := accounts.RequestPasswordReset(context.Background(), "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		due := dueEmails(t, store)
		return due[len(due)-1]
	}
	first := ask()
	site := Site{Name: "Night Desk", BaseURL: "https://team.example.com/"}
	e, err := Render(store, site, first)
	if err != nil {
		t.Fatal(err)
	}
	uri := "https://team.example.com/reset-password/" + first.Token
	if e.To != u.Email || e.Subject != "Reset your password at Night Desk" || e.Subject != Subject(site, first) {
		t.Errorf("To %q, Subject %q", e.To, e.Subject)
	}
	for _, want := range []string{uri, "Night Desk", "1 hour", "Ada <b>Lovelace</b> Bcc: x", "ignore this email"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, e.Text)
		}
	}
	if !strings.Contains(e.HTML, `href="`+uri+`"`) || strings.Contains(e.HTML, "<b>Lovelace") || !strings.Contains(e.HTML, "1 hour") {
		t.Errorf("HTML:\n%s", e.HTML)
	}

	// A newer request (a minute on) replaces the link: the older email is
	// stale.
	now = now.Add(db.ResetEmailInterval)
	second := ask()
	var stale *StaleError
	if _, err := Render(store, site, first); !errors.As(err, &stale) || !strings.Contains(stale.Reason, "replaced") {
		t.Errorf("the replaced link's email: %v", err)
	}
	if _, err := Render(store, site, second); err != nil {
		t.Errorf("the newer email: %v", err)
	}
	// A disabled user's pending email is not sent.
	if _, err := store.DisableUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(store, site, second); !errors.As(err, &stale) || !strings.Contains(stale.Reason, "disabled") {
		t.Errorf("a disabled user's email: %v", err)
	}
}
