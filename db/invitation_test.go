package db

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// mustInvite creates an invitation as admin, failing the test on error.
func mustInvite(tb testing.TB, s *Store, in NewInvitation) Invitation {
	tb.Helper()
	if in.DefaultTTL == 0 {
		in.DefaultTTL = 7 * 24 * time.Hour
	}
	inv, err := s.CreateInvitation(admin, in)
	if err != nil {
		tb.Fatal(err)
	}
	return inv
}

// wantState reads an invitation back and checks its state.
func wantState(tb testing.TB, s *Store, id uint64, state string) Invitation {
	tb.Helper()
	inv, err := s.GetInvitation(admin, id)
	if err != nil {
		tb.Fatal(err)
	}
	if inv.State != state {
		tb.Fatalf("invitation %d is %s, want %s", id, inv.State, state)
	}
	return inv
}

// eventsOf returns the types of the audit events, oldest first.
func eventsOf(tb testing.TB, s *Store) []string {
	tb.Helper()
	events, _, err := s.ListEvents("", 0, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var types []string
	for i := len(events) - 1; i >= 0; i-- {
		types = append(types, events[i].Type)
	}
	return types
}

func TestCreateInvitation(t *testing.T) {
	s, clock := mustOpen(t)
	start := clock.now()
	inv, err := s.CreateInvitation(admin, NewInvitation{
		Email: " Grace@Example.COM ", DefaultTTL: time.Hour, Inviter: " Ada Lovelace ",
		Labels: []Label{{Key: " team ", Value: "ops"}}})
	if err != nil {
		t.Fatal(err)
	}
	// The domain is lower-cased; the local part is the mailbox's own.
	if inv.ID == 0 || inv.Email != "Grace@example.com" || inv.Inviter != "Ada Lovelace" || inv.State != InvitationPending ||
		inv.Role != RoleViewer || inv.OrgID != DefaultOrganization || inv.TTL != time.Hour ||
		!inv.ExpiresAt.Equal(start.Add(time.Hour)) || !inv.CreatedAt.Equal(start) || !inv.UpdatedAt.Equal(start) ||
		inv.Creator != admin.String() || inv.Updater != admin.String() || len(inv.Labels) != 1 || inv.Labels[0] != (Label{"team", "ops"}) {
		t.Errorf("created %+v", inv)
	}
	if len(inv.Token) != 2*InvitationTokenBytes || strings.Trim(inv.Token, "0123456789abcdef") != "" {
		t.Errorf("token %q, want %d hex characters", inv.Token, 2*InvitationTokenBytes)
	}

	// Read back, it has no token; the token finds it.
	got := wantState(t, s, inv.ID, InvitationPending)
	if got.Email != "Grace@example.com" {
		t.Errorf("stored email %q", got.Email)
	}
	if got.Token != "" || got.Email != inv.Email || !got.ExpiresAt.Equal(inv.ExpiresAt) {
		t.Errorf("read back %+v", got)
	}
	if found, err := s.FindInvitationByToken(inv.Token); err != nil || found.ID != inv.ID {
		t.Errorf("by token: %+v, %v", found, err)
	}
	_, err = s.FindInvitationByToken(strings.Repeat("ab", InvitationTokenBytes))
	wantCode(t, err, ENOTFOUND)
	_, err = s.FindInvitationByToken("not-hex")
	wantCode(t, err, ENOTFOUND)
	_, err = s.GetInvitation(admin, 999)
	wantCode(t, err, ENOTFOUND)

	// A ttl of its own, or an instant; the instant gives the ttl.
	two := mustInvite(t, s, NewInvitation{Email: "two@example.com", TTL: new(2 * time.Hour), Role: RoleEditor})
	if two.TTL != 2*time.Hour || !two.ExpiresAt.Equal(start.Add(2*time.Hour)) || two.Role != RoleEditor {
		t.Errorf("ttl 2h: %+v", two)
	}
	at := start.Add(36 * time.Hour)
	three := mustInvite(t, s, NewInvitation{Email: "three@example.com", ExpiresAt: at})
	if !three.ExpiresAt.Equal(at) || three.TTL != 36*time.Hour {
		t.Errorf("expiresAt: %+v", three)
	}
	// Another organization, once it exists.
	if _, err := s.CreateOrganization(admin, "", "Night Desk"); err != nil {
		t.Fatal(err)
	}
	if four := mustInvite(t, s, NewInvitation{Email: "four@example.com", OrgID: "night-desk"}); four.OrgID != "night-desk" {
		t.Errorf("organization %q", four.OrgID)
	}

	// The same address, in any spelling, is a conflict while pending.
	_, err = s.CreateInvitation(admin, NewInvitation{Email: "GRACE@example.com", DefaultTTL: time.Hour})
	wantCode(t, err, ECONFLICT)

	if got := eventsOf(t, s); strings.Count(strings.Join(got, ","), EventInviteCreated) != 4 {
		t.Errorf("events %v, want 4 %s", got, EventInviteCreated)
	}
	counts, err := s.CountInvitations()
	if err != nil || counts[InvitationPending] != 4 || counts[InvitationExpired] != 0 {
		t.Errorf("counts %v, %v", counts, err)
	}
}

// TestInvitationValidation covers the rules of both invitation shapes:
// Confidence's (ttl or expirationTime, labels, inviter) and DoiT's
// (email, roleId, organizationId). Each refusal names its field and
// creates nothing.
func TestInvitationValidation(t *testing.T) {
	s, clock := mustOpen(t)
	now := clock.now()
	labels := func(n int) []Label {
		var l []Label
		for i := range n {
			l = append(l, Label{Key: "k" + strconv.Itoa(i), Value: "v"})
		}
		return l
	}
	for _, tc := range []struct {
		name  string
		in    NewInvitation
		field string
	}{
		{"no email", NewInvitation{DefaultTTL: time.Hour}, "invitedEmail"},
		{"not an email", NewInvitation{Email: "grace", DefaultTTL: time.Hour}, "invitedEmail"},
		{"ttl and expiry", NewInvitation{Email: "a@example.com", TTL: new(time.Hour), ExpiresAt: now.Add(time.Hour)}, "ttl"},
		{"negative ttl", NewInvitation{Email: "a@example.com", TTL: new(-time.Second), DefaultTTL: time.Hour}, "ttl"},
		{"no ttl and no default", NewInvitation{Email: "a@example.com"}, "ttl"},
		{"ttl over a year", NewInvitation{Email: "a@example.com", TTL: new(MaxInvitationTTL + time.Second)}, "ttl"},
		{"expiry now", NewInvitation{Email: "a@example.com", ExpiresAt: now}, "expirationTime"},
		{"expiry past", NewInvitation{Email: "a@example.com", ExpiresAt: now.Add(-time.Hour)}, "expirationTime"},
		{"expiry over a year", NewInvitation{Email: "a@example.com", ExpiresAt: now.Add(MaxInvitationTTL + time.Hour)}, "expirationTime"},
		{"expiry after 9999", NewInvitation{Email: "a@example.com", ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "expirationTime"},
		{"role 9", NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, Role: 9}, "roleId"},
		{"unknown organization", NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, OrgID: "nowhere"}, "organizationId"},
		{"inviter with a control character", NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, Inviter: "Ada\nBcc: x"}, "inviter"},
		{"too many labels", NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, Labels: labels(MaxLabels + 1)}, "labels"},
		{"empty label key", NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, Labels: []Label{{Key: " ", Value: "v"}}}, "labels[0].key"},
		{"label key twice", NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, Labels: []Label{{Key: "a"}, {Key: "a"}}}, "labels[1].key"},
		{"long label value", NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, Labels: []Label{{Key: "a", Value: strings.Repeat("v", MaxLabelValue+1)}}}, "labels[0].value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateInvitation(admin, tc.in)
			wantFieldError(t, err, tc.field)
		})
	}
	// A role above the actor's own is refused too.
	editor := Actor{Kind: "apikey", Name: "ed", Role: RoleEditor}
	_, err := s.CreateInvitation(editor, NewInvitation{Email: "a@example.com", DefaultTTL: time.Hour, Role: RoleAdmin})
	wantFieldError(t, err, "roleId")
	if list, _, err := s.ListInvitations(admin, "", 0, 10); err != nil || len(list) != 0 {
		t.Errorf("refused invitations were stored: %+v, %v", list, err)
	}
}

func TestListInvitationsPagesAndFilters(t *testing.T) {
	s, clock := mustOpen(t)
	var ids []uint64
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"} {
		ids = append(ids, mustInvite(t, s, NewInvitation{Email: email, DefaultTTL: time.Hour}).ID)
	}
	// A longer one, so that the others can expire without it.
	long := mustInvite(t, s, NewInvitation{Email: "f@example.com", TTL: new(3 * time.Hour)})
	if _, err := s.RevokeInvitation(admin, ids[1]); err != nil {
		t.Fatal(err)
	}

	var got []uint64
	pages := 0
	for after := uint64(0); ; {
		list, next, err := s.ListInvitations(admin, "", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(list) > 2 {
			t.Fatalf("page of %d, want at most 2", len(list))
		}
		for _, inv := range list {
			if inv.Token != "" {
				t.Errorf("a listed invitation holds its token: %+v", inv)
			}
			got = append(got, inv.ID)
		}
		if next == 0 {
			break
		}
		if next != list[len(list)-1].ID {
			t.Fatalf("next %d, want the last id of the page %d", next, list[len(list)-1].ID)
		}
		after = next
	}
	if want := append(append([]uint64{}, ids...), long.ID); pages != 3 || !equalIDs(got, want) {
		t.Errorf("%d pages listing %v, want 3 pages listing %v", pages, got, want)
	}

	byState := func(state string) []uint64 {
		t.Helper()
		list, next, err := s.ListInvitations(admin, state, 0, 100)
		if err != nil || next != 0 {
			t.Fatalf("list %s: next %d, %v", state, next, err)
		}
		var out []uint64
		for _, inv := range list {
			if inv.State != state {
				t.Errorf("state=%s lists a %s invitation", state, inv.State)
			}
			out = append(out, inv.ID)
		}
		return out
	}
	if got := byState(InvitationRevoked); !equalIDs(got, []uint64{ids[1]}) {
		t.Errorf("REVOKED %v", got)
	}
	if got := byState(InvitationPending); !equalIDs(got, []uint64{ids[0], ids[2], ids[3], ids[4], long.ID}) {
		t.Errorf("PENDING %v", got)
	}
	// An hour on, the short ones read EXPIRED, in the list and the counts.
	clock.add(time.Hour)
	if got := byState(InvitationPending); !equalIDs(got, []uint64{long.ID}) {
		t.Errorf("PENDING after an hour %v", got)
	}
	if got := byState(InvitationExpired); !equalIDs(got, []uint64{ids[0], ids[2], ids[3], ids[4]}) {
		t.Errorf("EXPIRED after an hour %v", got)
	}
	counts, err := s.CountInvitations()
	if err != nil || counts[InvitationPending] != 1 || counts[InvitationExpired] != 4 || counts[InvitationRevoked] != 1 || counts[InvitationAccepted] != 0 {
		t.Errorf("counts %v, %v", counts, err)
	}
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestInvitationExpiry: an invitation is PENDING until the instant of its
// expiry and EXPIRED from then on; its token then says so, and its address
// may be invited again.
func TestInvitationExpiry(t *testing.T) {
	s, clock := mustOpen(t)
	inv := mustInvite(t, s, NewInvitation{Email: "late@example.com", TTL: new(time.Hour)})
	clock.add(time.Hour - time.Nanosecond)
	wantState(t, s, inv.ID, InvitationPending)
	if _, err := s.FindInvitationByToken(inv.Token); err != nil {
		t.Fatalf("a nanosecond before expiry: %v", err)
	}
	clock.add(time.Nanosecond)
	wantState(t, s, inv.ID, InvitationExpired)
	_, err := s.FindInvitationByToken(inv.Token)
	wantCode(t, err, EGONE)
	if !strings.Contains(ErrorMessage(err), "expired") {
		t.Errorf("message %q does not say it expired", ErrorMessage(err))
	}

	again := mustInvite(t, s, NewInvitation{Email: "late@example.com", TTL: new(time.Hour)})
	if again.ID == inv.ID || again.State != InvitationPending {
		t.Fatalf("invited again: %+v", again)
	}
	wantState(t, s, inv.ID, InvitationExpired)
	// The new one is the address's pending invitation: a third is refused.
	_, err = s.CreateInvitation(admin, NewInvitation{Email: "late@example.com", DefaultTTL: time.Hour})
	wantCode(t, err, ECONFLICT)
}

func TestRevokeInvitation(t *testing.T) {
	s, clock := mustOpen(t)
	inv := mustInvite(t, s, NewInvitation{Email: "rev@example.com", TTL: new(time.Hour)})
	clock.add(time.Minute)
	revoked, err := s.RevokeInvitation(admin, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if revoked.State != InvitationRevoked || !revoked.UpdatedAt.Equal(clock.now()) || revoked.Updater != admin.String() {
		t.Errorf("revoked %+v", revoked)
	}
	wantState(t, s, inv.ID, InvitationRevoked)
	_, err = s.FindInvitationByToken(inv.Token)
	wantCode(t, err, EGONE)
	// Revoked stays revoked, even past its expiry.
	clock.add(2 * time.Hour)
	wantState(t, s, inv.ID, InvitationRevoked)

	// Again: nothing changes, no second event.
	before := eventsOf(t, s)
	if again, err := s.RevokeInvitation(admin, inv.ID); err != nil || again.State != InvitationRevoked || !again.UpdatedAt.Equal(revoked.UpdatedAt) {
		t.Errorf("revoke again: %+v, %v", again, err)
	}
	if after := eventsOf(t, s); len(after) != len(before) || after[len(after)-1] != EventInviteRevoked {
		t.Errorf("events %v, want one %s", after, EventInviteRevoked)
	}
	_, err = s.RevokeInvitation(admin, 999)
	wantCode(t, err, ENOTFOUND)
	_, err = s.ResendInvitation(admin, inv.ID)
	wantCode(t, err, EINVALID)

	// An expired invitation may be revoked too; the address is free again.
	old := mustInvite(t, s, NewInvitation{Email: "old@example.com", TTL: new(time.Minute)})
	clock.add(time.Hour)
	if r, err := s.RevokeInvitation(admin, old.ID); err != nil || r.State != InvitationRevoked {
		t.Errorf("revoke an expired invitation: %+v, %v", r, err)
	}
	mustInvite(t, s, NewInvitation{Email: "rev@example.com", TTL: new(time.Hour)})
}

func TestResendInvitation(t *testing.T) {
	s, clock := mustOpen(t)
	inv := mustInvite(t, s, NewInvitation{Email: "re@example.com", TTL: new(time.Hour), Inviter: "Ada"})

	// Resent after it expired: a new token, a new expiry a ttl from now,
	// PENDING again, and the email queued with the new token.
	clock.add(90 * time.Minute)
	wantState(t, s, inv.ID, InvitationExpired)
	re, err := s.ResendInvitation(admin, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if re.Token == "" || re.Token == inv.Token || re.State != InvitationPending ||
		!re.ExpiresAt.Equal(clock.now().Add(time.Hour)) || !re.UpdatedAt.Equal(clock.now()) || !re.CreatedAt.Equal(inv.CreatedAt) {
		t.Errorf("resent %+v", re)
	}
	wantState(t, s, inv.ID, InvitationPending)
	_, err = s.FindInvitationByToken(inv.Token)
	wantCode(t, err, ENOTFOUND) // the old link reads as unknown
	if found, err := s.FindInvitationByToken(re.Token); err != nil || found.ID != inv.ID {
		t.Errorf("the new token: %+v, %v", found, err)
	}
	due, err := s.DueEmails(clock.now(), 10)
	if err != nil || len(due) != 2 || due[1].Token != re.Token || due[1].InvitationID != inv.ID {
		t.Errorf("due %+v, %v; want the first email and the resent one", due, err)
	}
	if got := eventsOf(t, s); got[len(got)-1] != EventInviteResent {
		t.Errorf("events %v", got)
	}
	_, err = s.ResendInvitation(admin, 999)
	wantCode(t, err, ENOTFOUND)

	// A newer pending invitation for the address: resend that one.
	clock.add(2 * time.Hour) // the resent one expired again
	newer := mustInvite(t, s, NewInvitation{Email: "re@example.com", TTL: new(time.Hour)})
	_, err = s.ResendInvitation(admin, inv.ID)
	wantCode(t, err, ECONFLICT)
	// An Editor cannot resend what they could not have made.
	high := mustInvite(t, s, NewInvitation{Email: "boss@example.com", TTL: new(time.Hour), Role: RoleAdmin})
	_, err = s.ResendInvitation(Actor{Kind: "apikey", Name: "ed", Role: RoleEditor}, high.ID)
	wantCode(t, err, ENOTFOUND)
	if _, err := s.ResendInvitation(admin, newer.ID); err != nil {
		t.Errorf("resend the newer one: %v", err)
	}
}
