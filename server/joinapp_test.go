package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"invited/db"
	"invited/server/openapicheck"
)

// appId on links and both invitation endpoints (DESIGN §12): an unknown
// or malformed app is a 400 naming appId, for an Admin and an Editor
// alike; a known one is stored and shown; answers without it keep the
// seeds' shapes (no appId key); the JSON signup through an app's link
// still answers seed 000's 200 user, with no cookie.
func TestAppIDOnLinksAndInvitationsHTTP(t *testing.T) {
	ts := mustServer(t)
	spec := openapicheck.MustLoad(OpenAPIDocument())
	adminActor := db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}
	if _, _, err := ts.store.CreateApp(adminActor, db.NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com",
		Domains: []string{"grafana.example.com"}}); err != nil {
		t.Fatal(err)
	}
	_, editorKey, err := ts.store.CreateAPIKey(adminActor, "editor-key", db.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	call := func(t *testing.T, caller, method, path, body string) (int, map[string]any, *http.Response) {
		t.Helper()
		resp, raw := ts.callAs(t, caller, method, path, body)
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		if err := spec.Validate(req, resp.StatusCode, resp.Header, []byte(raw)); err != nil {
			t.Errorf("%s %s: the answer does not match openapi.json: %v", method, path, err)
		}
		var m map[string]any
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &m); err != nil {
				t.Fatalf("%s %s: %d %q is not a JSON object", method, path, resp.StatusCode, raw)
			}
		}
		return resp.StatusCode, m, resp
	}
	n := 0
	for _, caller := range []string{"key:Bearer " + testKey, "key:" + editorKey} {
		for _, bad := range []string{`"nope"`, `"Grafana"`, `"../x"`, `"<b>"`, `" "`} {
			n++
			body := `{"name":"x","expiresAt":"2099-01-01T00:00:00Z","appId":` + bad + `}`
			status, got, _ := call(t, caller, "POST", "/api/admin/invite-link/tokens", body)
			if bad == `" "` { // blank is no app
				if status != 201 || got["appId"] != nil {
					t.Errorf("link with a blank appId: %d %v", status, got)
				}
				continue
			}
			if status != 400 || !strings.Contains(got["message"].(string), "appId") {
				t.Errorf("link with appId %s: %d %v, want 400 naming appId", bad, status, got)
			}
			email := strings.Repeat("z", n) + "@example.com"
			status, got, _ = call(t, caller, "POST", "/v1/userInvitations", `{"invitedEmail":"`+email+`","inviter":"T","appId":`+bad+`}`)
			if status != 400 || !strings.Contains(got["message"].(string), "appId") {
				t.Errorf("invitation with appId %s: %d %v", bad, status, got)
			}
			status, got, _ = call(t, caller, "POST", "/api/admin/users/invite", `{"email":"`+email+`","appId":`+bad+`}`)
			if status != 400 || !strings.Contains(got["error"].(string), "appId") {
				t.Errorf("DoiT invite with appId %s: %d %v", bad, status, got)
			}
		}
		if list, _, _ := ts.store.ListInvitations(db.SystemActor, "", 0, 100); len(list) != 0 {
			t.Fatalf("refused invitations were made: %d", len(list))
		}
	}

	// Without appId the answers have no appId key (the seeds' shapes).
	status, plain, _ := call(t, "key:Bearer "+testKey, "POST", "/api/admin/invite-link/tokens", `{"name":"plain","expiresAt":"2099-01-01T00:00:00Z"}`)
	if _, has := plain["appId"]; status != 201 || has {
		t.Fatalf("plain link: %d %v", status, plain)
	}
	status, doit, _ := call(t, "key:Bearer "+testKey, "POST", "/api/admin/users/invite", `{"email":"plain@example.com"}`)
	if user, _ := doit["user"].(map[string]any); status != 201 || user == nil || user["appId"] != nil {
		t.Fatalf("plain DoiT invite: %d %v", status, doit)
	}

	// With it: stored, shown on create, read and update.
	status, link, _ := call(t, "key:"+editorKey, "POST", "/api/admin/invite-link/tokens", `{"name":"into grafana","expiresAt":"2099-01-01T00:00:00Z","appId":"grafana"}`)
	if status != 201 || link["appId"] != "grafana" {
		t.Fatalf("link into grafana: %d %v", status, link)
	}
	secret := link["secret"].(string)
	if status, got, _ := call(t, "key:"+editorKey, "GET", "/api/admin/invite-link/tokens/"+secret, ""); status != 200 || got["appId"] != "grafana" {
		t.Fatalf("GET link: %d %v", status, got)
	}
	if status, got, _ := call(t, "key:"+editorKey, "PUT", "/api/admin/invite-link/tokens/"+secret, `{"appId":"nope"}`); status != 400 {
		t.Fatalf("PUT unknown appId: %d %v", status, got)
	}
	if status, got, _ := call(t, "key:"+editorKey, "PUT", "/api/admin/invite-link/tokens/"+secret, `{"appId":""}`); status != 200 || got["appId"] != nil {
		t.Fatalf("PUT appId \"\": %d %v", status, got)
	}
	if status, got, _ := call(t, "key:"+editorKey, "PUT", "/api/admin/invite-link/tokens/"+secret, `{"appId":"grafana"}`); status != 200 || got["appId"] != "grafana" {
		t.Fatalf("PUT appId grafana: %d %v", status, got)
	}
	status, inv, _ := call(t, "key:Bearer "+testKey, "POST", "/v1/userInvitations", `{"invitedEmail":"ina@example.com","inviter":"T","appId":"grafana"}`)
	if status != 200 || inv["appId"] != "grafana" || inv["invitationToken"] == "" {
		t.Fatalf("invitation into grafana: %d %v", status, inv)
	}
	status, doit, _ = call(t, "key:Bearer "+testKey, "POST", "/api/admin/users/invite", `{"email":"dee@example.com","appId":"grafana"}`)
	if user, _ := doit["user"].(map[string]any); status != 201 || user["appId"] != "grafana" || user["status"] != "invited" {
		t.Fatalf("DoiT invite into grafana: %d %v", status, doit)
	}

	// The JSON signup through the app's link: seed 000's 200 user, and no
	// session cookie (only the page signs in).
	status, user, resp := call(t, "", "POST", "/invite/"+secret+"/signup", `{"email":"sam@example.com","name":"Sam","password":"`+testPassword+`"}`)
	if status != 200 || user["email"] != "sam@example.com" || user["id"] == nil {
		t.Fatalf("JSON signup through an app link: %d %v", status, user)
	}
	if len(resp.Cookies()) != 0 {
		t.Fatalf("the JSON signup set cookies: %v", resp.Cookies())
	}
	// A Viewer may not reach any of this: unchanged permissions.
	viewer := ts.login(t, "sam@example.com", testPassword)
	if status, _, _ := call(t, viewer, "POST", "/api/admin/invite-link/tokens", `{"name":"v","expiresAt":"2099-01-01T00:00:00Z","appId":"grafana"}`); status != 403 {
		t.Fatalf("a Viewer created a link into an app: %d", status)
	}
}
