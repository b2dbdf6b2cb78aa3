package db

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func mustWebhook(tb testing.TB, s *Store, events ...string) Webhook {
	tb.Helper()
	w, err := s.CreateWebhook(admin, NewWebhook{URL: "https://hooks.example.com/in", Events: events})
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// deliveryEvents lists a webhook's delivery events, oldest first.
func deliveryEvents(tb testing.TB, s *Store, id uint64) ([]string, []WebhookDelivery) {
	tb.Helper()
	list, err := s.WebhookDeliveries(id, 100)
	if err != nil {
		tb.Fatal(err)
	}
	slices.Reverse(list)
	var events []string
	for _, d := range list {
		events = append(events, d.Event)
	}
	return events, list
}

func TestWebhookSecretShownOnce(t *testing.T) {
	s, _ := mustOpen(t)
	w := mustWebhook(t, s, WebhookUserCreated)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(w.Secret, "whsec_"))
	if !strings.HasPrefix(w.Secret, "whsec_") || err != nil || len(raw) != 24 {
		t.Fatalf("secret %q (%v): want whsec_ and the base64 of 24 bytes", w.Secret, err)
	}
	list, err := s.Webhooks()
	if err != nil || len(list) != 1 || list[0].Secret != "" || list[0].URL != w.URL {
		t.Errorf("list %+v, %v: want the webhook without its secret", list, err)
	}
	events, _, _ := s.ListEvents(EventWebhookCreated, 0, 10)
	if len(events) != 1 || strings.Contains(fmt.Sprint(events[0].Data), w.Secret[6:]) {
		t.Errorf("audit %+v: want one event without the secret", events)
	}
	if err := s.DeleteWebhook(admin, w.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteWebhook(admin, w.ID), ENOTFOUND)
	if events, _, _ := s.ListEvents(EventWebhookDeleted, 0, 10); len(events) != 1 {
		t.Errorf("delete audit %+v", events)
	}
}

func TestCreateWebhookRefusesHostileInput(t *testing.T) {
	s, _ := mustOpen(t)
	long := "https://a.example/" + strings.Repeat("a", MaxWebhookURLLength)
	for _, tc := range []struct {
		in    NewWebhook
		field string
	}{
		{NewWebhook{URL: "", Events: []string{WebhookUserCreated}}, "url"},
		{NewWebhook{URL: "ftp://example.com/x", Events: []string{WebhookUserCreated}}, "url"},
		{NewWebhook{URL: "javascript:alert(1)", Events: []string{WebhookUserCreated}}, "url"},
		{NewWebhook{URL: "https://user:pw@example.com/", Events: []string{WebhookUserCreated}}, "url"},
		{NewWebhook{URL: "https:///nohost", Events: []string{WebhookUserCreated}}, "url"},
		{NewWebhook{URL: "https://exa mple.com/", Events: []string{WebhookUserCreated}}, "url"},
		{NewWebhook{URL: "https://example.com/\r\nX: y", Events: []string{WebhookUserCreated}}, "url"},
		{NewWebhook{URL: long, Events: []string{WebhookUserCreated}}, "url"},
		{NewWebhook{URL: "https://example.com/", Events: nil}, "events"},
		{NewWebhook{URL: "https://example.com/", Events: []string{"user.exploded"}}, "events"},
		{NewWebhook{URL: "https://example.com/", Events: []string{WebhookUserCreated}, Description: strings.Repeat("d", MaxNameLength+1)}, "description"},
		{NewWebhook{URL: "https://example.com/", Events: []string{WebhookUserCreated}, Description: "a\x00b"}, "description"},
	} {
		_, err := s.CreateWebhook(admin, tc.in)
		e, ok := err.(*Error)
		if !ok || e.Code != EINVALID || len(e.Details) == 0 || e.Details[0].Path != tc.field {
			t.Errorf("%+v: %v; want EINVALID naming %s", tc.in, err, tc.field)
		}
	}
	if list, _ := s.Webhooks(); len(list) != 0 {
		t.Errorf("refused webhooks were stored: %+v", list)
	}
	// Duplicated events are kept once.
	w, err := s.CreateWebhook(admin, NewWebhook{URL: "http://example.com:8080/h?x=1", Events: []string{WebhookUserCreated, WebhookUserCreated}})
	if err != nil || !slices.Equal(w.Events, []string{WebhookUserCreated}) {
		t.Errorf("%+v, %v", w, err)
	}
}

// Every mapped change queues one delivery per subscribed webhook, with the
// object as the change left it.
func TestWebhookEveryEventIsQueued(t *testing.T) {
	s, clock := mustOpen(t)
	all := mustWebhook(t, s, WebhookEvents...)
	onlyDeleted := mustWebhook(t, s, WebhookUserDeleted)

	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleAdmin)
	bob := mustMember(t, s, clock, "bob@example.com", "bob", RoleEditor)
	name := "Robert"
	if _, err := s.UpdateUser(admin, bob.ID, UserUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DisableUser(admin, bob.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(admin, bob.ID); err != nil {
		t.Fatal(err)
	}
	inv, err := s.CreateInvitation(admin, NewInvitation{Email: "grace@example.com", DefaultTTL: time.Hour, Role: RoleViewer, DisableEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	grace, err := s.AcceptInvitation(inv.Token, newUser("grace@example.com", "grace"))
	if err != nil {
		t.Fatal(err)
	}
	inv2, err := s.CreateInvitation(admin, NewInvitation{Email: "hal@example.com", DefaultTTL: time.Hour, Role: RoleViewer, DisableEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeInvitation(admin, inv2.ID); err != nil {
		t.Fatal(err)
	}

	// Enabling, approving and verifying change the user's shape; a
	// rejection deletes the waiting user.
	cy := mustMember(t, s, clock, "cy@example.com", "cy", RoleViewer)
	if _, err := s.DisableUser(admin, cy.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnableUser(admin, cy.ID); err != nil {
		t.Fatal(err)
	}
	waiting := func(email, username string) User {
		t.Helper()
		link := mustLink(t, s, clock, NewSignupToken{Name: "needs approval " + email, Role: RoleViewer, RequireApproval: true})
		u, err := s.RedeemSignupToken(link.Secret, newUser(email, username))
		if err != nil || !u.PendingApproval {
			t.Fatalf("waiting user: %+v, %v", u, err)
		}
		return u
	}
	dee, eve := waiting("dee@example.com", "dee"), waiting("eve@example.com", "eve")
	if _, err := s.ApproveUser(admin, dee.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RejectUser(admin, eve.ID); err != nil {
		t.Fatal(err)
	}
	s.verifyEmail = VerifyEmailAlways
	fay := mustMember(t, s, clock, "fay@example.com", "fay", RoleViewer)
	if _, err := s.MarkEmailVerified(admin, fay.ID); err != nil {
		t.Fatal(err)
	}

	got, list := deliveryEvents(t, s, all.ID)
	want := []string{
		WebhookUserCreated, WebhookUserCreated, WebhookUserUpdated, WebhookUserDisabled, WebhookUserDeleted,
		WebhookInvitationCreated, WebhookUserCreated, WebhookInvitationAccepted,
		WebhookInvitationCreated, WebhookInvitationRevoked,
		WebhookUserCreated, WebhookUserDisabled, WebhookUserUpdated, // cy: made, disabled, enabled
		WebhookUserCreated, WebhookUserCreated, WebhookUserUpdated, WebhookUserDeleted, // dee and eve wait; dee approved, eve rejected
		WebhookUserCreated, WebhookUserUpdated, // fay: made unverified, verified
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	check := func(i int, userID uint64, fn func(WebhookDelivery) bool) {
		t.Helper()
		d := list[i]
		if d.State != WebhookPending || !strings.HasPrefix(d.MessageID, "msg_") || d.Timestamp.IsZero() {
			t.Errorf("delivery %d: %+v", i, d)
		}
		if userID != 0 && (d.User == nil || d.User.ID != userID) {
			t.Errorf("delivery %d (%s): user %+v, want id %d", i, d.Event, d.User, userID)
		}
		if !fn(d) {
			t.Errorf("delivery %d (%s): %+v %+v", i, d.Event, d.User, d.Invitation)
		}
	}
	check(0, ada.ID, func(d WebhookDelivery) bool { return d.User.Email == "ada@example.com" && d.User.RootRole == RoleAdmin })
	check(2, bob.ID, func(d WebhookDelivery) bool { return d.User.Name == "Robert" })
	check(3, bob.ID, func(d WebhookDelivery) bool { return d.User.Disabled })
	check(4, bob.ID, func(d WebhookDelivery) bool { return d.User.Email == "bob@example.com" && d.User.Username == "bob" })
	check(5, 0, func(d WebhookDelivery) bool {
		return d.Invitation != nil && d.Invitation.ID == inv.ID && d.Invitation.State == InvitationPending && d.Invitation.Token == ""
	})
	check(6, grace.ID, func(d WebhookDelivery) bool { return d.User.Email == "grace@example.com" })
	check(7, 0, func(d WebhookDelivery) bool {
		return d.Invitation.ID == inv.ID && d.Invitation.State == InvitationAccepted && d.Invitation.UserID == grace.ID
	})
	check(9, 0, func(d WebhookDelivery) bool {
		return d.Invitation.ID == inv2.ID && d.Invitation.State == InvitationRevoked
	})

	check(12, cy.ID, func(d WebhookDelivery) bool { return !d.User.Disabled })
	check(15, dee.ID, func(d WebhookDelivery) bool { return !d.User.PendingApproval })
	check(16, eve.ID, func(d WebhookDelivery) bool { return d.User.Email == "eve@example.com" })
	check(18, fay.ID, func(d WebhookDelivery) bool { return d.User.EmailVerified })

	if got, _ := deliveryEvents(t, s, onlyDeleted.ID); !slices.Equal(got, []string{WebhookUserDeleted, WebhookUserDeleted}) {
		t.Errorf("the user.deleted webhook got %v", got)
	}
	// Message ids are distinct across webhooks and deliveries.
	seen := map[string]bool{}
	for _, d := range list {
		if seen[d.MessageID] {
			t.Errorf("message id %s twice", d.MessageID)
		}
		seen[d.MessageID] = true
	}
	// No password hash or token hash in a stored delivery.
	s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketWebhookDeliveries).ForEach(func(_, v []byte) error {
			if strings.Contains(string(v), "password") || strings.Contains(string(v), "token_hash") || strings.Contains(string(v), "argon2") {
				t.Errorf("a delivery holds a secret: %s", v)
			}
			return nil
		})
	})
}

// A change that fails queues nothing: the delivery is part of its
// transaction.
func TestWebhookFailedChangeQueuesNothing(t *testing.T) {
	s, clock := mustOpen(t)
	w := mustWebhook(t, s, WebhookEvents...)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleAdmin)
	bob := mustMember(t, s, clock, "bob@example.com", "bob", RoleEditor)
	before, _ := deliveryEvents(t, s, w.ID)

	taken := "ada@example.com"
	_, err := s.UpdateUser(admin, bob.ID, UserUpdate{Email: &taken})
	wantCode(t, err, ECONFLICT)
	wantCode(t, s.DeleteUser(admin, ada.ID), EINVALID) // the last admin
	_, err = s.DisableUser(admin, ada.ID)
	wantCode(t, err, EINVALID)
	_, err = s.RedeemSignupToken("no-such-link", newUser("cy@example.com", "cy"))
	wantCode(t, err, ENOTFOUND)
	same := "bob@example.com"
	if _, err := s.UpdateUser(admin, bob.ID, UserUpdate{Email: &same}); err != nil {
		t.Fatal(err) // changes nothing, records nothing
	}
	if after, _ := deliveryEvents(t, s, w.ID); !slices.Equal(after, before) {
		t.Errorf("failed changes queued deliveries: %v, before %v", after, before)
	}
	if due, _ := s.DueWebhookDeliveries(clock.now(), 100); len(due) != len(before) {
		t.Errorf("%d due, want %d", len(due), len(before))
	}
}

func TestWebhookAttemptsRetriesAndPrune(t *testing.T) {
	s, clock := mustOpen(t)
	w := mustWebhook(t, s, WebhookUserCreated)
	mustMember(t, s, clock, "ada@example.com", "ada", RoleAdmin)
	mustMember(t, s, clock, "bob@example.com", "bob", RoleAdmin)
	due, err := s.DueWebhookDeliveries(clock.now(), 10)
	if err != nil || len(due) != 2 || due[0].URL != w.URL || due[0].Secret != w.Secret {
		t.Fatalf("due %+v, %v: want both with the webhook's URL and secret", due, err)
	}
	first, second := due[0], due[1]

	// A refused attempt: retried at next.
	next := clock.now().Add(time.Minute)
	if err := s.RecordWebhookAttempt(first.ID, WebhookAttempt{At: clock.now(), Duration: time.Millisecond, Error: "connection refused"}, next, false); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueWebhookDeliveries(clock.now(), 10); len(due) != 1 || due[0].ID != second.ID {
		t.Errorf("due after a failure: %+v", due)
	}
	if at, ok, _ := s.NextWebhookDue(); !ok || !at.Equal(clock.now()) {
		t.Errorf("next due %v %v", at, ok)
	}
	// The second fails for good; the first is delivered on its retry.
	if err := s.RecordWebhookAttempt(second.ID, WebhookAttempt{At: clock.now(), StatusCode: 500}, next, true); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Minute)
	if due, _ := s.DueWebhookDeliveries(clock.now(), 10); len(due) != 1 || due[0].ID != first.ID || len(due[0].Attempts) != 1 {
		t.Fatalf("due after the backoff: %+v", due)
	}
	if err := s.RecordWebhookAttempt(first.ID, WebhookAttempt{At: clock.now(), StatusCode: 204}, next, false); err != nil {
		t.Fatal(err)
	}
	// A late record of a finished delivery changes nothing.
	if err := s.RecordWebhookAttempt(first.ID, WebhookAttempt{At: clock.now(), StatusCode: 500}, next, false); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.NextWebhookDue(); ok {
		t.Error("something is still due")
	}
	list, _ := s.WebhookDeliveries(w.ID, 10)
	if len(list) != 2 || list[0].ID != second.ID || list[0].State != WebhookFailed || list[1].State != WebhookDelivered ||
		len(list[1].Attempts) != 2 || list[1].Attempts[0].Error != "connection refused" || list[1].Attempts[1].StatusCode != 204 {
		t.Errorf("log %+v", list)
	}
	if _, err := s.WebhookDeliveries(w.ID+99, 10); ErrorCode(err) != ENOTFOUND {
		t.Errorf("unknown webhook: %v", err)
	}

	// Pruning drops finished deliveries older than the cut, not pending
	// ones.
	mustMember(t, s, clock, "cy@example.com", "cy", RoleViewer)
	clock.add(time.Hour)
	var n int
	if err := s.update(func(tx *bolt.Tx) error {
		var err error
		n, err = pruneWebhookDeliveriesTx(tx, clock.now().Add(-time.Minute), 1000)
		return err
	}); err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2", n, err)
	}
	if list, _ := s.WebhookDeliveries(w.ID, 10); len(list) != 1 || list[0].State != WebhookPending {
		t.Errorf("after pruning: %+v", list)
	}
	// Deleting the webhook drops its pending delivery too.
	if err := s.DeleteWebhook(admin, w.ID); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueWebhookDeliveries(clock.now(), 10); len(due) != 0 {
		t.Errorf("due after delete: %+v", due)
	}
	s.db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketWebhookDeliveries, bucketWebhookDue, bucketWebhookByHook} {
			if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
				t.Errorf("bucket %s not empty", b)
			}
		}
		return nil
	})
}
