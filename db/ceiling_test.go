package db

import (
	"strings"
	"testing"
	"time"
)

// The role ceiling (DESIGN §5): a caller never sees the secret or token
// of, nor changes, a link or invitation whose role is above their own; to
// them it does not exist.

var (
	ceilEditor = Actor{Kind: "user", ID: 7, Name: "ed", Role: RoleEditor}
	ceilViewer = Actor{Kind: "user", ID: 8, Name: "vi", Role: RoleViewer}
)

func TestActorCanGrant(t *testing.T) {
	for _, c := range []struct {
		actor Actor
		role  Role
		want  bool
	}{
		{admin, RoleAdmin, true}, {admin, RoleEditor, true}, {admin, RoleViewer, true},
		{ceilEditor, RoleAdmin, false}, {ceilEditor, RoleEditor, true}, {ceilEditor, RoleViewer, true},
		{ceilViewer, RoleAdmin, false}, {ceilViewer, RoleEditor, false}, {ceilViewer, RoleViewer, true},
		// An actor without a role (a zero value) may grant nothing.
		{Actor{}, RoleViewer, false},
	} {
		if got := c.actor.CanGrant(c.role); got != c.want {
			t.Errorf("%s (%s) CanGrant(%s) = %v, want %v", c.actor, c.actor.Role.Name(), c.role.Name(), got, c.want)
		}
	}
}

func secrets(tokens []SignupToken) map[string]bool {
	m := map[string]bool{}
	for _, t := range tokens {
		m[t.Secret] = true
	}
	return m
}

func TestLinkRoleCeiling(t *testing.T) {
	s, clock := mustOpen(t)
	adminLink := mustLink(t, s, clock, NewSignupToken{Name: "admins", Role: RoleAdmin})
	editorLink := mustLink(t, s, clock, NewSignupToken{Name: "editors", Role: RoleEditor})
	viewerLink := mustLink(t, s, clock, NewSignupToken{Name: "viewers", Role: RoleViewer})
	off := false
	if _, err := s.UpdateSignupToken(admin, adminLink.Secret, SignupTokenUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	unknown := "0123456789abcdef0123456789abcdef"
	_, errUnknown := s.FindSignupToken(ceilEditor, unknown)
	wantCode(t, errUnknown, ENOTFOUND)

	// Who sees which links in the list.
	for _, c := range []struct {
		actor Actor
		want  []SignupToken
	}{
		{admin, []SignupToken{adminLink, editorLink, viewerLink}},
		{ceilEditor, []SignupToken{editorLink, viewerLink}},
		{ceilViewer, []SignupToken{viewerLink}},
		{Actor{}, nil},
	} {
		list, err := s.ListSignupTokens(c.actor)
		if err != nil {
			t.Fatal(err)
		}
		got := secrets(list)
		if len(got) != len(c.want) {
			t.Errorf("%s lists %d links, want %d", c.actor.Role.Name(), len(got), len(c.want))
		}
		for _, w := range c.want {
			if !got[w.Secret] {
				t.Errorf("%s does not list the %s link", c.actor.Role.Name(), w.Name)
			}
		}
	}

	// The Admin link is unknown to an Editor, with the very message of an
	// unknown secret, and cannot be re-enabled nor extended.
	_, err := s.FindSignupToken(ceilEditor, adminLink.Secret)
	wantCode(t, err, ENOTFOUND)
	if err.Error() != errUnknown.Error() {
		t.Errorf("hidden link says %q, unknown one %q: they must not differ", err, errUnknown)
	}
	on := true
	later := clock.now().Add(90 * 24 * time.Hour)
	for name, in := range map[string]SignupTokenUpdate{
		"enable": {Enabled: &on}, "extend": {ExpiresAt: &later}, "both": {Enabled: &on, ExpiresAt: &later},
	} {
		_, err := s.UpdateSignupToken(ceilEditor, adminLink.Secret, in)
		wantCode(t, err, ENOTFOUND)
		if err.Error() != errUnknown.Error() {
			t.Errorf("%s: hidden link says %q, unknown one %q", name, err, errUnknown)
		}
	}
	got, err := s.FindSignupToken(admin, adminLink.Secret)
	if err != nil || got.Switched || !got.ExpiresAt.Equal(adminLink.ExpiresAt) {
		t.Fatalf("the Editor changed the Admin link: %+v %v", got, err)
	}
	if err := s.CheckSignupToken(adminLink.Secret, ""); ErrorCode(err) != EGONE {
		t.Fatalf("the Admin link can be used again: %v", err)
	}

	// Links at or below the Editor's role stay theirs to manage.
	for _, l := range []SignupToken{editorLink, viewerLink} {
		if got, err := s.FindSignupToken(ceilEditor, l.Secret); err != nil || got.Secret != l.Secret {
			t.Fatalf("ceilEditor find %s: %+v %v", l.Name, got, err)
		}
		got, err := s.UpdateSignupToken(ceilEditor, l.Secret, SignupTokenUpdate{ExpiresAt: &later, Enabled: &off})
		if err != nil || got.Switched || !got.ExpiresAt.Equal(later) {
			t.Fatalf("ceilEditor update %s: %+v %v", l.Name, got, err)
		}
	}
	// A Viewer may not reach an Editor link either.
	_, err = s.UpdateSignupToken(ceilViewer, editorLink.Secret, SignupTokenUpdate{Enabled: &on})
	wantCode(t, err, ENOTFOUND)
	// An Admin manages them all.
	if _, err := s.UpdateSignupToken(admin, adminLink.Secret, SignupTokenUpdate{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindSignupToken(admin, adminLink.Secret); err != nil || !got.Enabled {
		t.Fatalf("admin enable: %+v %v", got, err)
	}
}

func ceilingInvite(tb testing.TB, s *Store, email string, role Role) Invitation {
	tb.Helper()
	inv, err := s.CreateInvitation(admin, NewInvitation{Email: email, DefaultTTL: time.Hour, Role: role})
	if err != nil {
		tb.Fatal(err)
	}
	return inv
}

func TestInvitationRoleCeiling(t *testing.T) {
	s, clock := mustOpen(t)
	a1 := ceilingInvite(t, s, "a1@example.com", RoleAdmin)
	e := ceilingInvite(t, s, "e@example.com", RoleEditor)
	a2 := ceilingInvite(t, s, "a2@example.com", RoleAdmin)
	v := ceilingInvite(t, s, "v@example.com", RoleViewer)
	a3 := ceilingInvite(t, s, "a3@example.com", RoleAdmin)
	_, errUnknown := s.GetInvitation(ceilEditor, 999)
	wantCode(t, errUnknown, ENOTFOUND)

	// Pages of one: the Editor's pages hold only what they may see, and the
	// last page says so even though hidden invitations follow it.
	var ids []uint64
	after, pages := uint64(0), 0
	for {
		page, next, err := s.ListInvitations(ceilEditor, "", after, 1)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, inv := range page {
			ids = append(ids, inv.ID)
		}
		if next == 0 || pages > 10 {
			break
		}
		if len(page) == 0 {
			t.Fatalf("page %d is empty but says there is more", pages)
		}
		after = next
	}
	if len(ids) != 2 || ids[0] != e.ID || ids[1] != v.ID || pages != 2 {
		t.Fatalf("ceilEditor lists %v in %d pages, want [%d %d] in 2", ids, pages, e.ID, v.ID)
	}
	if all, next, err := s.ListInvitations(admin, InvitationPending, 0, 10); err != nil || len(all) != 5 || next != 0 {
		t.Fatalf("admin lists %d (next %d, %v), want all 5", len(all), next, err)
	}
	if list, _, err := s.ListInvitations(Actor{}, "", 0, 10); err != nil || len(list) != 0 {
		t.Fatalf("an actor without a role lists %d invitations, %v", len(list), err)
	}

	// An Admin invitation is unknown to an Editor: get, revoke and resend
	// answer as for an unknown id, and change nothing.
	for _, inv := range []Invitation{a1, a2, a3} {
		_, err := s.GetInvitation(ceilEditor, inv.ID)
		wantCode(t, err, ENOTFOUND)
		_, rerr := s.RevokeInvitation(ceilEditor, inv.ID)
		wantCode(t, rerr, ENOTFOUND)
		resent, serr := s.ResendInvitation(ceilEditor, inv.ID)
		wantCode(t, serr, ENOTFOUND)
		if resent.Token != "" {
			t.Fatalf("a refused resend handed out a token")
		}
		for _, err := range []error{err, rerr, serr} {
			want := errNoInvitation(inv.ID).Error()
			if err.Error() != want {
				t.Errorf("hidden invitation says %q, want %q as for an unknown one", err, want)
			}
		}
		got, err := s.GetInvitation(admin, inv.ID)
		if err != nil || got.State != InvitationPending || !got.UpdatedAt.Equal(inv.UpdatedAt) {
			t.Fatalf("the Editor changed %s: %+v %v", InvitationName(inv.ID), got, err)
		}
		// The token that was sent still works: no resend replaced it.
		if _, err := s.FindInvitationByToken(inv.Token); err != nil {
			t.Fatalf("the token of %s stopped working: %v", InvitationName(inv.ID), err)
		}
	}
	// Inviting an address with a hidden pending invitation is a conflict
	// that does not name the hidden one.
	_, err := s.CreateInvitation(ceilEditor, NewInvitation{Email: "a1@example.com", DefaultTTL: time.Hour, Inviter: "Ed"})
	wantCode(t, err, ECONFLICT)
	if msg := err.Error(); msg == "" || strings.Contains(msg, InvitationName(a1.ID)) || strings.Contains(msg, "/resend") {
		t.Errorf("conflict message %q names the hidden invitation", msg)
	}

	// Editor and Viewer invitations stay the Editor's to manage.
	clock.add(time.Minute)
	for _, inv := range []Invitation{e, v} {
		if got, err := s.GetInvitation(ceilEditor, inv.ID); err != nil || got.ID != inv.ID {
			t.Fatalf("ceilEditor get %d: %+v %v", inv.ID, got, err)
		}
		resent, err := s.ResendInvitation(ceilEditor, inv.ID)
		if err != nil || resent.Token == "" || resent.Token == inv.Token {
			t.Fatalf("ceilEditor resend %d: %+v %v", inv.ID, resent, err)
		}
	}
	if got, err := s.RevokeInvitation(ceilEditor, v.ID); err != nil || got.State != InvitationRevoked {
		t.Fatalf("ceilEditor revoke: %+v %v", got, err)
	}
	// A Viewer may not reach the Editor invitation.
	_, err = s.ResendInvitation(ceilViewer, e.ID)
	wantCode(t, err, ENOTFOUND)
	// An Admin manages the Admin invitations.
	if resent, err := s.ResendInvitation(admin, a1.ID); err != nil || resent.Token == "" {
		t.Fatalf("admin resend: %+v %v", resent, err)
	}
	if got, err := s.RevokeInvitation(admin, a2.ID); err != nil || got.State != InvitationRevoked {
		t.Fatalf("admin revoke: %+v %v", got, err)
	}

	// An Editor invitation that expired, then an Admin one for the same
	// address: resending the old one is a conflict that does not name the
	// new, hidden one.
	old, err := s.CreateInvitation(admin, NewInvitation{Email: "twice@example.com", TTL: new(time.Minute), Role: RoleEditor})
	if err != nil {
		t.Fatal(err)
	}
	clock.add(2 * time.Minute)
	newer := ceilingInvite(t, s, "twice@example.com", RoleAdmin)
	_, err = s.ResendInvitation(ceilEditor, old.ID)
	wantCode(t, err, ECONFLICT)
	if strings.Contains(err.Error(), InvitationName(newer.ID)) {
		t.Errorf("conflict message %q names the hidden invitation", err)
	}
	_, err = s.ResendInvitation(admin, old.ID)
	wantCode(t, err, ECONFLICT)
	if !strings.Contains(err.Error(), InvitationName(newer.ID)) {
		t.Errorf("an Admin's conflict message %q does not name the newer invitation", err)
	}
}
