package db

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// An update renames a link, changes its role, max uses and allowed
// domains, keeps each change on disk and records it in the audit log.
func TestUpdateSignupTokenFields(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{Name: "interns", MaxUses: new(5), AllowedDomains: []string{"example.com"}})

	name, role, maxUses := "  Spring interns ", RoleEditor, 1
	domains := []string{"Example.ORG", "example.org", "b\u00fccher.example"}
	up, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{Name: &name, Role: &role, MaxUses: &maxUses, AllowedDomains: &domains})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.FindSignupToken(admin, tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []SignupToken{up, got} {
		if v.Name != "Spring interns" || v.Role != RoleEditor || v.MaxUses != 1 ||
			strings.Join(v.AllowedDomains, ",") != "example.org,xn--bcher-kva.example" {
			t.Errorf("after update: name %q role %v maxUses %d domains %v", v.Name, v.Role, v.MaxUses, v.AllowedDomains)
		}
	}
	// The new role and limit apply to the next signup.
	u, err := s.RedeemSignupToken(tok.Secret, newUser("ada@example.org", ""))
	if err != nil || u.RootRole != RoleEditor {
		t.Fatalf("signup after update: %+v, %v", u, err)
	}
	_, err = s.RedeemSignupToken(tok.Secret, newUser("bob@example.org", ""))
	wantCode(t, err, EGONE)
	if !strings.Contains(ErrorMessage(err), "used once") {
		t.Errorf("used-up message %q, want it to say \"used once\"", ErrorMessage(err))
	}

	// No limit and any domain again.
	none, any := 0, []string{}
	up, err = s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{MaxUses: &none, AllowedDomains: &any})
	if err != nil || up.MaxUses != 0 || len(up.AllowedDomains) != 0 {
		t.Fatalf("clear limits: %+v, %v", up, err)
	}
	if _, err := s.RedeemSignupToken(tok.Secret, newUser("bob@elsewhere.example", "")); err != nil {
		t.Fatalf("signup without limits: %v", err)
	}

	events, _, err := s.ListEvents(EventLinkUpdated, 0, 10)
	if err != nil || len(events) != 2 {
		t.Fatalf("events %+v, %v", events, err)
	}
	if d := events[1].Data; d["oldName"] != "interns" || d["name"] != "Spring interns" {
		t.Errorf("rename event data %v, want oldName and name", d)
	}
}

// Each new field is checked as on create, with an error naming it, and a
// refused update changes nothing.
func TestUpdateSignupTokenRefusesBadFields(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{Name: "kept"})
	blank, long, neg, bogus := "  ", strings.Repeat("n", MaxNameLength+1), -1, Role(9)
	badDomains := []string{"not a domain"}
	for _, c := range []struct {
		name, path, msg string
		in              SignupTokenUpdate
	}{
		{"blank name", "name", "", SignupTokenUpdate{Name: &blank}},
		{"long name", "name", "too long", SignupTokenUpdate{Name: &long}},
		{"negative max uses", "maxUses", "no limit", SignupTokenUpdate{MaxUses: &neg}},
		{"bad domain", "allowedDomains[0]", "", SignupTokenUpdate{AllowedDomains: &badDomains}},
		{"unknown role", "role", "root role", SignupTokenUpdate{Role: &bogus}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.UpdateSignupToken(admin, tok.Secret, c.in)
			wantLinkFieldError(t, err, c.path, c.msg)
		})
	}
	got, err := s.FindSignupToken(admin, tok.Secret)
	if err != nil || got.Name != "kept" || got.Role != RoleViewer {
		t.Errorf("after refused updates: %+v, %v", got, err)
	}
	if _, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{}); !strings.Contains(ErrorMessage(err), "allowedDomains") {
		t.Errorf("empty update: %v, want a message that lists every field", err)
	}
}

// The role ceiling: an Editor may not raise a link above their own role,
// and may neither change nor delete a link above it (which they cannot
// tell from an unknown one).
func TestUpdateAndDeleteSignupTokenCeiling(t *testing.T) {
	s, clock := mustOpen(t)
	adminLink := mustLink(t, s, clock, NewSignupToken{Name: "admins", Role: RoleAdmin})
	editorLink := mustLink(t, s, clock, NewSignupToken{Name: "editors", Role: RoleEditor})

	up := RoleAdmin
	_, err := s.UpdateSignupToken(ceilEditor, editorLink.Secret, SignupTokenUpdate{Role: &up})
	wantLinkFieldError(t, err, "role", "above your own role")
	down, name := RoleViewer, "renamed"
	_, err = s.UpdateSignupToken(ceilEditor, adminLink.Secret, SignupTokenUpdate{Role: &down, Name: &name})
	wantCode(t, err, ENOTFOUND)
	wantCode(t, s.DeleteSignupToken(ceilEditor, adminLink.Secret), ENOTFOUND)
	wantCode(t, s.DeleteSignupToken(ceilViewer, editorLink.Secret), ENOTFOUND)
	if got, err := s.FindSignupToken(admin, adminLink.Secret); err != nil || got.Role != RoleAdmin || got.Name != "admins" {
		t.Fatalf("the admin link changed: %+v, %v", got, err)
	}

	// Within the ceiling both work.
	if got, err := s.UpdateSignupToken(ceilEditor, editorLink.Secret, SignupTokenUpdate{Role: &down}); err != nil || got.Role != RoleViewer {
		t.Fatalf("editor lowers own link: %+v, %v", got, err)
	}
	if err := s.DeleteSignupToken(ceilEditor, editorLink.Secret); err != nil {
		t.Fatal(err)
	}
}

// Deleting a link ends signups through it and drops it from the list, but
// keeps the people who joined; unknown secrets are ENOTFOUND.
func TestDeleteSignupToken(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{Name: "gone soon"})
	keep := mustLink(t, s, clock, NewSignupToken{Name: "stays"})
	u, err := s.RedeemSignupToken(tok.Secret, newUser("ada@example.com", ""))
	if err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteSignupToken(admin, tok.Secret); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteSignupToken(admin, tok.Secret), ENOTFOUND)
	wantCode(t, s.DeleteSignupToken(admin, "not-a-secret"), ENOTFOUND)
	_, err = s.FindSignupToken(admin, tok.Secret)
	wantCode(t, err, ENOTFOUND)
	_, err = s.RedeemSignupToken(tok.Secret, newUser("bob@example.com", ""))
	wantCode(t, err, ENOTFOUND)
	list, err := s.ListSignupTokens(admin)
	if err != nil || len(list) != 1 || list[0].Secret != keep.Secret {
		t.Fatalf("list after delete: %+v, %v", list, err)
	}
	users, _, err := s.ListUsers(0, 10)
	if err != nil || len(users) != 1 || users[0].ID != u.ID || users[0].LinkID != tok.ID {
		t.Fatalf("users after delete: %+v, %v", users, err)
	}
	// The user can still be deleted, though their link is gone.
	if err := s.DeleteUser(admin, u.ID); err != nil {
		t.Fatal(err)
	}
	events, _, err := s.ListEvents(EventLinkDeleted, 0, 10)
	if err != nil || len(events) != 1 || events[0].Data["name"] != "gone soon" || events[0].ObjectID != strconv.FormatUint(tok.ID, 10) {
		t.Fatalf("delete event %+v, %v", events, err)
	}
}

// A user who accepted an invitation knows which.
func TestUserKnowsItsInvitation(t *testing.T) {
	s, _ := mustOpen(t)
	inv, err := s.CreateInvitation(admin, NewInvitation{Email: "ada@example.com", TTL: new(time.Hour), Inviter: "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.AcceptInvitation(inv.Token, newUser("ada@example.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	users, _, err := s.ListUsers(0, 10)
	if err != nil || len(users) != 1 || users[0].InvitationID != inv.ID || u.InvitationID != inv.ID {
		t.Fatalf("users %+v (accepted %+v), %v; want invitation %d", users, u, err, inv.ID)
	}
}

// A resend may give the invitation a new ttl: the link works that long
// from now, on the store's clock, and the ttl is kept.
func TestResendInvitationWithTTL(t *testing.T) {
	s, clock := mustOpen(t)
	inv, err := s.CreateInvitation(admin, NewInvitation{Email: "ada@example.com", TTL: new(time.Hour), Inviter: "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	clock.add(30 * time.Minute)
	resent, err := s.ResendInvitationWithTTL(admin, inv.ID, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.now().Add(48 * time.Hour); !resent.ExpiresAt.Equal(want) || resent.TTL != 48*time.Hour {
		t.Errorf("resent: expires %v ttl %v, want %v and 48h", resent.ExpiresAt, resent.TTL, want)
	}
	_, err = s.ResendInvitationWithTTL(admin, inv.ID, MaxInvitationTTL+time.Hour)
	wantLinkFieldError(t, err, "ttl", "365 days")
	// 0 keeps the ttl it has now.
	again, err := s.ResendInvitationWithTTL(admin, inv.ID, 0)
	if err != nil || again.TTL != 48*time.Hour {
		t.Fatalf("resend keeping ttl: %+v, %v", again, err)
	}
}
