package mail

import (
	"errors"
	"strings"
	"testing"
	"time"

	"invited/db"
)

// TestInviteAcceptedEmail: the email that tells an inviter their
// invitation was accepted names who accepted and the site, escapes what
// people typed, and is not sent once the inviter is disabled or deleted.
func TestInviteAcceptedEmail(t *testing.T) {
	store := mustStoreAt(t, db.Options{NotifyInviter: true})
	site := Site{Name: "Night Desk", BaseURL: "https://team.example.com"}
	first := mustInvite(t, store, "ada@example.com", "Root")
	u, err := store.AcceptInvitation(first.Token, db.NewUser{Name: "Ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	ada := db.Actor{Kind: "user", ID: u.ID, Name: u.Email, Role: u.RootRole}
	inv, err := store.CreateInvitation(ada, db.NewInvitation{Email: "kay@example.com", DefaultTTL: time.Hour, DisableEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AcceptInvitation(inv.Token, db.NewUser{Name: "Kay <b>", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	var told []db.OutboxEmail
	for _, e := range dueEmails(t, store) {
		if e.Kind == db.EmailInviteAccepted {
			told = append(told, e)
		}
	}
	// Root (the system) made Ada's invitation: only Ada is told.
	if len(told) != 1 || told[0].To != "ada@example.com" {
		t.Fatalf("emails to inviters: %+v", told)
	}
	e, err := Render(store, site, told[0])
	if err != nil {
		t.Fatal(err)
	}
	if e.To != "ada@example.com" || e.Subject != "Kay <b> accepted your invitation to Night Desk" {
		t.Fatalf("to %q, subject %q", e.To, e.Subject)
	}
	for _, want := range []string{"Hello Ada", "Kay <b> accepted your invitation to Night Desk (kay@example.com)", "Viewer", "https://team.example.com/"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, e.Text)
		}
	}
	if strings.Contains(e.HTML, "Kay <b>") || !strings.Contains(e.HTML, "Kay &lt;b&gt;") {
		t.Errorf("HTML does not escape the name:\n%s", e.HTML)
	}
	if got := Subject(site, told[0]); got != "Your invitation to Night Desk was accepted" {
		t.Errorf("subject before sending %q", got)
	}

	var stale *StaleError
	if _, err := store.DisableUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(store, site, told[0]); !errors.As(err, &stale) || !strings.Contains(stale.Reason, "disabled") {
		t.Fatalf("render for a disabled inviter: %v", err)
	}
	if err := store.DeleteUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(store, site, told[0]); !errors.As(err, &stale) || !strings.Contains(stale.Reason, "deleted") {
		t.Fatalf("render for a deleted inviter: %v", err)
	}
}
