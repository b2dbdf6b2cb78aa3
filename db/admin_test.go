package db

import (
	"strings"
	"testing"
	"time"
)

// mustMember makes a user with role through a signup link, failing the
// test on error. (Joining is the account flows' own business, tested
// there; here it only makes users to manage.)
func mustMember(tb testing.TB, s *Store, clock *testClock, email, username string, role Role) User {
	tb.Helper()
	link := mustLink(tb, s, clock, NewSignupToken{Name: "for " + email, Role: role})
	u, err := s.RedeemSignupToken(link.Secret, newUser(email, username))
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestOrganizations(t *testing.T) {
	s, clock := mustOpen(t)
	orgs, err := s.ListOrganizations()
	if err != nil || len(orgs) != 1 || orgs[0].ID != DefaultOrganization {
		t.Fatalf("at the start: %+v, %v; want only the default", orgs, err)
	}

	// The id is made from the name, or given.
	night, err := s.CreateOrganization(admin, "", "  Night Desk — Ops!  ")
	if err != nil {
		t.Fatal(err)
	}
	if night.ID != "night-desk-ops" || night.Name != "Night Desk — Ops!" || !night.CreatedAt.Equal(clock.now()) {
		t.Errorf("from a name: %+v", night)
	}
	if acme, err := s.CreateOrganization(admin, "acme", "Acme"); err != nil || acme.ID != "acme" {
		t.Errorf("with an id: %+v, %v", acme, err)
	}
	for _, tc := range []struct{ name, id, orgName, field string }{
		{"no name", "x", " ", "name"},
		{"upper-case id", "Acme", "Acme", "id"},
		{"id with a space", "a b", "A", "id"},
		{"id starting with a hyphen", "-a", "A", "id"},
		{"name that makes no id", "", "!!!", "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateOrganization(admin, tc.id, tc.orgName)
			wantFieldError(t, err, tc.field)
		})
	}
	_, err = s.CreateOrganization(admin, "acme", "Acme again")
	wantCode(t, err, ECONFLICT)
	orgs, err = s.ListOrganizations()
	if err != nil || len(orgs) != 3 || orgs[0].ID != "acme" || orgs[1].ID != "default" || orgs[2].ID != "night-desk-ops" {
		t.Errorf("listed %+v, %v; want acme, default, night-desk-ops", orgs, err)
	}

	// Deleting: never the default, never one in use, never an unknown one.
	wantCode(t, s.DeleteOrganization(admin, DefaultOrganization), EINVALID)
	wantCode(t, s.DeleteOrganization(admin, "nowhere"), ENOTFOUND)
	inv := mustInvite(t, s, NewInvitation{Email: "grace@example.com", TTL: new(time.Hour), OrgID: "acme"})
	wantCode(t, s.DeleteOrganization(admin, "acme"), EINVALID)
	// A pending invitation holds it, a revoked one does not.
	if _, err := s.RevokeInvitation(admin, inv.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOrganization(admin, "acme"); err != nil {
		t.Errorf("delete an organization no one is in: %v", err)
	}
	wantCode(t, s.DeleteOrganization(admin, "acme"), ENOTFOUND)
	_, err = s.CreateInvitation(admin, NewInvitation{Email: "x@example.com", TTL: new(time.Hour), OrgID: "acme"})
	wantFieldError(t, err, "organizationId")

	events, total, err := s.ListEvents(EventOrgCreated, 0, 10)
	if err != nil || total != 2 || events[0].ObjectID != "acme" || events[1].ObjectID != "night-desk-ops" || events[0].CreatedBy != admin.String() {
		t.Errorf("creation events %+v, total %d, %v", events, total, err)
	}
	if events, total, _ := s.ListEvents(EventOrgDeleted, 0, 10); total != 1 || events[0].ObjectID != "acme" || events[0].ObjectType != "organization" {
		t.Errorf("deletion events %+v", events)
	}
}

func TestListAndDeleteAPIKeys(t *testing.T) {
	s, clock := mustOpen(t)
	ci, rawCI, err := s.CreateAPIKey(admin, "ci", RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	ops, rawOps, err := s.CreateAPIKey(admin, "ops", RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.ListAPIKeys()
	if err != nil || len(keys) != 2 || keys[0].ID != ci.ID || keys[1].ID != ops.ID ||
		keys[0].Role != RoleEditor || keys[0].CreatedBy != admin.String() || !strings.HasPrefix(rawCI, strings.TrimSuffix(keys[0].Prefix, "…")) || strings.Contains(keys[0].Prefix, rawCI) || keys[0].LastUsedAt != nil {
		t.Fatalf("listed %+v, %v", keys, err)
	}

	// The last use is written at most once a minute.
	used := clock.now()
	if _, err := s.AuthenticateAPIKey(rawCI); err != nil {
		t.Fatal(err)
	}
	clock.add(30 * time.Second)
	if _, err := s.AuthenticateAPIKey(rawCI); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.ListAPIKeys(); keys[0].LastUsedAt == nil || !keys[0].LastUsedAt.Equal(used) {
		t.Errorf("last used %v, want %v (the first use of the minute)", keys[0].LastUsedAt, used)
	}
	clock.add(30 * time.Second)
	if _, err := s.AuthenticateAPIKey(" Bearer-less " + rawCI); err == nil {
		t.Error("a key with junk around it was accepted")
	}
	if _, err := s.AuthenticateAPIKey(" " + rawCI + " "); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.ListAPIKeys(); keys[0].LastUsedAt == nil || !keys[0].LastUsedAt.Equal(clock.now()) {
		t.Errorf("last used %v, want %v", keys[0].LastUsedAt, clock.now())
	}

	// Deleting works at once, for that key only.
	if err := s.DeleteAPIKey(admin, ci.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthenticateAPIKey(rawCI)
	wantCode(t, err, EUNAUTHORIZED)
	if _, err := s.AuthenticateAPIKey(rawOps); err != nil {
		t.Errorf("the other key stopped working: %v", err)
	}
	wantCode(t, s.DeleteAPIKey(admin, ci.ID), ENOTFOUND)
	if keys, err := s.ListAPIKeys(); err != nil || len(keys) != 1 || keys[0].ID != ops.ID {
		t.Errorf("after delete: %+v, %v", keys, err)
	}
	if events, total, _ := s.ListEvents(EventAPIKeyDeleted, 0, 10); total != 1 || events[0].ObjectID != "1" {
		t.Errorf("deletion events %+v", events)
	}
}

func TestListEventsPagesNewestFirst(t *testing.T) {
	s, clock := mustOpen(t)
	for _, name := range []string{"one", "two", "three"} {
		clock.add(time.Second)
		mustLink(t, s, clock, NewSignupToken{Name: name})
	}
	mustInvite(t, s, NewInvitation{Email: "grace@example.com", TTL: new(time.Hour)})

	all, total, err := s.ListEvents("", 0, 100)
	if err != nil || total != 4 || len(all) != 4 || all[0].Type != EventInviteCreated {
		t.Fatalf("all %+v, total %d, %v", all, total, err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID || all[i].CreatedAt.After(all[i-1].CreatedAt) {
			t.Errorf("event %d (%+v) is not older than the one before it", i, all[i])
		}
	}
	page, total, err := s.ListEvents(EventLinkCreated, 1, 1)
	if err != nil || total != 3 || len(page) != 1 || page[0].ID != all[2].ID {
		t.Errorf("links, second of one: %+v, total %d, %v; want %+v", page, total, err, all[2])
	}
	if page, total, _ := s.ListEvents(EventLinkCreated, 3, 10); total != 3 || len(page) != 0 {
		t.Errorf("past the end: %+v, total %d", page, total)
	}
	if page, total, _ := s.ListEvents(EventUserDeleted, 0, 10); total != 0 || len(page) != 0 {
		t.Errorf("no such events: %+v, total %d", page, total)
	}
}

func TestListUpdateDeleteUsers(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleAdmin)
	bob := mustMember(t, s, clock, "bob@example.com", "bob", RoleEditor)
	cy := mustMember(t, s, clock, "cy@example.com", "", RoleViewer)

	list, total, err := s.ListUsers(1, 1)
	if err != nil || total != 3 || len(list) != 1 || list[0].ID != bob.ID {
		t.Errorf("second of one: %+v, total %d, %v", list, total, err)
	}
	if n, err := s.CountUsers(); err != nil || n != 3 {
		t.Errorf("count %d, %v", n, err)
	}

	// Name, email and role change; the email index follows.
	name, email, role := "Robert", "Robert@Example.com", RoleViewer
	u, err := s.UpdateUser(admin, bob.ID, UserUpdate{Name: &name, Email: &email, RootRole: &role})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Robert" || u.Email != "Robert@example.com" || u.RootRole != RoleViewer {
		t.Errorf("updated %+v", u)
	}
	if _, err := s.FindUserByLogin("bob@example.com"); ErrorCode(err) != ENOTFOUND {
		t.Errorf("the old email still finds the user: %v", err)
	}
	if got, err := s.FindUserByLogin("robert@example.com"); err != nil || got.ID != bob.ID {
		t.Errorf("the new email: %+v, %v", got, err)
	}
	events, _, _ := s.ListEvents(EventUserUpdated, 0, 10)
	if len(events) != 1 || events[0].Data["name"] != "Robert" || events[0].Data["rootRole"] != float64(RoleViewer) {
		t.Errorf("events %+v", events)
	}
	// The same values again change nothing and record nothing.
	if _, err := s.UpdateUser(admin, bob.ID, UserUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := s.ListEvents(EventUserUpdated, 0, 10); total != 1 {
		t.Errorf("%d update events after a change to the same name, want 1", total)
	}

	taken := "CY@example.com"
	_, err = s.UpdateUser(admin, bob.ID, UserUpdate{Email: &taken})
	wantCode(t, err, ECONFLICT)
	_, err = s.UpdateUser(admin, bob.ID, UserUpdate{})
	wantCode(t, err, EINVALID)
	blank, bad, nine, adminRole := " ", "not-an-email", Role(9), RoleAdmin
	for field, in := range map[string]UserUpdate{"name": {Name: &blank}, "email": {Email: &bad}, "rootRole": {RootRole: &nine}} {
		_, err := s.UpdateUser(admin, bob.ID, in)
		wantFieldError(t, err, field)
	}
	_, err = s.UpdateUser(Actor{Kind: "user", Name: "ed", Role: RoleEditor}, cy.ID, UserUpdate{RootRole: &adminRole})
	wantFieldError(t, err, "rootRole")
	_, err = s.UpdateUser(admin, 999, UserUpdate{Name: &name})
	wantCode(t, err, ENOTFOUND)

	// The last Admin can be neither demoted nor deleted.
	_, err = s.UpdateUser(admin, ada.ID, UserUpdate{RootRole: &role})
	wantCode(t, err, EINVALID)
	wantCode(t, s.DeleteUser(admin, ada.ID), EINVALID)
	// With a second Admin, both are possible.
	if _, err := s.UpdateUser(admin, cy.ID, UserUpdate{RootRole: &adminRole}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(admin, ada.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteUser(admin, ada.ID), ENOTFOUND)
	for _, login := range []string{"ada", "ada@example.com"} {
		if _, err := s.FindUserByLogin(login); ErrorCode(err) != ENOTFOUND {
			t.Errorf("%s still finds the deleted user: %v", login, err)
		}
	}
	// The address and username are free again.
	mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	if _, total, _ := s.ListUsers(0, 10); total != 3 {
		t.Errorf("%d users, want 3", total)
	}
	if events, _, _ := s.ListEvents(EventUserDeleted, 0, 10); len(events) != 1 || events[0].Data["email"] != "ada@example.com" {
		t.Errorf("deletion events %+v", events)
	}
}
