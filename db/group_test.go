package db

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// wantField checks that err is an EINVALID naming path.
func wantField(tb testing.TB, err error, path string) {
	tb.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != EINVALID {
		tb.Fatalf("error %v, want EINVALID naming %s", err, path)
	}
	for _, d := range e.Details {
		if d.Path == path {
			return
		}
	}
	tb.Fatalf("error %v (details %v) does not name %s", err, e.Details, path)
}

func mustGroup(tb testing.TB, s *Store, name string) Group {
	tb.Helper()
	g, err := s.CreateGroup(admin, NewGroup{Name: name})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func TestGroupCRUD(t *testing.T) {
	s, clock := mustOpen(t)
	g, err := s.CreateGroup(admin, NewGroup{Name: "  Grafana Users! ", Description: "dashboards"})
	if err != nil {
		t.Fatal(err)
	}
	if g.ID != "grafana-users" || g.Name != "Grafana Users!" || g.Description != "dashboards" || !g.CreatedAt.Equal(clock.now()) {
		t.Fatalf("created %+v", g)
	}
	_, err = s.CreateGroup(admin, NewGroup{Name: "Grafana users"})
	wantCode(t, err, ECONFLICT)
	wantField(t, func() error { _, err := s.CreateGroup(admin, NewGroup{ID: "Bad Id", Name: "x"}); return err }(), "id")
	wantField(t, func() error { _, err := s.CreateGroup(admin, NewGroup{Name: " "}); return err }(), "name")
	if _, err := s.CreateGroup(admin, NewGroup{ID: "ops", Name: "Operations"}); err != nil {
		t.Fatal(err)
	}

	name := "Grafana"
	g, err = s.UpdateGroup(admin, "grafana-users", GroupUpdate{Name: &name})
	if err != nil || g.Name != "Grafana" || g.Description != "dashboards" || g.ID != "grafana-users" {
		t.Fatalf("update: %+v, %v", g, err)
	}
	_, err = s.UpdateGroup(admin, "nope", GroupUpdate{Name: &name})
	wantCode(t, err, ENOTFOUND)
	_, err = s.UpdateGroup(admin, "ops", GroupUpdate{})
	wantCode(t, err, EINVALID)

	list, err := s.ListGroups()
	if err != nil || len(list) != 2 || list[0].ID != "grafana-users" || list[1].ID != "ops" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if got, err := s.GetGroup("ops"); err != nil || got.Name != "Operations" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if err := s.DeleteGroup(admin, "ops"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetGroup("ops")
	wantCode(t, err, ENOTFOUND)
	wantCode(t, s.DeleteGroup(admin, "ops"), ENOTFOUND)

	events, _, err := s.ListEvents("", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range events {
		seen[e.Type] = true
	}
	for _, typ := range []string{EventGroupCreated, EventGroupUpdated, EventGroupDeleted} {
		if !seen[typ] {
			t.Errorf("no %s event", typ)
		}
	}
}

func TestGroupsUnknownIDNamesTheField(t *testing.T) {
	s, clock := mustOpen(t)
	mustGroup(t, s, "a")
	_, err := s.CreateSignupToken(admin, NewSignupToken{Name: "x", ExpiresAt: clock.now().Add(time.Hour), Groups: []string{"a", "b"}})
	wantField(t, err, "groups[1]")
	_, err = s.CreateSignupToken(admin, NewSignupToken{Name: "x", ExpiresAt: clock.now().Add(time.Hour), Groups: []string{"Not An Id"}})
	wantField(t, err, "groups[0]")
	_, err = s.CreateInvitation(admin, NewInvitation{Email: "x@example.com", TTL: new(time.Hour), Groups: []string{"a", "zz"}})
	wantField(t, err, "groups[1]")
	link := mustLink(t, s, clock, NewSignupToken{})
	_, err = s.UpdateSignupToken(admin, link.Secret, SignupTokenUpdate{Groups: &[]string{"zz"}})
	wantField(t, err, "groups[0]")
	u, err := s.RedeemSignupToken(link.Secret, newUser("u@example.com", "u"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateUser(admin, u.ID, UserUpdate{Groups: &[]string{"a", "zz"}})
	wantField(t, err, "groups[1]")
	// Sorted, without repeats.
	got, err := s.UpdateUser(admin, u.ID, UserUpdate{Groups: &[]string{"a", "a"}})
	if err != nil || !slices.Equal(got.Groups, []string{"a"}) {
		t.Fatalf("groups %v, %v", got.Groups, err)
	}
}

// An Editor hands out only groups they are in, and never sees or changes
// a link or invitation carrying another group (DESIGN §5, §8).
func TestGroupCeiling(t *testing.T) {
	s, clock := mustOpen(t)
	mustGroup(t, s, "a")
	mustGroup(t, s, "b")
	ed := Actor{Kind: "user", ID: 7, Name: "ed", Role: RoleEditor, Groups: []string{"a"}}
	week := clock.now().Add(7 * 24 * time.Hour)

	_, err := s.CreateSignupToken(ed, NewSignupToken{Name: "x", ExpiresAt: week, Groups: []string{"a", "b"}})
	wantField(t, err, "groups[1]")
	_, err = s.CreateInvitation(ed, NewInvitation{Email: "x@example.com", TTL: new(time.Hour), Groups: []string{"b"}})
	wantField(t, err, "groups[0]")
	// An Editor key has no groups: it may hand out none.
	_, err = s.CreateSignupToken(Actor{Kind: "apikey", Name: "k", Role: RoleEditor}, NewSignupToken{Name: "x", ExpiresAt: week, Groups: []string{"a"}})
	wantField(t, err, "groups[0]")

	own, err := s.CreateSignupToken(ed, NewSignupToken{Name: "own", ExpiresAt: week, Groups: []string{"a"}})
	if err != nil || !slices.Equal(own.Groups, []string{"a"}) {
		t.Fatalf("own link: %+v, %v", own, err)
	}
	_, err = s.UpdateSignupToken(ed, own.Secret, SignupTokenUpdate{Groups: &[]string{"b"}})
	wantField(t, err, "groups[0]")

	hidden := mustLink(t, s, clock, NewSignupToken{Name: "hidden", Groups: []string{"a", "b"}})
	_, err = s.FindSignupToken(ed, hidden.Secret)
	wantCode(t, err, ENOTFOUND)
	on := true
	_, err = s.UpdateSignupToken(ed, hidden.Secret, SignupTokenUpdate{Enabled: &on, ExpiresAt: &week})
	wantCode(t, err, ENOTFOUND)
	wantCode(t, s.DeleteSignupToken(ed, hidden.Secret), ENOTFOUND)
	links, err := s.ListSignupTokens(ed)
	if err != nil || len(links) != 1 || links[0].Secret != own.Secret {
		t.Fatalf("the editor lists %d links, want only their own: %v", len(links), err)
	}

	hiddenInv, err := s.CreateInvitation(admin, NewInvitation{Email: "h@example.com", TTL: new(time.Hour), Groups: []string{"b"}, DisableEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.GetInvitation(ed, hiddenInv.ID)
	wantCode(t, err, ENOTFOUND)
	_, err = s.ResendInvitation(ed, hiddenInv.ID)
	wantCode(t, err, ENOTFOUND)
	_, err = s.RevokeInvitation(ed, hiddenInv.ID)
	wantCode(t, err, ENOTFOUND)
	ownInv, err := s.CreateInvitation(ed, NewInvitation{Email: "o@example.com", TTL: new(time.Hour), Groups: []string{"a"}, DisableEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	invs, _, err := s.ListInvitations(ed, "", 0, 100)
	if err != nil || len(invs) != 1 || invs[0].ID != ownInv.ID {
		t.Fatalf("the editor lists %v, want only their own: %v", invs, err)
	}
	// The Admin sees both.
	invs, _, err = s.ListInvitations(admin, "", 0, 100)
	if err != nil || len(invs) != 2 {
		t.Fatalf("the admin lists %d invitations: %v", len(invs), err)
	}
}

func TestGroupsAssignedOnSignupAndAccept(t *testing.T) {
	ah := mustAccounts(t)
	mustGroup(t, ah.s, "b")
	mustGroup(t, ah.s, "a")
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{Groups: []string{"b", "a", "b"}})
	if !slices.Equal(link.Groups, []string{"a", "b"}) {
		t.Fatalf("link groups %v", link.Groups)
	}
	u, err := ah.SignupWithLink(t.Context(), link.Secret, account("s@example.com", "signer", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Groups, []string{"a", "b"}) {
		t.Fatalf("signup gave groups %v", u.Groups)
	}
	inv, err := ah.s.CreateInvitation(admin, NewInvitation{Email: "i@example.com", TTL: new(time.Hour), Groups: []string{"a"}, DisableEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	u, err = ah.AcceptInvitation(t.Context(), inv.Token, account("", "invitee", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ah.s.FindUserByID(u.ID); !slices.Equal(got.Groups, []string{"a"}) {
		t.Fatalf("accept gave groups %v", got.Groups)
	}
	// The actor of a logged-in user carries their groups.
	if a := UserActor(u); !slices.Equal(a.Groups, []string{"a"}) {
		t.Fatalf("UserActor groups %v", a.Groups)
	}
}

func TestDeleteGroupRemovesItEverywhere(t *testing.T) {
	s, clock := mustOpen(t)
	mustGroup(t, s, "a")
	mustGroup(t, s, "b")
	link := mustLink(t, s, clock, NewSignupToken{Groups: []string{"a", "b"}})
	u, err := s.RedeemSignupToken(link.Secret, newUser("u@example.com", "u"))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := s.CreateInvitation(admin, NewInvitation{Email: "i@example.com", TTL: new(time.Hour), Groups: []string{"b", "a"}, DisableEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	mustApp(t, s, NewApp{ID: "app", Name: "App", Groups: []string{"a", "b"}, Domains: []string{"app.example.com"}})
	if err := s.DeleteGroup(admin, "a"); err != nil {
		t.Fatal(err)
	}
	want := []string{"b"}
	if got, _ := s.FindUserByID(u.ID); !slices.Equal(got.Groups, want) {
		t.Errorf("user groups %v, want %v", got.Groups, want)
	}
	if got, _ := s.FindSignupToken(admin, link.Secret); !slices.Equal(got.Groups, want) {
		t.Errorf("link groups %v, want %v", got.Groups, want)
	}
	if got, _ := s.GetInvitation(admin, inv.ID); !slices.Equal(got.Groups, want) {
		t.Errorf("invitation groups %v, want %v", got.Groups, want)
	}
	if got, _ := s.GetApp("app"); !slices.Equal(got.Groups, want) {
		t.Errorf("app groups %v, want %v", got.Groups, want)
	}
}

// A file written before groups existed opens, and its records read as
// having none.
func TestOldFileOpensWithGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Drop the bucket as an older build's file would lack it.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketGroups) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if list, err := ro.ListGroups(); err != nil || len(list) != 0 {
		t.Fatalf("read-only list of an old file: %v, %v", list, err)
	}
	ro.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustGroup(t, s, "a")
}

// An Editor cannot tell an unknown group from one they are not in.
func TestGroupCeilingHidesWhichGroupsExist(t *testing.T) {
	s, clock := mustOpen(t)
	mustGroup(t, s, "a")
	mustGroup(t, s, "b")
	ed := Actor{Kind: "user", ID: 7, Name: "ed", Role: RoleEditor, Groups: []string{"a"}}
	msg := func(group string) string {
		_, err := s.CreateSignupToken(ed, NewSignupToken{Name: "x", ExpiresAt: clock.now().Add(time.Hour), Groups: []string{group}})
		var e *Error
		if !errors.As(err, &e) || len(e.Details) != 1 {
			t.Fatalf("error %v", err)
		}
		return strings.ReplaceAll(e.Details[0].Message, group, "G")
	}
	if known, unknown := msg("b"), msg("zz"); known != unknown {
		t.Errorf("an existing group reads %q, an unknown one %q", known, unknown)
	}
}
