package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"invited/db"
	"invited/server/openapicheck"
)

// TestRoleCeilingHTTP checks the role ceiling through the real handler
// with an Editor API key and an Editor session: links and invitations with
// the Admin role are not listed and answer 404 exactly like unknown ones,
// changing nothing, and the joiners of the links an Editor does see are
// reduced to id, name, username, rootRole and createdAt.
func TestRoleCeilingHTTP(t *testing.T) {
	ts := mustServer(t)
	spec := openapicheck.MustLoad(OpenAPIDocument())
	adminActor := db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}
	editorUser := ts.mustUser(t, db.RoleEditor)
	_, editorKey, err := ts.store.CreateAPIKey(adminActor, "editor-key", db.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	adminLink, err := ts.store.CreateSignupToken(adminActor, db.NewSignupToken{Name: "admins", ExpiresAt: farFuture, Role: db.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := ts.store.UpdateSignupToken(adminActor, adminLink.Secret, db.SignupTokenUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	editorLink, err := ts.store.CreateSignupToken(adminActor, db.NewSignupToken{Name: "editors", ExpiresAt: farFuture, Role: db.RoleEditor})
	if err != nil {
		t.Fatal(err)
	}
	resp, joined := ts.call(t, "POST", "/invite/"+editorLink.Secret+"/signup", "",
		fmt.Sprintf(`{"email":"joiner@example.com","name":"Jo Iner","username":"joiner","password":%q}`, testPassword))
	if resp.StatusCode != 200 {
		t.Fatalf("signup: %d %v", resp.StatusCode, joined)
	}
	adminInv, err := ts.store.CreateInvitation(adminActor, db.NewInvitation{Email: "boss@example.com", DefaultTTL: time.Hour, Role: db.RoleAdmin, Inviter: "T"})
	if err != nil {
		t.Fatal(err)
	}
	editorInv, err := ts.store.CreateInvitation(adminActor, db.NewInvitation{Email: "helper@example.com", DefaultTTL: time.Hour, Role: db.RoleEditor, Inviter: "T"})
	if err != nil {
		t.Fatal(err)
	}

	// call sends a request, checks the answer against openapi.json, and
	// decodes it.
	call := func(t *testing.T, caller, method, path, body string) (int, map[string]any) {
		t.Helper()
		resp, raw := ts.callAs(t, caller, method, path, body)
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		if err := spec.Validate(req, resp.StatusCode, resp.Header, []byte(raw)); err != nil {
			t.Errorf("%s %s: the answer does not match openapi.json: %v", method, path, err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("%s %s: %d %q is not a JSON object", method, path, resp.StatusCode, raw)
		}
		return resp.StatusCode, m
	}
	// notFound wants the 404 of an unknown item, with its very message.
	notFound := func(t *testing.T, what string, status int, got, unknown map[string]any) {
		t.Helper()
		if status != 404 || got["name"] != "NotFoundError" || got["message"] != unknown["message"] {
			t.Errorf("%s: %d %v, want 404 as for an unknown one: %v", what, status, got, unknown)
		}
	}
	tokensPath := "/api/admin/invite-link/tokens"
	unknownSecret := "0123456789abcdef0123456789abcdef"
	adminKey := "key:Bearer " + testKey

	for _, caller := range []struct{ name, cred string }{
		{"editor key", "key:" + editorKey},
		{"editor session", ts.login(t, editorUser.Username, testPassword)},
	} {
		t.Run(caller.name, func(t *testing.T) {
			c := caller.cred
			// Links: the list holds the Editor link, with brief joiners,
			// and not the Admin link.
			status, list := call(t, c, "GET", tokensPath, "")
			if status != 200 {
				t.Fatalf("list links: %d %v", status, list)
			}
			tokens, _ := list["tokens"].([]any)
			var mine map[string]any
			for _, it := range tokens {
				tok, _ := it.(map[string]any)
				switch tok["secret"] {
				case adminLink.Secret:
					t.Errorf("the Editor's list shows the Admin link: %v", tok)
				case editorLink.Secret:
					mine = tok
				}
			}
			if mine == nil {
				t.Fatalf("the Editor's list lacks the Editor link: %v", list)
			}
			wantBriefUsers(t, "listed link", mine, "joiner")
			status, got := call(t, c, "GET", tokensPath+"/"+editorLink.Secret, "")
			if status != 200 {
				t.Fatalf("get editor link: %d %v", status, got)
			}
			wantBriefUsers(t, "got link", got, "joiner")
			status, got = call(t, c, "PUT", tokensPath+"/"+editorLink.Secret, `{"enabled":true}`)
			if status != 200 {
				t.Fatalf("update editor link: %d %v", status, got)
			}
			wantBriefUsers(t, "updated link", got, "joiner")

			// The Admin link is unknown to them, whatever they try.
			_, unknown := call(t, c, "GET", tokensPath+"/"+unknownSecret, "")
			status, got = call(t, c, "GET", tokensPath+"/"+adminLink.Secret, "")
			notFound(t, "get admin link", status, got, unknown)
			for _, body := range []string{`{"enabled":true}`, `{"expiresAt":"2199-01-01T00:00:00Z"}`, `{}`} {
				status, got = call(t, c, "PUT", tokensPath+"/"+adminLink.Secret, body)
				notFound(t, "put admin link "+body, status, got, unknown)
			}

			// Invitations: the Admin one is neither listed nor reachable.
			status, invs := call(t, c, "GET", "/v1/userInvitations", "")
			if status != 200 {
				t.Fatalf("list invitations: %d %v", status, invs)
			}
			names := map[string]bool{}
			for _, it := range invs["userInvitations"].([]any) {
				names[it.(map[string]any)["name"].(string)] = true
			}
			if names[db.InvitationName(adminInv.ID)] || !names[db.InvitationName(editorInv.ID)] {
				t.Errorf("the Editor lists %v: want %s and not %s", names, db.InvitationName(editorInv.ID), db.InvitationName(adminInv.ID))
			}
			// An unknown id's answer, with the Admin invitation's id in it.
			_, unknown = call(t, c, "GET", "/v1/userInvitations/999999", "")
			unknown["message"] = strings.Replace(fmt.Sprint(unknown["message"]), "999999", fmt.Sprint(adminInv.ID), 1)
			path := fmt.Sprintf("/v1/userInvitations/%d", adminInv.ID)
			status, got = call(t, c, "GET", path, "")
			notFound(t, "get admin invitation", status, got, unknown)
			status, got = call(t, c, "POST", path+"/resend", "")
			notFound(t, "resend admin invitation", status, got, unknown)
			if _, ok := got["invitationToken"]; ok {
				t.Errorf("a refused resend shows a token: %v", got)
			}
			status, got = call(t, c, "DELETE", path, "")
			notFound(t, "revoke admin invitation", status, got, unknown)
			status, got = call(t, c, "GET", fmt.Sprintf("/v1/userInvitations/%d", editorInv.ID), "")
			if status != 200 {
				t.Errorf("get editor invitation: %d %v", status, got)
			}
		})
	}

	// Nothing the Editors tried changed the Admin items.
	link, err := ts.store.FindSignupToken(db.SystemActor, adminLink.Secret)
	if err != nil || link.Switched || !link.ExpiresAt.Equal(adminLink.ExpiresAt) {
		t.Fatalf("the Admin link changed: %+v %v", link, err)
	}
	inv, err := ts.store.GetInvitation(db.SystemActor, adminInv.ID)
	if err != nil || inv.State != db.InvitationPending || !inv.UpdatedAt.Equal(adminInv.UpdatedAt) {
		t.Fatalf("the Admin invitation changed: %+v %v", inv, err)
	}
	if _, err := ts.store.FindInvitationByToken(adminInv.Token); err != nil {
		t.Fatalf("the Admin invitation's token was replaced: %v", err)
	}

	// An Admin sees every link, and joiners whole.
	status, got := call(t, adminKey, "GET", tokensPath+"/"+adminLink.Secret, "")
	if status != 200 {
		t.Fatalf("admin get admin link: %d %v", status, got)
	}
	status, got = call(t, adminKey, "GET", tokensPath+"/"+editorLink.Secret, "")
	users, _ := got["users"].([]any)
	if status != 200 || len(users) != 1 || users[0].(map[string]any)["email"] != "joiner@example.com" {
		t.Fatalf("admin sees the joiners as %v, want whole users", got["users"])
	}
	status, got = call(t, adminKey, "GET", fmt.Sprintf("/v1/userInvitations/%d", adminInv.ID), "")
	if status != 200 {
		t.Fatalf("admin get admin invitation: %d %v", status, got)
	}
}

// wantBriefUsers checks that a link shows one joiner, with username, as an
// Editor should see them: only id, name, username, rootRole, createdAt and pendingApproval.
func wantBriefUsers(t *testing.T, what string, link map[string]any, username string) {
	t.Helper()
	users, _ := link["users"].([]any)
	if len(users) != 1 {
		t.Fatalf("%s: users %v, want one joiner", what, link["users"])
	}
	u, _ := users[0].(map[string]any)
	var keys []string
	for k := range u {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, " ") != "createdAt id name pendingApproval rootRole username" || u["username"] != username {
		t.Errorf("%s: an Editor sees the joiner as %v, want only createdAt id name pendingApproval rootRole username", what, u)
	}
}
