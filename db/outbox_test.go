package db

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// rawEmail is the stored JSON of an outbox record, as it is on disk.
func rawEmail(tb testing.TB, s *Store, id uint64) []byte {
	tb.Helper()
	var raw []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		raw = append(raw, tx.Bucket(bucketOutbox).Get(itob(id))...)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	if raw == nil {
		tb.Fatalf("no outbox record %d", id)
	}
	return raw
}

// dueOnly returns the one due email, failing unless there is exactly one.
func dueOnly(tb testing.TB, s *Store, now time.Time) OutboxEmail {
	tb.Helper()
	due, err := s.DueEmails(now, 10)
	if err != nil {
		tb.Fatal(err)
	}
	if len(due) != 1 {
		tb.Fatalf("%d due emails, want 1: %+v", len(due), due)
	}
	return due[0]
}

// The outbox holds what to send, not a rendered email: no link, no
// subject, no body is made inside the transaction, so whoever sends it
// renders it with its own configuration.
func TestInvitationEmailIsQueuedAsData(t *testing.T) {
	s, clock := mustOpen(t)
	inv, err := s.CreateInvitation(admin, NewInvitation{Email: "grace@example.com", DefaultTTL: time.Hour, Inviter: "Ada Lovelace", Role: RoleEditor})
	if err != nil {
		t.Fatal(err)
	}
	e := dueOnly(t, s, clock.now())
	if e.Kind != EmailInvitation || e.To != "grace@example.com" || e.InvitationID != inv.ID || e.Inviter != "Ada Lovelace" || e.Token != inv.Token {
		t.Errorf("queued %+v, want the invitation's kind, address, id, inviter and token", e)
	}
	if e.Rendered() || e.Subject != "" || e.Text != "" || e.HTML != "" {
		t.Errorf("the email was rendered when queued: %+v", e)
	}
	raw := rawEmail(t, s, e.ID)
	if bytes.Contains(raw, []byte("links.test")) || bytes.Contains(raw, []byte("/invitations/")) {
		t.Errorf("the record holds a link built on the store's base URL: %s", raw)
	}
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if rec["v"] != 2.0 || rec["invitation_id"] != float64(inv.ID) || rec["token"] != inv.Token {
		t.Errorf("record %s: want v 2 with invitation_id and token", raw)
	}

	// Once sent, the token is gone from the file and the subject it went
	// out with is kept.
	if err := s.MarkEmailSent(e.ID, "Ada Lovelace invited you to join Acme"); err != nil {
		t.Fatal(err)
	}
	raw = rawEmail(t, s, e.ID)
	if bytes.Contains(raw, []byte(inv.Token)) {
		t.Errorf("the sent record still holds the token: %s", raw)
	}
	list, _, err := s.ListOutbox(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := list[0]; got.State != EmailSent || got.Subject != "Ada Lovelace invited you to join Acme" || got.Token != "" || got.InvitationID != inv.ID {
		t.Errorf("after sending: %+v", got)
	}
}

func TestInvitationEmailRules(t *testing.T) {
	t.Run("disabled email queues nothing", func(t *testing.T) {
		s, clock := mustOpen(t)
		if _, err := s.CreateInvitation(admin, NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, DisableEmail: true}); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueEmails(clock.now(), 10); len(due) != 0 {
			t.Errorf("queued %+v", due)
		}
	})

	t.Run("resend queues the new token", func(t *testing.T) {
		s, clock := mustOpen(t)
		inv, err := s.CreateInvitation(admin, NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, Inviter: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.ResendInvitation(admin, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		due, err := s.DueEmails(clock.now(), 10)
		if err != nil || len(due) != 2 {
			t.Fatalf("due %+v, %v", due, err)
		}
		if due[1].Token != again.Token || due[1].InvitationID != inv.ID || due[1].Inviter != "Ada" {
			t.Errorf("the resend queued %+v", due[1])
		}
	})

	t.Run("failing for good wipes the token", func(t *testing.T) {
		s, clock := mustOpen(t)
		inv, err := s.CreateInvitation(admin, NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		e := dueOnly(t, s, clock.now())
		if err := s.MarkEmailAttemptFailed(e.ID, "421 later", clock.now(), false); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(rawEmail(t, s, e.ID), []byte(inv.Token)) {
			t.Fatal("a retry lost the token it needs")
		}
		if err := s.MarkEmailAttemptFailed(e.ID, "550 no such user", clock.now(), true); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(rawEmail(t, s, e.ID), []byte(inv.Token)) {
			t.Error("the failed record still holds the token")
		}
		wantCode(t, s.RetryEmail(e.ID), EINVALID)
	})

	t.Run("cancel", func(t *testing.T) {
		s, clock := mustOpen(t)
		inv, err := s.CreateInvitation(admin, NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		e := dueOnly(t, s, clock.now())
		if err := s.CancelEmail(e.ID, "not sent: the invitation was revoked"); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(rawEmail(t, s, e.ID), []byte(inv.Token)) {
			t.Error("the cancelled record still holds the token")
		}
		if due, _ := s.DueEmails(clock.now().Add(time.Hour), 10); len(due) != 0 {
			t.Errorf("a cancelled email is still due: %+v", due)
		}
		if _, ok, _ := s.NextEmailDue(); ok {
			t.Error("NextEmailDue still sees the cancelled email")
		}
		stats, err := s.OutboxStats()
		if err != nil || stats[EmailCancelled] != 1 || stats[EmailPending] != 0 {
			t.Errorf("stats %v, %v", stats, err)
		}
		list, _, _ := s.ListOutbox(0, 10)
		if list[0].State != EmailCancelled || list[0].LastError != "not sent: the invitation was revoked" {
			t.Errorf("cancelled record %+v", list[0])
		}
		wantCode(t, s.CancelEmail(999, "x"), ENOTFOUND)
	})
}

func TestWelcomeEmailIsQueuedAsData(t *testing.T) {
	for _, on := range []bool{true, false} {
		clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		s, err := Open(filepath.Join(t.TempDir(), "w.db"), Options{Now: clock.now, WelcomeEmails: on})
		if err != nil {
			t.Fatal(err)
		}
		link := mustLink(t, s, clock, NewSignupToken{})
		u, err := s.RedeemSignupToken(link.Secret, newUser("ada@example.com", "ada"))
		if err != nil {
			t.Fatal(err)
		}
		due, err := s.DueEmails(clock.now(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if s.SendsWelcomeEmails() != on {
			t.Errorf("SendsWelcomeEmails() = %v with WelcomeEmails %v", !on, on)
		}
		switch {
		case !on && len(due) != 0:
			t.Errorf("welcome emails off, queued %+v", due)
		case on && (len(due) != 1 || due[0].Kind != EmailWelcome || due[0].UserID != u.ID || due[0].To != "ada@example.com" || due[0].Rendered()):
			t.Errorf("welcome emails on, queued %+v", due)
		case on:
			// Rendered from the user, a welcome email can be retried.
			if err := s.MarkEmailAttemptFailed(due[0].ID, "550", clock.now(), true); err != nil {
				t.Fatal(err)
			}
			if err := s.RetryEmail(due[0].ID); err != nil {
				t.Errorf("retry a failed welcome email: %v", err)
			}
		}
		s.Close()
	}
}

// Records written by an older build hold their rendered bodies; they stay
// readable and are handed out as they are, to be sent unchanged.
func TestOutboxReadsRenderedRecordsOfOlderBuilds(t *testing.T) {
	s, clock := mustOpen(t)
	at := clock.now().UTC()
	old := `{"v":1,"kind":"invitation","to":"bob@example.com","subject":"Ada invited you to Acme",` +
		`"text":"Hello, open http://old.example/invitations/abc","html":"<p>Hello</p>","state":"pending","attempts":1,` +
		`"created_at":"` + at.Format(time.RFC3339Nano) + `","next_attempt_at":"` + at.Format(time.RFC3339Nano) + `"}`
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		id, err := nextID(b)
		if err != nil {
			return err
		}
		if err := b.Put(itob(id), []byte(old)); err != nil {
			return err
		}
		return tx.Bucket(bucketOutboxDue).Put(dueKey(at, id), nil)
	}); err != nil {
		t.Fatal(err)
	}
	e := dueOnly(t, s, clock.now())
	if !e.Rendered() || e.Subject != "Ada invited you to Acme" || !strings.Contains(e.Text, "http://old.example/invitations/abc") || e.HTML != "<p>Hello</p>" || e.Attempts != 1 {
		t.Errorf("old record read as %+v", e)
	}
	if err := s.MarkEmailSent(e.ID, ""); err != nil {
		t.Fatal(err)
	}
	list, _, _ := s.ListOutbox(0, 1)
	if list[0].State != EmailSent || list[0].Subject != "Ada invited you to Acme" || list[0].Text != "" {
		t.Errorf("old record after sending: %+v", list[0])
	}
}
