package db

import (
	"errors"
	"testing"
	"time"
)

// TestRulesThatLiveOnlyHere: maxUses and ttl are validated by the store
// alone (the HTTP handlers pass them through), so the store must refuse
// the values a caller gives that a zero would otherwise hide: a limit of
// 0 uses, a ttl of 0, and a ttl of 0 given together with an expiry. Roles
// are refused in the one set of words the API uses too.
func TestRulesThatLiveOnlyHere(t *testing.T) {
	s, clock := mustOpen(t)
	future := clock.now().Add(time.Hour)
	wantField := func(what string, err error, path, msg string) {
		t.Helper()
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID || len(e.Details) != 1 || e.Details[0].Path != path || (msg != "" && e.Details[0].Message != msg) {
			t.Errorf("%s: got %v (%+v), want one %s error %q", what, err, e, path, msg)
		}
	}
	_, err := s.CreateSignupToken(admin, NewSignupToken{Name: "x", ExpiresAt: future, MaxUses: new(0)})
	wantField("a link for 0 uses", err, "maxUses", "must be a positive whole number, or left out for no limit")
	_, err = s.CreateSignupToken(admin, NewSignupToken{Name: "x", ExpiresAt: future, Role: 9})
	wantField("role 9", err, "role", RootRoleRule)

	inv := NewInvitation{Email: "a@example.com", Inviter: "Ops", DefaultTTL: time.Hour}
	for _, tc := range []struct {
		name string
		edit func(*NewInvitation)
		path string
		msg  string
	}{
		{"ttl 0", func(in *NewInvitation) { in.TTL = new(time.Duration(0)) }, "ttl", `must be a positive duration such as "604800s"`},
		{"ttl negative", func(in *NewInvitation) { in.TTL = new(-time.Second) }, "ttl", `must be a positive duration such as "604800s"`},
		{"ttl 0 and an expiry", func(in *NewInvitation) { in.TTL = new(time.Duration(0)); in.ExpiresAt = future }, "ttl", "give either ttl or expirationTime, not both"},
		{"role 4", func(in *NewInvitation) { in.Role = 4 }, "roleId", RootRoleRule},
	} {
		in := inv
		tc.edit(&in)
		_, err := s.CreateInvitation(admin, in)
		wantField(tc.name, err, tc.path, tc.msg)
	}
	if invs, _, err := s.ListInvitations(SystemActor, "", 0, 10); err != nil || len(invs) != 0 {
		t.Errorf("invitations after the refusals: %d, %v; want none", len(invs), err)
	}
	// No ttl: the default; a ttl: that ttl.
	got, err := s.CreateInvitation(admin, inv)
	if err != nil || got.TTL != time.Hour || !got.ExpiresAt.Equal(clock.now().Add(time.Hour)) {
		t.Errorf("default ttl: %+v, %v", got, err)
	}
	in := inv
	in.Email, in.TTL = "b@example.com", new(3*time.Hour)
	if got, err = s.CreateInvitation(admin, in); err != nil || got.TTL != 3*time.Hour {
		t.Errorf("ttl of 3h: %+v, %v", got, err)
	}
}
