package server

import (
	"testing"
	"time"

	"invited/db"
)

// An email is rendered when it is sent, so the outbox list shows a
// pending email with the subject this server's configuration gives it,
// and a sent one with the subject it went out with.
func TestListEmailsShowsSubjects(t *testing.T) {
	ts := mustServerWith(t, func(o *Options) { o.SiteName = "invited"; o.BaseURL = "https://team.example.com" })
	if _, err := ts.store.CreateInvitation(db.SystemActor, db.NewInvitation{Email: "grace@example.com", DefaultTTL: time.Hour, Inviter: "Ada"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.CreateInvitation(db.SystemActor, db.NewInvitation{Email: "alan@example.com", DefaultTTL: time.Hour, Inviter: "Ada"}); err != nil {
		t.Fatal(err)
	}
	due, err := ts.store.DueEmails(time.Now().Add(time.Minute), 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due %+v, %v", due, err)
	}
	if err := ts.store.MarkEmailSent(due[1].ID, "Ada invited you to join Old Name"); err != nil {
		t.Fatal(err)
	}
	resp, body := ts.call(t, "GET", "/api/admin/emails", "Bearer "+testKey, "")
	if resp.StatusCode != 200 {
		t.Fatalf("list emails: %d %v", resp.StatusCode, body)
	}
	subjects := map[string]string{}
	for _, e := range body["emails"].([]any) {
		m := e.(map[string]any)
		subjects[m["to"].(string)] = m["subject"].(string)
	}
	if got := subjects["grace@example.com"]; got != "Ada invited you to join team.example.com" {
		t.Errorf("pending email's subject %q", got)
	}
	if got := subjects["alan@example.com"]; got != "Ada invited you to join Old Name" {
		t.Errorf("sent email's subject %q", got)
	}
}
