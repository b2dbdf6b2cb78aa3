package db

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// mustJoin invites email with role and groups and accepts it, returning
// the user as an actor.
func mustJoin(tb testing.TB, s *Store, email string, role Role, groups ...string) Actor {
	tb.Helper()
	inv := mustInvite(tb, s, NewInvitation{Email: email, Role: role, Groups: groups, DisableEmail: true})
	u, err := s.AcceptInvitation(inv.Token, NewUser{Name: "Member " + email, PasswordHash: "x"})
	if err != nil {
		tb.Fatal(err)
	}
	return Actor{Kind: "user", ID: u.ID, Name: u.Email, Role: u.RootRole, Groups: u.Groups}
}

// counts returns how many invitations and outbox emails the store holds.
func counts(tb testing.TB, s *Store) (invitations, emails int) {
	tb.Helper()
	byState, err := s.CountInvitations()
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range byState {
		invitations += n
	}
	_, emails, err = s.ListOutbox(0, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return invitations, emails
}

func TestInvitationBatchStatuses(t *testing.T) {
	s, _ := mustOpen(t)
	mustGroup(t, s, "ops")
	mustJoin(t, s, "member@example.com", RoleViewer)
	mustInvite(t, s, NewInvitation{Email: "pending@example.com"})
	inv0, mail0 := counts(t, s)

	results, err := s.CreateInvitationBatch(admin, NewInvitationBatch{
		DefaultTTL: time.Hour, Inviter: "Ada",
		Rows: []BatchRow{
			{Email: " New@Example.com ", Role: RoleEditor, Groups: []string{"ops"}},
			{Email: "member@example.com"},
			{Email: "PENDING@example.com"},
			{Email: "not an address"},
			{Email: "new@EXAMPLE.com"}, // the first row again
			{Email: "other@example.com", OrgID: "nowhere"},
			{Email: "third@example.com", Groups: []string{"no-such-group"}},
			{Email: "fourth@example.com", Role: Role(99)},
			{Email: ""},
			{Email: "last@example.com"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ email, status, says string }{
		{"New@example.com", BatchInvited, ""},
		{"member@example.com", BatchHasAccount, "has an account"},
		{"PENDING@example.com", BatchAlreadyInvited, "pending invitation"},
		{"not an address", BatchInvalid, "email"},
		{"new@example.com", BatchAlreadyInvited, "row 1"},
		{"other@example.com", BatchInvalid, "organization"},
		{"third@example.com", BatchInvalid, "not a group"},
		{"fourth@example.com", BatchInvalid, "roleId"},
		{"", BatchInvalid, "email"},
		{"last@example.com", BatchInvited, ""},
	}
	if len(results) != len(want) {
		t.Fatalf("%d results for %d rows", len(results), len(want))
	}
	for i, w := range want {
		r := results[i]
		if r.Status != w.status || r.Email != w.email {
			t.Errorf("row %d: %q %s (%v), want %q %s", i+1, r.Email, r.Status, r.Err, w.email, w.status)
			continue
		}
		if w.status == BatchInvited {
			if r.Invitation == nil || r.Invitation.Token == "" || r.Err != nil || r.Invitation.State != InvitationPending {
				t.Errorf("row %d: invited without its invitation and token: %+v", i+1, r)
			}
			continue
		}
		if r.Invitation != nil || r.Err == nil || !strings.Contains(r.Err.Message+fmt.Sprint(r.Err.Details), w.says) {
			t.Errorf("row %d: %+v, want an error that says %q", i+1, r.Err, w.says)
		}
		if strings.Contains(r.Err.Message, "invitedEmail") {
			t.Errorf("row %d: %q names a single invitation's field", i+1, r.Err.Message)
		}
	}
	first := results[0].Invitation
	if first.Role != RoleEditor || len(first.Groups) != 1 || first.Inviter != "Ada" || first.ExpiresAt.Sub(first.CreatedAt) != time.Hour {
		t.Fatalf("first invitation %+v: want Editor, ops, Ada, one hour", first)
	}
	// Only the two invited rows wrote anything: an invitation, an email
	// and an event each.
	inv1, mail1 := counts(t, s)
	if inv1-inv0 != 2 || mail1-mail0 != 2 {
		t.Fatalf("the batch wrote %d invitations and %d emails, want 2 and 2", inv1-inv0, mail1-mail0)
	}
	created := 0
	for _, e := range eventsOf(t, s) {
		if e == EventInviteCreated {
			created++
		}
	}
	if created != 4 { // the member's and the pending one, then the batch's two
		t.Fatalf("%d invitation-created events, want 4", created)
	}
	// A batch invitation is accepted like any other.
	if _, err := s.AcceptInvitation(results[9].Invitation.Token, NewUser{Name: "Last", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
}

func TestInvitationBatchLimits(t *testing.T) {
	s, _ := mustOpen(t)
	rows := make([]BatchRow, MaxBatchInvitations+1)
	for i := range rows {
		rows[i] = BatchRow{Email: fmt.Sprintf("person%d@example.com", i)}
	}
	for _, tc := range []struct {
		name string
		in   NewInvitationBatch
		path string
	}{
		{"501 rows", NewInvitationBatch{Rows: rows, DefaultTTL: time.Hour}, "invitations"},
		{"no rows", NewInvitationBatch{DefaultTTL: time.Hour}, "invitations"},
		{"bad ttl", NewInvitationBatch{Rows: rows[:3], TTL: new(time.Duration), DefaultTTL: time.Hour}, "ttl"},
		{"long inviter", NewInvitationBatch{Rows: rows[:3], Inviter: strings.Repeat("a", 10000), DefaultTTL: time.Hour}, "inviter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateInvitationBatch(admin, tc.in)
			wantField(t, err, tc.path)
			if n, m := counts(t, s); n != 0 || m != 0 {
				t.Fatalf("a refused batch wrote %d invitations and %d emails", n, m)
			}
		})
	}
	// 500 is allowed, in one transaction.
	results, err := s.CreateInvitationBatch(admin, NewInvitationBatch{Rows: rows[:MaxBatchInvitations], DefaultTTL: time.Hour, DisableEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Status != BatchInvited {
			t.Fatalf("row %d: %s %v", i+1, r.Status, r.Err)
		}
	}
	if n, m := counts(t, s); n != MaxBatchInvitations || m != 0 {
		t.Fatalf("500 rows without emails made %d invitations and %d emails", n, m)
	}
}

// TestInvitationBatchCeilings: an Editor's batch invites the rows it may
// and refuses, one by one, those above its role or outside its groups.
func TestInvitationBatchCeilings(t *testing.T) {
	s, _ := mustOpen(t)
	mustGroup(t, s, "ops")
	mustGroup(t, s, "finance")
	editor := mustJoin(t, s, "editor@example.com", RoleEditor, "ops")
	results, err := s.CreateInvitationBatch(editor, NewInvitationBatch{
		DefaultTTL: time.Hour, Inviter: "Ed",
		Rows: []BatchRow{
			{Email: "a@example.com", Role: RoleEditor, Groups: []string{"ops"}},
			{Email: "b@example.com", Role: RoleAdmin},
			{Email: "c@example.com", Groups: []string{"finance"}},
			{Email: "d@example.com"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{BatchInvited, BatchInvalid, BatchInvalid, BatchInvited}
	says := []string{"", "may not be above your own role", "not one of your groups", ""}
	for i, r := range results {
		if r.Status != want[i] {
			t.Fatalf("row %d: %s %v, want %s", i+1, r.Status, r.Err, want[i])
		}
		if says[i] != "" && !strings.Contains(r.Err.Message+fmt.Sprint(r.Err.Details), says[i]) {
			t.Fatalf("row %d: %v, want it to say %q", i+1, r.Err, says[i])
		}
	}
	// An address with a pending invitation the Editor may not see is
	// already invited, without naming that invitation.
	hidden := mustInvite(t, s, NewInvitation{Email: "boss@example.com", Role: RoleAdmin})
	results, err = s.CreateInvitationBatch(editor, NewInvitationBatch{DefaultTTL: time.Hour, Inviter: "Ed", Rows: []BatchRow{{Email: "boss@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Status != BatchAlreadyInvited || strings.Contains(r.Err.Message, InvitationName(hidden.ID)) {
		t.Fatalf("hidden pending invitation: %s %v", r.Status, r.Err)
	}
}

// TestInviterNotified: accepting an invitation a user made queues an
// email to that user in the accept's transaction; one made by an API key
// queues none, and neither does any with NotifyInviter off.
func TestInviterNotified(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("notify ", on), func(t *testing.T) {
			clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			s, err := Open(t.TempDir()+"/n.db", Options{Now: clock.now, NotifyInviter: on})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			inviter := mustJoin(t, s, "inviter@example.com", RoleEditor)
			byUser, err := s.CreateInvitation(inviter, NewInvitation{Email: "guest@example.com", DefaultTTL: time.Hour, DisableEmail: true})
			if err != nil {
				t.Fatal(err)
			}
			byKey := mustInvite(t, s, NewInvitation{Email: "other@example.com", DisableEmail: true})
			for _, tok := range []string{byUser.Token, byKey.Token} {
				if _, err := s.AcceptInvitation(tok, NewUser{Name: "Guest", PasswordHash: "x"}); err != nil {
					t.Fatal(err)
				}
			}
			emails, _, err := s.ListOutbox(0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var told []OutboxEmail
			for _, e := range emails {
				if e.Kind == EmailInviteAccepted {
					told = append(told, e)
				}
			}
			if !on {
				if len(told) != 0 {
					t.Fatalf("notify off, yet %d emails to inviters", len(told))
				}
				return
			}
			if len(told) != 1 || told[0].To != "inviter@example.com" || told[0].UserID != inviter.ID || told[0].InvitationID != byUser.ID {
				t.Fatalf("emails to inviters: %+v", told)
			}
		})
	}
}
