package main

import (
	"fmt"
	"testing"
)

// groupsOf reads the "groups" list of an answer's object as strings.
func groupsOf(t *testing.T, what string, obj map[string]any) []string {
	t.Helper()
	raw, ok := obj["groups"].([]any)
	if !ok {
		t.Fatalf("%s: groups is %#v, want a list", what, obj["groups"])
	}
	out := make([]string, len(raw))
	for i, g := range raw {
		out[i], _ = g.(string)
	}
	return out
}

func wantGroups(t *testing.T, what string, obj map[string]any, want ...string) {
	t.Helper()
	if got := groupsOf(t, what, obj); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: groups %v, want %v", what, got, want)
	}
}

func getUser(t *testing.T, p *proc, id string) map[string]any {
	t.Helper()
	status, _, body := do(t, "GET", p.URL+"/api/admin/user-admin/"+id, e2eAdminKey, nil)
	wantStatus(t, "get user "+id, status, 200, body)
	return object(t, "user "+id, body)
}

// TestE2EGroups runs DESIGN §8 against the real binary: groups made by an
// Admin, handed out by a link and an invitation to whoever joins through
// them, the "only groups you are in" rule for an Editor's session, and a
// deleted group gone from users, links and invitations at once.
func TestE2EGroups(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())

	// Groups: an id made from the name, or given.
	status, header, body := do(t, "POST", p.URL+"/api/admin/groups", e2eAdminKey, map[string]any{"name": "Grafana Users", "description": "dashboards"})
	wantStatus(t, "create grafana-users", status, 201, body)
	if g := object(t, "group", body); g["id"] != "grafana-users" || header.Get("Location") != "/api/admin/groups/grafana-users" {
		t.Errorf("group %v at %q", g, header.Get("Location"))
	}
	status, _, body = do(t, "POST", p.URL+"/api/admin/groups", e2eAdminKey, map[string]any{"id": "wiki", "name": "Wiki"})
	wantStatus(t, "create wiki", status, 201, body)
	status, _, body = do(t, "POST", p.URL+"/api/admin/groups", e2eAdminKey, map[string]any{"id": "wiki", "name": "Again"})
	wantError(t, "the same id again", status, body, 409, "NameExistsError")

	// An unknown group is a 400 naming its place in the list.
	status, _, body = do(t, "POST", p.URL+tokensPath, e2eAdminKey, map[string]any{"name": "x", "expiresAt": e2eFuture, "groups": []string{"wiki", "nope"}})
	wantDetail(t, "unknown group", wantError(t, "unknown group", status, body, 400, "ValidationError", "nope"), "groups[1]")

	// A link with groups: whoever signs up gets them.
	link := createLink(t, p, map[string]any{"name": "editors", "expiresAt": e2eFuture, "role": "Editor", "groups": []string{"wiki", "grafana-users"}})
	secret := link["secret"].(string)
	wantGroups(t, "the link", link, "grafana-users", "wiki")
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("ed@example.com", "ed", "Ed Itor"))
	wantStatus(t, "ed signs up", status, 200, body)
	ed := object(t, "ed", body)
	wantGroups(t, "ed as signed up", ed, "grafana-users", "wiki")
	edID := fmt.Sprint(ed["id"])

	// An invitation with groups: whoever accepts gets them.
	inv := createInvitation(t, p, map[string]any{"invitedEmail": "grace@example.com", "inviter": "Ada", "disableInvitationEmail": true, "groups": []string{"wiki"}})
	wantGroups(t, "the invitation", inv, "wiki")
	status, _, body = do(t, "POST", acceptURL(t, p, inv["invitationUri"].(string)), "", acceptBody("Grace Hopper", "grace"))
	wantStatus(t, "grace accepts", status, 200, body)
	wantGroups(t, "grace as accepted", object(t, "grace", body), "wiki")

	// DoiT's endpoint takes groups too, and its answer shows them.
	status, _, body = do(t, "POST", p.URL+"/api/admin/users/invite", e2eAdminKey, map[string]any{"email": "ken@example.com", "groups": []string{"grafana-users"}})
	wantStatus(t, "DoiT invite", status, 201, body)
	doitUser, _ := object(t, "DoiT answer", body)["user"].(map[string]any)
	wantGroups(t, "DoiT's user", doitUser, "grafana-users")
	doitInvID := fmt.Sprint(doitUser["id"])

	// An Editor in one group hands out only that one.
	status, _, body = do(t, "PUT", p.URL+"/api/admin/user-admin/"+edID, e2eAdminKey, map[string]any{"groups": []string{"wiki"}})
	wantStatus(t, "ed into wiki only", status, 200, body)
	wantGroups(t, "ed after the change", object(t, "ed", body), "wiki")
	edSession := sessionCookie(t, p, "ed", e2ePassword)
	status, _, body = doCookie(t, "POST", p.URL+tokensPath, edSession, map[string]any{"name": "sneaky", "expiresAt": e2eFuture, "groups": []string{"grafana-users"}})
	wantDetail(t, "ed hands out grafana-users", wantError(t, "ed hands out grafana-users", status, body, 400, "ValidationError", "not one of your groups"), "groups[0]")
	status, _, body = doCookie(t, "POST", p.URL+tokensPath, edSession, map[string]any{"name": "wiki team", "expiresAt": e2eFuture, "groups": []string{"wiki"}})
	wantStatus(t, "ed hands out wiki", status, 201, body)
	// The link with grafana-users is out of ed's reach, as an unknown one.
	status, _, body = doCookie(t, "GET", p.URL+tokensPath+"/"+secret, edSession, nil)
	wantError(t, "ed reads the grafana link", status, body, 404, "NotFoundError")
	status, _, body = doCookie(t, "GET", p.URL+"/api/admin/groups", edSession, nil)
	wantError(t, "ed lists groups", status, body, 403, "NoAccessError")

	// Deleting a group takes it from users, links and invitations.
	status, _, body = do(t, "DELETE", p.URL+"/api/admin/groups/grafana-users", e2eAdminKey, nil)
	wantStatus(t, "delete grafana-users", status, 200, body)
	status, _, body = do(t, "GET", p.URL+"/api/admin/groups/grafana-users", e2eAdminKey, nil)
	wantError(t, "the deleted group", status, body, 404, "NotFoundError")
	wantGroups(t, "the link after the delete", getLink(t, p, secret), "wiki")
	wantGroups(t, "the DoiT invitation after the delete", getInvitation(t, p, doitInvID), []string{}...)
	status, _, body = do(t, "POST", p.URL+"/api/admin/groups", e2eAdminKey, map[string]any{"id": "ops", "name": "Ops"})
	wantStatus(t, "create ops", status, 201, body)
	status, _, body = do(t, "PUT", p.URL+"/api/admin/user-admin/"+edID, e2eAdminKey, map[string]any{"groups": []string{"ops", "wiki"}})
	wantStatus(t, "ed into ops and wiki", status, 200, body)
	status, _, body = do(t, "DELETE", p.URL+"/api/admin/groups/ops", e2eAdminKey, nil)
	wantStatus(t, "delete ops", status, 200, body)
	wantGroups(t, "ed after the delete", getUser(t, p, edID), "wiki")

	// Every change is in the audit log.
	status, _, body = do(t, "GET", p.URL+"/api/admin/events?type=group-deleted", e2eAdminKey, nil)
	wantStatus(t, "group events", status, 200, body)
	if events, _ := object(t, "events", body)["events"].([]any); len(events) != 2 {
		t.Errorf("%d group-deleted events, want 2", len(events))
	}
}
