package db

import (
	"errors"
	"testing"
	"time"
)

// TestTimesOutsideYears1To9999 goes round the HTTP layer (as the TUI and
// the admin socket do): times outside the years 1–9999 in UTC, given or
// computed from a ttl, are EINVALID naming the field, and change nothing.
func TestTimesOutsideYears1To9999(t *testing.T) {
	s, clock := mustOpen(t)
	link := mustLink(t, s, clock, NewSignupToken{})
	late := time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -(23*3600+59*60)))
	early := time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600))
	wantField := func(what string, err error, field string) {
		t.Helper()
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID || len(e.Details) == 0 || e.Details[0].Path != field {
			t.Errorf("%s: %v, want EINVALID naming %s", what, err, field)
		}
	}
	for _, at := range []time.Time{late, early} {
		_, err := s.CreateSignupToken(admin, NewSignupToken{Name: "n", ExpiresAt: at})
		wantField("link create at "+at.String(), err, "expiresAt")
		_, err = s.UpdateSignupToken(admin, link.Secret, SignupTokenUpdate{ExpiresAt: &at})
		wantField("link update to "+at.String(), err, "expiresAt")
		_, err = s.CreateInvitation(admin, NewInvitation{Email: "a@example.com", Inviter: "Ops", ExpiresAt: at})
		wantField("invitation expiring "+at.String(), err, "expirationTime")
	}
	// A ttl that would carry the expiry past the year 9999.
	clock.t = time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC)
	_, err := s.CreateInvitation(admin, NewInvitation{Email: "a@example.com", Inviter: "Ops", TTL: new(60 * 24 * time.Hour)})
	wantField("a ttl of 60 days on 1 December 9999", err, "ttl")
	_, err = s.CreateInvitation(admin, NewInvitation{Email: "a@example.com", Inviter: "Ops", DefaultTTL: 60 * 24 * time.Hour})
	wantField("a default ttl of 60 days on 1 December 9999", err, "ttl")

	if tokens, err := s.ListSignupTokens(SystemActor); err != nil || len(tokens) != 1 || !tokens[0].ExpiresAt.Equal(link.ExpiresAt) {
		t.Errorf("links after the refusals: %v, %v; want the first, unchanged", tokens, err)
	}
	if invs, _, err := s.ListInvitations(SystemActor, "", 0, 10); err != nil || len(invs) != 0 {
		t.Errorf("invitations after the refusals: %d, %v; want none", len(invs), err)
	}
	if _, err := s.CreateInvitation(admin, NewInvitation{Email: "a@example.com", Inviter: "Ops", TTL: new(7 * 24 * time.Hour)}); err != nil {
		t.Errorf("a ttl that ends within the year 9999: %v", err)
	}
}
