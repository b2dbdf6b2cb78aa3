package mail

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"invited/db"
)

func TestSiteLabel(t *testing.T) {
	for _, tc := range []struct {
		site       Site
		label, own string
	}{
		{Site{Name: "Night Desk", BaseURL: "https://team.example.com"}, "Night Desk", "The Night Desk team"},
		// The default name is the program's: the host names the site.
		{Site{Name: "invited", BaseURL: "https://team.example.com/"}, "team.example.com", "The team.example.com team"},
		{Site{Name: "", BaseURL: "http://localhost:4242"}, "localhost:4242", "The localhost:4242 team"},
		{Site{Name: "invited", BaseURL: ""}, "invited", "The invited team"},
		{Site{Name: "Acme\r\nBcc: x", BaseURL: ""}, "Acme Bcc: x", "The Acme Bcc: x team"},
	} {
		if got := tc.site.Label(); got != tc.label {
			t.Errorf("%+v.Label() = %q, want %q", tc.site, got, tc.label)
		}
		if got := tc.site.Team(); got != tc.own {
			t.Errorf("%+v.Team() = %q, want %q", tc.site, got, tc.own)
		}
	}
}

// mustStoreAt opens a store. (Stores hold no base URL: the links of an
// email come from the Site it is rendered for.)
func mustStoreAt(tb testing.TB, opts db.Options) *db.Store {
	tb.Helper()
	store, err := db.Open(filepath.Join(tb.TempDir(), "x.db"), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store
}

func mustInvite(tb testing.TB, store *db.Store, email, inviter string) db.Invitation {
	tb.Helper()
	inv, err := store.CreateInvitation(db.SystemActor, db.NewInvitation{Email: email, DefaultTTL: 48 * time.Hour, Inviter: inviter, Role: db.RoleEditor})
	if err != nil {
		tb.Fatal(err)
	}
	return inv
}

func dueEmails(tb testing.TB, store *db.Store) []db.OutboxEmail {
	tb.Helper()
	due, err := store.DueEmails(time.Now().Add(time.Minute), 100)
	if err != nil {
		tb.Fatal(err)
	}
	return due
}

// An invitation email is made when it is sent, from the outbox's data and
// the configuration it is rendered with, whatever the store that queued
// it was configured with.
func TestRenderInvitationFromOutboxData(t *testing.T) {
	store := mustStoreAt(t, db.Options{})
	inv := mustInvite(t, store, "grace@example.com", "Ada Lovelace")
	due := dueEmails(t, store)
	if len(due) != 1 {
		t.Fatalf("%d due emails, want 1", len(due))
	}
	link := "https://team.example.com/invitations/" + inv.Token

	e, err := Render(store, Site{Name: "Night Desk", BaseURL: "https://team.example.com/"}, due[0])
	if err != nil {
		t.Fatal(err)
	}
	if e.To != "grace@example.com" || e.Subject != "Ada Lovelace invited you to join Night Desk" {
		t.Errorf("To %q, Subject %q", e.To, e.Subject)
	}
	for _, want := range []string{link, "Ada Lovelace invited you to join Night Desk with the Editor role", inv.ExpiresAt.UTC().Format(expiryLayout)} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, e.Text)
		}
	}
	if !strings.Contains(e.HTML, `href="`+link+`"`) {
		t.Errorf("HTML lacks the link %s:\n%s", link, e.HTML)
	}
	if strings.Contains(e.Text+e.HTML, "localhost:4242") {
		t.Errorf("the email uses the queuing store's base URL:\n%s", e.Text)
	}

	// With the default site name, the site is named by its host, never
	// by the program's name.
	e, err = Render(store, Site{Name: "invited", BaseURL: "https://team.example.com"}, due[0])
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "Ada Lovelace invited you to join team.example.com" || strings.Contains(e.Subject, "to invited") {
		t.Errorf("Subject %q with the default site name", e.Subject)
	}
	if got := Subject(Site{Name: "invited", BaseURL: "https://team.example.com"}, due[0]); got != e.Subject {
		t.Errorf("Subject() = %q, the rendered subject is %q", got, e.Subject)
	}
}

// recordingSender keeps what it is asked to send.
type recordingSender struct {
	mu   sync.Mutex
	sent []db.Email
}

func (r *recordingSender) Send(_ context.Context, e db.Email) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, e)
	return nil
}

func (r *recordingSender) emails() []db.Email {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]db.Email(nil), r.sent...)
}

// An email whose invitation was resent or revoked, or whose user was
// deleted, before it went out is cancelled, never sent with a dead link.
func TestOutboxCancelsStaleEmails(t *testing.T) {
	store := mustStoreAt(t, db.Options{WelcomeEmails: true})
	resent := mustInvite(t, store, "resent@example.com", "Ada")
	again, err := store.ResendInvitation(db.SystemActor, resent.ID)
	if err != nil {
		t.Fatal(err)
	}
	revoked := mustInvite(t, store, "revoked@example.com", "Ada")
	if _, err := store.RevokeInvitation(db.SystemActor, revoked.ID); err != nil {
		t.Fatal(err)
	}
	link, err := store.CreateSignupToken(db.SystemActor, db.NewSignupToken{Name: "team", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.RedeemSignupToken(link.Secret, db.NewUser{Email: "gone@example.com", Name: "Gone", PasswordHash: "not-a-real-hash"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	// The first and the resent invitation email, the revoked one's, and
	// the deleted user's welcome.
	due := dueEmails(t, store)
	if len(due) != 4 {
		t.Fatalf("%d due emails, want 4: %+v", len(due), due)
	}
	for _, e := range due {
		_, err := Render(store, testSite, e)
		var stale *StaleError
		if wantStale := e.Token != again.Token; wantStale != errors.As(err, &stale) {
			t.Errorf("Render(%s to %s): %v", e.Kind, e.To, err)
		}
	}

	sender := &recordingSender{}
	runOutbox(t, store, sender, OutboxOptions{})
	waitForMail(t, "every email to be done with", func() bool {
		stats, err := store.OutboxStats()
		return err == nil && stats[db.EmailPending] == 0
	})
	sent := sender.emails()
	if len(sent) != 1 || !strings.Contains(sent[0].Text, "/invitations/"+again.Token) {
		t.Fatalf("sent %+v, want only the resent invitation's email", sent)
	}
	list, _, err := store.ListOutbox(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, e := range list {
		if e.State == db.EmailCancelled {
			reasons[e.To] = e.LastError
		}
	}
	for to, want := range map[string]string{
		"resent@example.com":  "was resent",
		"revoked@example.com": "was revoked",
		"gone@example.com":    "user was deleted",
	} {
		if !strings.Contains(reasons[to], want) {
			t.Errorf("the email to %s: cancelled with %q, want it to say %q", to, reasons[to], want)
		}
	}
}

// A verification email's link is made when the email is rendered for
// sending: the outbox never holds it, each rendering replaces the link of
// the one before, and an email whose user was verified or deleted
// meanwhile is cancelled.
func TestRenderVerifyEmail(t *testing.T) {
	store := mustStoreAt(t, db.Options{WelcomeEmails: true, VerifyEmail: db.VerifyEmailAlways})
	link, err := store.CreateSignupToken(db.SystemActor, db.NewSignupToken{Name: "team", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.RedeemSignupToken(link.Secret, db.NewUser{Email: "kay@example.com", Name: "Kay <b>", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	due := dueEmails(t, store)
	if len(due) != 1 || due[0].Kind != db.EmailVerify || due[0].Token != "" {
		t.Fatalf("due %+v, want one verification email without a secret", due)
	}
	site := Site{Name: "Night Desk", BaseURL: "https://team.example.com/"}
	first, err := Render(store, site, due[0])
	if err != nil {
		t.Fatal(err)
	}
	if first.To != "kay@example.com" || first.Subject != "Verify your email address for Night Desk" || Subject(site, due[0]) != first.Subject {
		t.Errorf("To %q, Subject %q", first.To, first.Subject)
	}
	secretOf := func(e db.Email) string {
		t.Helper()
		const prefix = "https://team.example.com/verify-email/"
		i := strings.Index(e.Text, prefix)
		if i < 0 {
			t.Fatalf("text lacks the link:\n%s", e.Text)
		}
		secret := e.Text[i+len(prefix) : i+len(prefix)+64]
		if !strings.Contains(e.HTML, `href="`+prefix+secret+`"`) {
			t.Fatalf("HTML lacks the link:\n%s", e.HTML)
		}
		return secret
	}
	s1 := secretOf(first)
	for _, want := range []string{"Kay <b>", "Night Desk", "until", "UTC"} {
		if !strings.Contains(first.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, first.Text)
		}
	}
	if strings.Contains(first.HTML, "Kay <b>") {
		t.Errorf("HTML does not escape the name:\n%s", first.HTML)
	}
	// Rendering again (a retry) makes a new link; the first dies.
	second, err := Render(store, site, due[0])
	if err != nil {
		t.Fatal(err)
	}
	s2 := secretOf(second)
	if s1 == s2 {
		t.Fatal("two renderings share a link")
	}
	if _, err := store.VerifyEmail(s1); db.ErrorCode(err) != db.ENOTFOUND {
		t.Fatalf("the first link still works: %v", err)
	}
	if _, err := store.VerifyEmail(s2); err != nil {
		t.Fatal(err)
	}
	var stale *StaleError
	if _, err := Render(store, site, due[0]); !errors.As(err, &stale) || !strings.Contains(stale.Reason, "verified") {
		t.Fatalf("render after verifying: %v", err)
	}
	if err := store.DeleteUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(store, site, due[0]); !errors.As(err, &stale) || !strings.Contains(stale.Reason, "deleted") {
		t.Fatalf("render after deleting: %v", err)
	}
}
