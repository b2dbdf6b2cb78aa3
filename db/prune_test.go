package db

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketLen counts the keys of a bucket.
func bucketLen(tb testing.TB, s *Store, bucket []byte) int {
	tb.Helper()
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(_, _ []byte) error { n++; return nil })
	}); err != nil {
		tb.Fatal(err)
	}
	return n
}

func mustPrune(tb testing.TB, s *Store, r Retention) PruneCounts {
	tb.Helper()
	c, err := s.Prune(r)
	if err != nil {
		tb.Fatalf("prune: %v", err)
	}
	return c
}

// Sessions and one-time user tokens go at the instant they expire, not a
// nanosecond before, with their by-user index entries; live ones stay and
// still work.
func TestPruneSessionsAndUserTokens(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	bob := mustMember(t, s, clock, "bob@example.com", "bob", RoleViewer)
	mustSession(t, s, ada.ID, time.Hour)
	long := mustSession(t, s, ada.ID, 2*time.Hour)
	mustSession(t, s, bob.ID, time.Hour)
	issue := func(p TokenPurpose, id uint64, ttl time.Duration) string {
		t.Helper()
		secret, _, err := s.IssueUserToken(p, id, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	issue(TokenResetPassword, ada.ID, time.Hour)
	issue(TokenSecondFactor, bob.ID, time.Hour)
	verify := issue(TokenVerifyEmail, ada.ID, 2*time.Hour)

	clock.add(time.Hour - time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c.Total() != 0 {
		t.Fatalf("a nanosecond before anything expired: %+v", c)
	}
	clock.add(time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c != (PruneCounts{Sessions: 2, UserTokens: 2}) {
		t.Fatalf("at the hour: %+v; want 2 sessions and 2 tokens", c)
	}
	if n, m := bucketLen(t, s, bucketSessions), bucketLen(t, s, bucketSessionsByUser); n != 1 || m != 1 {
		t.Errorf("sessions left %d, index entries %d; want 1 and 1", n, m)
	}
	if n, m := bucketLen(t, s, bucketUserTokens), bucketLen(t, s, bucketUserTokensByUser); n != 1 || m != 1 {
		t.Errorf("tokens left %d, index entries %d; want 1 and 1", n, m)
	}
	if u, err := s.AuthenticateSession(long); err != nil || u.ID != ada.ID {
		t.Errorf("the live session: %+v, %v", u, err)
	}
	if _, err := s.PeekUserToken(TokenVerifyEmail, verify); err != nil {
		t.Errorf("the live token: %v", err)
	}
	// A user can still log in and get new tokens of the pruned purposes.
	mustSession(t, s, bob.ID, time.Hour)
	again := issue(TokenResetPassword, ada.ID, time.Hour)
	if _, err := s.PeekUserToken(TokenResetPassword, again); err != nil {
		t.Errorf("a new reset token after pruning: %v", err)
	}
	clock.add(time.Hour)
	if c := mustPrune(t, s, Retention{}); c != (PruneCounts{Sessions: 2, UserTokens: 2}) {
		t.Fatalf("an hour later: %+v", c)
	}
	for _, b := range [][]byte{bucketSessions, bucketSessionsByUser, bucketUserTokens, bucketUserTokensByUser} {
		if n := bucketLen(t, s, b); n != 0 {
			t.Errorf("%s holds %d keys after everything expired", b, n)
		}
	}
}

// OpenID Connect codes, auth requests and refresh tokens go at the
// instant each expires.
func TestPruneOIDC(t *testing.T) {
	s, clock := mustOpen(t)
	req := mustOIDCAuthRequest(t, s)
	if _, err := s.CompleteOIDCAuthRequest(req.ID, 7, []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveOIDCCode(req.ID, "the-code"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateOIDCRefreshToken(OIDCRefreshGrant{UserID: 7, ClientID: "c"}, ""); err != nil {
		t.Fatal(err)
	}

	clock.add(OIDCCodeTTL - time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c.Total() != 0 {
		t.Fatalf("before the code expired: %+v", c)
	}
	clock.add(time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c != (PruneCounts{OIDCCodes: 1}) {
		t.Fatalf("when the code expired: %+v", c)
	}
	if _, err := s.OIDCAuthRequestByID(req.ID); err != nil {
		t.Fatalf("the request went with its code: %v", err)
	}
	clock.add(OIDCAuthRequestTTL - OIDCCodeTTL - time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c.Total() != 0 {
		t.Fatalf("before the request expired: %+v", c)
	}
	clock.add(time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c != (PruneCounts{OIDCAuthRequests: 1}) {
		t.Fatalf("when the request expired: %+v", c)
	}
	if n := bucketLen(t, s, bucketOIDCAuthByTime); n != 0 {
		t.Errorf("oidc_auth_by_time keeps %d entries", n)
	}
	clock.add(OIDCRefreshTTL - OIDCAuthRequestTTL - time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c.Total() != 0 {
		t.Fatalf("before the refresh token expired: %+v", c)
	}
	clock.add(time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c != (PruneCounts{OIDCRefreshTokens: 1}) {
		t.Fatalf("when the refresh token expired: %+v", c)
	}
	if n, m := bucketLen(t, s, bucketOIDCRefresh), bucketLen(t, s, bucketOIDCRefreshByUser); n != 0 || m != 0 {
		t.Errorf("refresh tokens %d, index entries %d left", n, m)
	}
}

// Audit events go once retention.events has passed since they happened,
// not before; the list, by type too, still works; 0 keeps them for ever.
func TestPruneEvents(t *testing.T) {
	s, clock := mustOpen(t)
	const keep = 10 * time.Hour
	mustLink(t, s, clock, NewSignupToken{Name: "old one"})
	mustLink(t, s, clock, NewSignupToken{Name: "old two"})
	clock.add(time.Hour)
	if _, err := s.CreateOrganization(admin, "", "Night desk"); err != nil {
		t.Fatal(err)
	}
	_, before, err := s.ListEvents("", 0, 100)
	if err != nil || before != 3 {
		t.Fatalf("events before: %d, %v", before, err)
	}

	clock.add(keep - time.Hour - time.Nanosecond)
	if c := mustPrune(t, s, Retention{Events: keep}); c.Events != 0 {
		t.Fatalf("a nanosecond before the window ends: %+v", c)
	}
	if c := mustPrune(t, s, Retention{}); c.Events != 0 {
		t.Fatalf("retention 0: %+v", c)
	}
	clock.add(time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c.Events != 0 {
		t.Fatalf("retention 0 at the boundary: %+v", c)
	}
	if c := mustPrune(t, s, Retention{Events: keep}); c.Events != 2 {
		t.Fatalf("at the boundary: %+v; want the two link events", c)
	}
	all, total, err := s.ListEvents("", 0, 100)
	if err != nil || total != 1 || len(all) != 1 || all[0].Type != EventOrgCreated {
		t.Fatalf("events left: %+v (%d), %v", all, total, err)
	}
	if links, n, err := s.ListEvents(EventLinkCreated, 0, 100); err != nil || n != 0 || len(links) != 0 {
		t.Errorf("link events by type after pruning: %+v (%d), %v", links, n, err)
	}
	if orgs, n, err := s.ListEvents(EventOrgCreated, 0, 100); err != nil || n != 1 || len(orgs) != 1 {
		t.Errorf("organization events by type after pruning: %+v (%d), %v", orgs, n, err)
	}
	// New events still get new ids after the old ones went.
	mustLink(t, s, clock, NewSignupToken{Name: "new"})
	if all, _, _ := s.ListEvents("", 0, 1); len(all) != 1 || all[0].ID <= 3 {
		t.Errorf("newest event after pruning: %+v", all)
	}
	clock.add(100 * 365 * 24 * time.Hour)
	if c := mustPrune(t, s, Retention{}); c.Events != 0 {
		t.Errorf("retention 0 a century later: %+v", c)
	}
	if _, n, _ := s.ListEvents("", 0, 100); n != 2 {
		t.Errorf("after a century with retention 0: %d events; want 2", n)
	}
}

// Emails that are done with go once retention.emails has passed since
// they were queued, or sent if later; pending ones never go, and the
// outbox worker's queries still work.
func TestPruneEmails(t *testing.T) {
	s, clock := mustOpen(t)
	const keep = 720 * time.Hour
	enqueue := func(to string) uint64 {
		t.Helper()
		if err := s.EnqueueEmail("test", Email{To: to, Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
		list, _, err := s.ListOutbox(0, 1)
		if err != nil || len(list) != 1 {
			t.Fatalf("outbox: %+v, %v", list, err)
		}
		return list[0].ID
	}
	sent := enqueue("sent@example.com")
	sentLate := enqueue("late@example.com")
	cancelled := enqueue("cancelled@example.com")
	failed := enqueue("failed@example.com")
	pending := enqueue("pending@example.com")
	if err := s.MarkEmailSent(sent, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelEmail(cancelled, "revoked"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkEmailAttemptFailed(failed, "550 no such user", clock.now(), true); err != nil {
		t.Fatal(err)
	}
	// The pending one keeps failing and is tried again much later.
	if err := s.MarkEmailAttemptFailed(pending, "421 try later", clock.now().Add(2*keep), false); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Hour)
	if err := s.MarkEmailSent(sentLate, ""); err != nil {
		t.Fatal(err)
	}

	clock.add(keep - time.Hour - time.Nanosecond)
	if c := mustPrune(t, s, Retention{Emails: keep}); c.Emails != 0 {
		t.Fatalf("a nanosecond before the window ends: %+v", c)
	}
	clock.add(time.Nanosecond)
	if c := mustPrune(t, s, Retention{}); c.Emails != 0 {
		t.Fatalf("retention 0: %+v", c)
	}
	if c := mustPrune(t, s, Retention{Emails: keep}); c.Emails != 3 {
		t.Fatalf("at the boundary: %+v; want sent, cancelled and failed", c)
	}
	left, total, err := s.ListOutbox(0, 10)
	if err != nil || total != 2 || left[0].ID != pending || left[1].ID != sentLate {
		t.Fatalf("outbox left: %+v (%d), %v", left, total, err)
	}
	clock.add(time.Hour)
	if c := mustPrune(t, s, Retention{Emails: keep}); c.Emails != 1 {
		t.Fatalf("an hour later (the late one's window): %+v", c)
	}
	clock.add(10 * keep)
	if c := mustPrune(t, s, Retention{Emails: keep}); c.Emails != 0 {
		t.Fatalf("the pending email was pruned: %+v", c)
	}
	stats, err := s.OutboxStats()
	if err != nil || stats[EmailPending] != 1 || stats[EmailSent]+stats[EmailFailed]+stats[EmailCancelled] != 0 {
		t.Fatalf("stats: %v, %v", stats, err)
	}
	if n := bucketLen(t, s, bucketOutboxDue); n != 1 {
		t.Fatalf("outbox_due holds %d entries; want the pending email's", n)
	}
	// The worker still finds the pending email, sends it, and the next
	// one queued is found too.
	due, err := s.DueEmails(clock.now(), 10)
	if err != nil || len(due) != 1 || due[0].ID != pending {
		t.Fatalf("due after pruning: %+v, %v", due, err)
	}
	if err := s.MarkEmailSent(pending, ""); err != nil {
		t.Fatal(err)
	}
	next := enqueue("next@example.com")
	if due, err := s.DueEmails(clock.now(), 10); err != nil || len(due) != 1 || due[0].ID != next {
		t.Fatalf("due after a new email: %+v, %v", due, err)
	}
}

// A backlog of more than one batch is pruned whole by one call, one
// transaction per batch.
func TestPruneBatches(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	for range 7 {
		mustSession(t, s, ada.ID, time.Minute)
	}
	for range 9 {
		if err := s.EnqueueEmail("test", Email{To: "x@example.com", Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	emails, _, _ := s.ListOutbox(0, 100)
	for _, e := range emails {
		if err := s.CancelEmail(e.ID, "test"); err != nil {
			t.Fatal(err)
		}
	}
	_, events, err := s.ListEvents("", 0, 1)
	if err != nil || events < 2 {
		t.Fatalf("events: %d, %v", events, err)
	}
	clock.add(48 * time.Hour)

	gen := s.gen.Load()
	c := mustPrune(t, s, Retention{Events: time.Hour, Emails: time.Hour, Batch: 3})
	if c.Sessions != 7 || c.Emails != 9 || c.Events != events {
		t.Fatalf("pruned %+v; want 7 sessions, 9 emails, %d events", c, events)
	}
	// Sessions 3+3+1, emails 3+3+3+0, events by its count, and one empty
	// transaction for each of the five other kinds (webhook deliveries
	// among them). Each write moves the generation by two.
	want := 3 + 4 + (events/3 + 1) + 5
	if got := int(s.gen.Load()-gen) / 2; got != want {
		t.Errorf("%d write transactions; want %d (batches of 3)", got, want)
	}
	for _, b := range [][]byte{bucketSessions, bucketSessionsByUser, bucketOutbox, bucketOutboxDue, bucketEvents} {
		if n := bucketLen(t, s, b); n != 0 {
			t.Errorf("%s holds %d keys", b, n)
		}
	}
}

// Nonsense retention is refused, and nothing is deleted.
func TestPruneRefusesNegative(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	mustSession(t, s, ada.ID, time.Minute)
	clock.add(time.Hour)
	for name, r := range map[string]Retention{
		"events":   {Events: -time.Hour},
		"emails":   {Emails: -1},
		"batch":    {Batch: -5},
		"smallest": {Events: time.Duration(-1 << 63)},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := s.Prune(r)
			wantCode(t, err, EINVALID)
			if c.Total() != 0 {
				t.Errorf("pruned %+v with a refused retention", c)
			}
		})
	}
	if n := bucketLen(t, s, bucketSessions); n != 1 {
		t.Errorf("sessions: %d", n)
	}
	// A huge retention keeps everything and does not overflow.
	mustLink(t, s, clock, NewSignupToken{Name: "one"})
	if c := mustPrune(t, s, Retention{Events: time.Duration(1<<63 - 1), Emails: time.Duration(1<<63 - 1)}); c.Events != 0 || c.Sessions != 1 {
		t.Errorf("with the largest retention: %+v", c)
	}
}

// Prune deletes the webhook deliveries that finished retention.emails ago
// or more, and never a pending one.
func TestPruneWebhookDeliveries(t *testing.T) {
	s, clock := mustOpen(t)
	w, err := s.CreateWebhook(admin, NewWebhook{URL: "https://hooks.example.com/in", Events: []string{"user.created"}})
	if err != nil {
		t.Fatal(err)
	}
	mustMember(t, s, clock, "a@example.com", "a", RoleViewer)
	mustMember(t, s, clock, "b@example.com", "b", RoleViewer)
	mustMember(t, s, clock, "c@example.com", "c", RoleViewer)
	due, err := s.DueWebhookDeliveries(clock.now(), 10)
	if err != nil || len(due) != 3 {
		t.Fatalf("due: %d, %v", len(due), err)
	}
	// One delivered now, one given up on an hour later, one still pending.
	if err := s.RecordWebhookAttempt(due[0].ID, WebhookAttempt{At: clock.now(), StatusCode: 204}, clock.now(), false); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Hour)
	if err := s.RecordWebhookAttempt(due[1].ID, WebhookAttempt{At: clock.now(), StatusCode: 500}, clock.now(), true); err != nil {
		t.Fatal(err)
	}
	keep := 24 * time.Hour
	clock.add(keep - time.Hour - time.Nanosecond) // the first is just inside
	if c := mustPrune(t, s, Retention{Emails: keep}); c.WebhookDeliveries != 0 {
		t.Fatalf("pruned %d deliveries inside the window", c.WebhookDeliveries)
	}
	clock.add(time.Nanosecond) // the first is exactly keep old
	if c := mustPrune(t, s, Retention{Emails: keep}); c.WebhookDeliveries != 1 {
		t.Fatalf("pruned %d deliveries at the boundary, want 1", c.WebhookDeliveries)
	}
	clock.add(365 * 24 * time.Hour)
	if c := mustPrune(t, s, Retention{Emails: keep}); c.WebhookDeliveries != 1 {
		t.Fatalf("pruned %d deliveries a year on, want the failed one", c.WebhookDeliveries)
	}
	if list, _ := s.WebhookDeliveries(w.ID, 10); len(list) != 1 || list[0].State != WebhookPending {
		t.Fatalf("left: %+v, want the pending one", list)
	}
	if c := mustPrune(t, s, Retention{}); c.WebhookDeliveries != 0 {
		t.Fatalf("retention 0 pruned %d deliveries", c.WebhookDeliveries)
	}
}
