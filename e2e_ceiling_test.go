package main

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestE2ERoleCeiling runs the role ceiling (DESIGN §5) against the real
// binary: an Editor, by API key or by session, never sees nor reaches a
// signup link or an invitation with the Admin role (it answers 404 like an
// unknown one and stays as it was), and sees the joiners of its own links
// only by id, name, username, role and join time.
func TestE2ERoleCeiling(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())

	// The Admin's items: a disabled Admin link and a pending Admin
	// invitation.
	adminLink := createLink(t, p, map[string]any{"name": "admins", "expiresAt": e2eFuture, "role": "Admin"})
	adminSecret := adminLink["secret"].(string)
	status, _, body := do(t, "PUT", p.URL+tokensPath+"/"+adminSecret, e2eAdminKey, map[string]any{"enabled": false})
	wantStatus(t, "disable the admin link", status, 200, body)
	adminInv := createInvitation(t, p, map[string]any{"invitedEmail": "boss@example.com", "roleId": "Admin", "inviter": "Root"})
	adminInvID := invitationID(t, adminInv)
	editorInv := createInvitation(t, p, map[string]any{"invitedEmail": "helper@example.com", "roleId": 2, "inviter": "Root"})

	// The Editors: a key, and a person who joined through an Editor link.
	status, _, body = do(t, "POST", p.URL+"/api/admin/api-tokens", e2eAdminKey, map[string]any{"name": "ed", "role": "editor"})
	wantStatus(t, "create editor key", status, 201, body)
	editorKey, _ := object(t, "editor key", body)["secret"].(string)
	editorLink := createLink(t, p, map[string]any{"name": "editors", "expiresAt": e2eFuture, "role": "Editor"})
	editorSecret := editorLink["secret"].(string)
	status, _, body = do(t, "POST", signupURL(p, editorSecret), "", signupJSON("edith@example.com", "edith", "Edith Editor"))
	wantStatus(t, "editor signup", status, 200, body)
	cookie := sessionCookie(t, p, "edith", e2ePassword)

	for _, caller := range []struct {
		name string
		call func(method, url string, body any) (int, []byte)
	}{
		{"editor key", func(method, url string, body any) (int, []byte) {
			status, _, resp := do(t, method, url, editorKey, body)
			return status, resp
		}},
		{"editor session", func(method, url string, body any) (int, []byte) {
			status, _, resp := doCookie(t, method, url, cookie, body)
			return status, resp
		}},
	} {
		call := caller.call
		what := func(s string) string { return caller.name + ": " + s }

		// Links: the list lacks the Admin link and shows joiners briefly.
		status, body := call("GET", p.URL+tokensPath, nil)
		wantStatus(t, what("list links"), status, 200, body)
		if strings.Contains(string(body), adminSecret) {
			t.Errorf("%s: the list of links shows the Admin link's secret: %s", caller.name, body)
		}
		var mine map[string]any
		for _, it := range object(t, what("list links"), body)["tokens"].([]any) {
			if tok, _ := it.(map[string]any); tok["secret"] == editorSecret {
				mine = tok
			}
		}
		if mine == nil {
			t.Fatalf("%s: the list lacks the Editor link: %s", caller.name, body)
		}
		users, _ := mine["users"].([]any)
		if len(users) != 1 {
			t.Fatalf("%s: the Editor link shows users %v, want the one joiner", caller.name, mine["users"])
		}
		joiner, _ := users[0].(map[string]any)
		var keys []string
		for k := range joiner {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if got := strings.Join(keys, " "); got != "createdAt id name pendingApproval rootRole username" || joiner["username"] != "edith" {
			t.Errorf("%s: a joiner reads %v; want only createdAt id name pendingApproval rootRole username", caller.name, joiner)
		}

		// The Admin link answers like an unknown one, and stays off.
		status, body = call("GET", p.URL+tokensPath+"/"+randomSecret(t), nil)
		unknown := wantError(t, what("get an unknown link"), status, body, 404, "NotFoundError")
		status, body = call("GET", p.URL+tokensPath+"/"+adminSecret, nil)
		if got := wantError(t, what("get the admin link"), status, body, 404, "NotFoundError"); got != nil && got["message"] != unknown["message"] {
			t.Errorf("%s: the Admin link says %q, an unknown one %q", caller.name, got["message"], unknown["message"])
		}
		for _, change := range []map[string]any{{"enabled": true}, {"expiresAt": "2199-01-01T00:00:00Z"}} {
			status, body = call("PUT", p.URL+tokensPath+"/"+adminSecret, change)
			wantError(t, what(fmt.Sprintf("change the admin link %v", change)), status, body, 404, "NotFoundError")
		}

		// Invitations: the Admin one is neither listed nor reachable.
		status, body = call("GET", p.URL+invitationsPath, nil)
		wantStatus(t, what("list invitations"), status, 200, body)
		names := map[any]bool{}
		for _, it := range object(t, what("list invitations"), body)["userInvitations"].([]any) {
			names[it.(map[string]any)["name"]] = true
		}
		if names[adminInv["name"]] || !names[editorInv["name"]] {
			t.Errorf("%s: lists %v; want %v and not %v", caller.name, names, editorInv["name"], adminInv["name"])
		}
		invURL := p.URL + invitationsPath + "/" + adminInvID
		for _, req := range [][2]string{{"GET", invURL}, {"POST", invURL + "/resend"}, {"DELETE", invURL}} {
			status, body = call(req[0], req[1], nil)
			wantError(t, what(req[0]+" "+strings.TrimPrefix(req[1], p.URL)), status, body, 404, "NotFoundError", "no invitation")
			if strings.Contains(string(body), "invitationToken") {
				t.Errorf("%s: a refused %s shows a token: %s", caller.name, req[0], body)
			}
		}
	}

	// Seen by the admin key, nothing changed.
	link := getLink(t, p, adminSecret)
	wantField(t, "admin link after the Editors", link, "enabled", false)
	wantField(t, "admin link after the Editors", link, "expiresAt", e2eFuture)
	inv := getInvitation(t, p, adminInvID)
	wantField(t, "admin invitation after the Editors", inv, "state", "PENDING")
	wantField(t, "admin invitation after the Editors", inv, "updateTime", adminInv["updateTime"])
	// And the admin key still sees joiners whole.
	users, _ := getLink(t, p, editorSecret)["users"].([]any)
	if len(users) != 1 || users[0].(map[string]any)["email"] != "edith@example.com" {
		t.Errorf("the admin key sees the joiners as %v, want whole users", users)
	}
	status, _, body = do(t, "POST", p.URL+invitationsPath+"/"+adminInvID+"/resend", e2eAdminKey, nil)
	wantStatus(t, "admin resends the admin invitation", status, http.StatusOK, body)
}
