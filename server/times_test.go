package server

import (
	"fmt"
	"testing"

	"invited/db"
)

// TestTimesOutsideYears1To9999 sends times that are out of range once in
// UTC (or the zero instant, which the store reads as "not given") to
// every endpoint that takes one: each is a 400 ValidationError naming the
// field, and nothing is made or changed.
func TestTimesOutsideYears1To9999(t *testing.T) {
	ts := mustServer(t)
	secret := ts.link(t)
	before, err := ts.store.FindSignupToken(db.SystemActor, secret)
	if err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + testKey
	rows := []struct {
		name, method, path, field, body string
	}{
		{"link create, year 10000 in UTC", "POST", "/api/admin/invite-link/tokens", "expiresAt", `{"name":"n","expiresAt":"9999-12-31T23:59:59-23:59"}`},
		{"link create, year 0 in UTC", "POST", "/api/admin/invite-link/tokens", "expiresAt", `{"name":"n","expiresAt":"0001-01-01T00:00:00+01:00"}`},
		{"link create, the zero instant", "POST", "/api/admin/invite-link/tokens", "expiresAt", `{"name":"n","expiresAt":"0001-01-01T00:00:00Z"}`},
		{"link update, year 10000 in UTC", "PUT", "/api/admin/invite-link/tokens/" + secret, "expiresAt", `{"expiresAt":"9999-12-31T23:59:59-23:59"}`},
		{"link update, year 0 in UTC", "PUT", "/api/admin/invite-link/tokens/" + secret, "expiresAt", `{"expiresAt":"0001-01-01T00:00:00+01:00"}`},
		{"invitation, year 10000 in UTC", "POST", "/v1/userInvitations", "expirationTime", `{"invitedEmail":"a@example.com","inviter":"Ops","expirationTime":"9999-12-31T23:59:59-23:59"}`},
		{"invitation, year 0 in UTC", "POST", "/v1/userInvitations", "expirationTime", `{"invitedEmail":"a@example.com","inviter":"Ops","expirationTime":"0001-01-01T00:00:00+01:00"}`},
		{"invitation, the zero instant", "POST", "/v1/userInvitations", "expirationTime", `{"invitedEmail":"a@example.com","inviter":"Ops","expirationTime":"0001-01-01T00:00:00Z"}`},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			resp, body := ts.call(t, row.method, row.path, auth, row.body)
			if resp.StatusCode != 400 || body["name"] != "ValidationError" {
				t.Fatalf("status %d %v, want 400 ValidationError", resp.StatusCode, body)
			}
			details, _ := body["details"].([]any)
			if len(details) == 0 || fmt.Sprint(details[0].(map[string]any)["path"]) != row.field {
				t.Errorf("details %v, want the field %s named", details, row.field)
			}
		})
	}
	links, err := ts.store.ListSignupTokens(db.SystemActor)
	if err != nil || len(links) != 1 {
		t.Errorf("links after the refused requests: %d, %v; want only the first", len(links), err)
	}
	if after, err := ts.store.FindSignupToken(db.SystemActor, secret); err != nil || !after.ExpiresAt.Equal(before.ExpiresAt) {
		t.Errorf("the link's expiry went from %s to %s (%v)", before.ExpiresAt, after.ExpiresAt, err)
	}
	if invs, _, err := ts.store.ListInvitations(db.SystemActor, "", 0, 10); err != nil || len(invs) != 0 {
		t.Errorf("invitations after the refused requests: %d, %v; want none", len(invs), err)
	}
	// The edges themselves are fine: a link may end on the last second of
	// year 9999, and be set to expire in year 1 (a past instant ends it).
	for _, v := range []string{"9999-12-31T23:59:59.999Z", "0001-01-01T00:00:01Z"} {
		if resp, body := ts.call(t, "PUT", "/api/admin/invite-link/tokens/"+secret, auth, `{"expiresAt":"`+v+`"}`); resp.StatusCode != 200 {
			t.Errorf("link update to %s: %d %v, want 200", v, resp.StatusCode, body)
		}
	}
}
