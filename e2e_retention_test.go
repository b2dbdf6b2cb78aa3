package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"invited/db"
	"invited/internal/testutil"
)

// TestE2ERetention: `invited serve` prunes at start what outlived
// retention.events and retention.emails in a file written long ago (the
// store's clock set back), logs what it pruned, keeps the pending email
// and what is young, and refuses a negative retention before it starts.
func TestE2ERetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	long := time.Now().Add(-400 * 24 * time.Hour)
	store, err := db.Open(filepath.Join(dir, "invited.db"), db.Options{Now: func() time.Time { return long }})
	if err != nil {
		t.Fatal(err)
	}
	actor := db.Actor{Kind: "tui", Name: "ops", Role: db.RoleAdmin}
	if _, err := store.CreateOrganization(actor, "", "Old desk"); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"done@example.com", "waiting@example.com"} {
		if err := store.EnqueueEmail(db.EmailWelcome, db.Email{To: to, Subject: "hello", Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	emails, _, err := store.ListOutbox(0, 10)
	if err != nil || len(emails) != 2 {
		t.Fatalf("outbox: %+v, %v", emails, err)
	}
	if err := store.CancelEmail(emails[1].ID, "no longer wanted"); err != nil { // done@, the older
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("a negative retention is refused", func(t *testing.T) {
		_, stderr, code := runBinary(t, 30*time.Second, serverEnv(dir, "INVITED_RETENTION_EVENTS=-1h"), "serve")
		if code == 0 || !strings.Contains(stderr, "retention.events") || !strings.Contains(stderr, "negative") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	p := startServer(t, dir, "INVITED_RETENTION_EVENTS=8760h", "INVITED_RETENTION_EMAILS=720h")
	testutil.Eventually(t, 10*time.Second, "the old event and email pruned", func() error {
		if !strings.Contains(p.log.String(), "pruned expired and old records") {
			return fmt.Errorf("no pruning logged yet")
		}
		return nil
	})
	logs := p.log.String()
	if !strings.Contains(logs, "events=1") || !strings.Contains(logs, "emails=1") {
		t.Errorf("the pruning line lacks its counts:\n%s", logs)
	}
	_, _, body := do(t, "GET", p.URL+"/api/admin/events?type="+db.EventOrgCreated, e2eAdminKey, nil)
	if got := object(t, "events", body); got["total"] != float64(0) {
		t.Errorf("the year-old event is still listed: %v", got)
	}
	_, _, body = do(t, "GET", p.URL+"/api/admin/events", e2eAdminKey, nil)
	if got := object(t, "events", body); got["total"] == float64(0) {
		t.Errorf("the young events went too: %v", got)
	}
	// The pending email stays, and the outbox worker sends it (to the
	// log) after the pruning.
	testutil.Eventually(t, 10*time.Second, "the waiting email sent", func() error {
		_, _, body := do(t, "GET", p.URL+"/api/admin/emails", e2eAdminKey, nil)
		s := string(body)
		if strings.Contains(s, "done@example.com") {
			return fmt.Errorf("the cancelled year-old email is listed: %s", s)
		}
		if !strings.Contains(s, "waiting@example.com") || !strings.Contains(s, `"sent"`) {
			return fmt.Errorf("emails: %s", s)
		}
		return nil
	})
}
