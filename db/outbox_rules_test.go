package db

import (
	"strings"
	"testing"
	"time"
)

// mustEnqueue queues a rendered email to to, failing the test on error,
// and returns its id.
func mustEnqueue(tb testing.TB, s *Store, kind, to string) uint64 {
	tb.Helper()
	if err := s.EnqueueEmail(kind, Email{To: to, Subject: "hi " + to, Text: "text", HTML: "<p>html</p>"}); err != nil {
		tb.Fatal(err)
	}
	list, _, err := s.ListOutbox(0, 1)
	if err != nil || len(list) != 1 || list[0].To != to {
		tb.Fatalf("the newest email is %+v, %v; want the one to %s", list, err, to)
	}
	return list[0].ID
}

// dueTo lists the recipients of the emails due at now, in the order the
// worker takes them.
func dueTo(tb testing.TB, s *Store, now time.Time, limit int) []string {
	tb.Helper()
	due, err := s.DueEmails(now, limit)
	if err != nil {
		tb.Fatal(err)
	}
	var to []string
	for _, e := range due {
		to = append(to, e.To)
	}
	return to
}

// outboxEmail returns one email of the outbox by id.
func outboxEmail(tb testing.TB, s *Store, id uint64) OutboxEmail {
	tb.Helper()
	list, _, err := s.ListOutbox(0, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range list {
		if e.ID == id {
			return e
		}
	}
	tb.Fatalf("no email %d in the outbox", id)
	return OutboxEmail{}
}

// TestOutboxDueOrder: emails are due when queued, taken oldest first, at
// most limit at a time; the earliest pending one says when to wake up.
func TestOutboxDueOrder(t *testing.T) {
	s, clock := mustOpen(t)
	if _, ok, err := s.NextEmailDue(); err != nil || ok {
		t.Fatalf("empty outbox: next due %v, %v", ok, err)
	}
	first := clock.now()
	mustEnqueue(t, s, EmailWelcome, "a@example.com")
	clock.add(time.Second)
	mustEnqueue(t, s, EmailWelcome, "b@example.com")
	clock.add(time.Second)
	mustEnqueue(t, s, EmailInvitation, "c@example.com")

	if got := dueTo(t, s, first.Add(-time.Nanosecond), 10); len(got) != 0 {
		t.Errorf("due before anything was queued: %v", got)
	}
	if got := dueTo(t, s, first, 10); strings.Join(got, " ") != "a@example.com" {
		t.Errorf("due at the first: %v", got)
	}
	if got := dueTo(t, s, clock.now(), 10); strings.Join(got, " ") != "a@example.com b@example.com c@example.com" {
		t.Errorf("due now: %v, want oldest first", got)
	}
	if got := dueTo(t, s, clock.now(), 2); strings.Join(got, " ") != "a@example.com b@example.com" {
		t.Errorf("due now, two at most: %v", got)
	}
	if next, ok, err := s.NextEmailDue(); err != nil || !ok || !next.Equal(first) {
		t.Errorf("next due %v %v, %v; want %v", next, ok, err, first)
	}
	e := outboxEmail(t, s, 1)
	if e.State != EmailPending || e.Attempts != 0 || !e.CreatedAt.Equal(first) || !e.NextAttemptAt.Equal(first) ||
		e.Kind != EmailWelcome || !e.Rendered() || e.Subject != "hi a@example.com" {
		t.Errorf("queued %+v", e)
	}
	// ListOutbox is newest first, with offset, limit and the total.
	list, total, err := s.ListOutbox(1, 1)
	if err != nil || total != 3 || len(list) != 1 || list[0].To != "b@example.com" {
		t.Errorf("page 2 of 1: %+v, total %d, %v", list, total, err)
	}
	stats, err := s.OutboxStats()
	if err != nil || stats[EmailPending] != 3 || stats[EmailSent] != 0 || stats[EmailFailed] != 0 || stats[EmailCancelled] != 0 {
		t.Errorf("stats %v, %v", stats, err)
	}
}

// TestOutboxBackoffAndGivingUp: a failed attempt moves an email to the
// time the worker asks for; the last allowed attempt makes it failed, and
// a failed email is never due again, however late it gets.
func TestOutboxBackoffAndGivingUp(t *testing.T) {
	s, clock := mustOpen(t)
	a := mustEnqueue(t, s, EmailWelcome, "a@example.com")
	b := mustEnqueue(t, s, EmailWelcome, "b@example.com")
	now := clock.now()

	// a fails and is retried in ten minutes: b goes first meanwhile.
	if err := s.MarkEmailAttemptFailed(a, "421 try later", now.Add(10*time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if got := dueTo(t, s, now, 10); strings.Join(got, " ") != "b@example.com" {
		t.Errorf("due after a failed: %v", got)
	}
	if got := dueTo(t, s, now.Add(10*time.Minute), 10); strings.Join(got, " ") != "b@example.com a@example.com" {
		t.Errorf("due ten minutes on: %v, want b (due first) then a", got)
	}
	e := outboxEmail(t, s, a)
	if e.State != EmailPending || e.Attempts != 1 || e.LastError != "421 try later" || !e.NextAttemptAt.Equal(now.Add(10*time.Minute)) || !e.Rendered() {
		t.Errorf("after one failure: %+v", e)
	}
	// b is sent: not due any more; the next due is a's retry.
	clock.add(time.Minute)
	if err := s.MarkEmailSent(b, ""); err != nil {
		t.Fatal(err)
	}
	if sent := outboxEmail(t, s, b); sent.State != EmailSent || sent.SentAt == nil || !sent.SentAt.Equal(clock.now()) ||
		sent.Attempts != 1 || sent.Subject != "hi b@example.com" || sent.Rendered() {
		t.Errorf("sent %+v", sent)
	}
	if next, ok, err := s.NextEmailDue(); err != nil || !ok || !next.Equal(now.Add(10*time.Minute)) {
		t.Errorf("next due %v %v, %v; want a's retry", next, ok, err)
	}

	// The last attempt: failed for good, bodies dropped, a long reason cut.
	long := strings.Repeat("é", 600)
	if err := s.MarkEmailAttemptFailed(a, long, now.Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	e = outboxEmail(t, s, a)
	if e.State != EmailFailed || e.Attempts != 2 || e.Rendered() || len([]rune(e.LastError)) != 500 {
		t.Errorf("after giving up: state %s, attempts %d, rendered %v, reason of %d characters", e.State, e.Attempts, e.Rendered(), len([]rune(e.LastError)))
	}
	if got := dueTo(t, s, now.AddDate(100, 0, 0), 10); len(got) != 0 {
		t.Errorf("due a century on: %v, want nothing", got)
	}
	if _, ok, err := s.NextEmailDue(); err != nil || ok {
		t.Errorf("something is still due: %v, %v", ok, err)
	}
	stats, err := s.OutboxStats()
	if err != nil || stats[EmailSent] != 1 || stats[EmailFailed] != 1 || stats[EmailPending] != 0 {
		t.Errorf("stats %v, %v", stats, err)
	}

	// Its bodies went when it failed, so an admin's retry has nothing
	// left to send.
	wantCode(t, s.RetryEmail(a), EINVALID)
	if e := outboxEmail(t, s, a); e.State != EmailFailed {
		t.Errorf("a refused retry changed the email: %+v", e)
	}
	// One that still has its bodies is retried at once, with a full set
	// of attempts.
	c := mustEnqueue(t, s, EmailWelcome, "c@example.com")
	if err := s.MarkEmailAttemptFailed(c, "421", clock.now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Minute)
	if err := s.RetryEmail(c); err != nil {
		t.Fatal(err)
	}
	if e := outboxEmail(t, s, c); e.State != EmailPending || e.Attempts != 0 || !e.NextAttemptAt.Equal(clock.now()) {
		t.Errorf("retried %+v", e)
	}
	if got := dueTo(t, s, clock.now(), 10); strings.Join(got, " ") != "c@example.com" {
		t.Errorf("due after the retry: %v", got)
	}

	for name, err := range map[string]error{
		"sent":   s.MarkEmailSent(99, ""),
		"failed": s.MarkEmailAttemptFailed(99, "x", now, false),
		"cancel": s.CancelEmail(99, "x"),
		"retry":  s.RetryEmail(99),
	} {
		if ErrorCode(err) != ENOTFOUND {
			t.Errorf("%s of an unknown email: %v, want ENOTFOUND", name, err)
		}
	}
}

// TestOutboxRetryNeedsSomethingToSend: an invitation email that failed
// lost its token, so it cannot be retried (the invitation's resend makes a
// new one); a welcome email is rendered from its user and can.
func TestOutboxRetryNeedsSomethingToSend(t *testing.T) {
	s, clock := mustOpen(t)
	inv := mustInvite(t, s, NewInvitation{Email: "grace@example.com", TTL: new(time.Hour)})
	e := dueOnly(t, s, clock.now())
	if err := s.MarkEmailAttemptFailed(e.ID, "550 no", clock.now(), true); err != nil {
		t.Fatal(err)
	}
	if got := outboxEmail(t, s, e.ID); got.Token != "" || got.InvitationID != inv.ID {
		t.Errorf("failed invitation email %+v: want its token gone, its invitation kept", got)
	}
	err := s.RetryEmail(e.ID)
	wantCode(t, err, EINVALID)
	if got := outboxEmail(t, s, e.ID); got.State != EmailFailed {
		t.Errorf("a refused retry changed the email: %+v", got)
	}
}

// TestOutboxCancel: a cancelled email keeps why, drops its token, and is
// never due.
func TestOutboxCancel(t *testing.T) {
	s, clock := mustOpen(t)
	mustInvite(t, s, NewInvitation{Email: "grace@example.com", TTL: new(time.Hour)})
	e := dueOnly(t, s, clock.now())
	if err := s.CancelEmail(e.ID, "the invitation was revoked"); err != nil {
		t.Fatal(err)
	}
	got := outboxEmail(t, s, e.ID)
	if got.State != EmailCancelled || got.LastError != "the invitation was revoked" || got.Token != "" || got.Attempts != 0 {
		t.Errorf("cancelled %+v", got)
	}
	if due := dueTo(t, s, clock.now().AddDate(1, 0, 0), 10); len(due) != 0 {
		t.Errorf("due after cancel: %v", due)
	}
	if stats, err := s.OutboxStats(); err != nil || stats[EmailCancelled] != 1 || stats[EmailPending] != 0 {
		t.Errorf("stats %v, %v", stats, err)
	}
}

// TestMarkEmailsSent: several deliveries are recorded in one write, each
// as MarkEmailSent records one (state, time, subject, bodies dropped);
// an email gone from the outbox is skipped without failing the others;
// nothing at all is one no-op.
func TestMarkEmailsSent(t *testing.T) {
	s, clock := mustOpen(t)
	a := mustEnqueue(t, s, EmailWelcome, "a@example.com")
	b := mustEnqueue(t, s, EmailWelcome, "b@example.com")
	c := mustEnqueue(t, s, EmailWelcome, "c@example.com")
	at := clock.now().Add(-time.Second)
	writes := s.Writes()
	if err := s.MarkEmailsSent(nil); err != nil || s.Writes() != writes {
		t.Fatalf("nothing to record: %v, %d writes", err, s.Writes()-writes)
	}
	err := s.MarkEmailsSent([]SentEmail{
		{ID: a, Subject: "Welcome, a", At: at},
		{ID: 9999, Subject: "gone", At: at},
		{ID: c, At: at.Add(time.Millisecond)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Writes() - writes; n != 1 {
		t.Errorf("three deliveries took %d writes, want 1", n)
	}
	for _, want := range []struct {
		id      uint64
		subject string
		at      time.Time
	}{{a, "Welcome, a", at}, {c, "hi c@example.com", at.Add(time.Millisecond)}} {
		e := outboxEmail(t, s, want.id)
		if e.State != EmailSent || e.SentAt == nil || !e.SentAt.Equal(want.at) || e.Attempts != 1 || e.Subject != want.subject || e.Rendered() {
			t.Errorf("email %d after MarkEmailsSent: %+v", want.id, e)
		}
	}
	if e := outboxEmail(t, s, b); e.State != EmailPending || !e.Rendered() {
		t.Errorf("an email not in the list changed: %+v", e)
	}
	if got := dueTo(t, s, clock.now(), 10); strings.Join(got, " ") != "b@example.com" {
		t.Errorf("due after recording a and c: %v, want only b", got)
	}
}
