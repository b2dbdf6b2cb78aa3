package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"invited/db"
	"invited/server/openapicheck"
)

// PUT renames a link and changes its role, max uses and domains (ours);
// DELETE removes it (200, empty body). An Editor may not raise a link above
// their own role, and a link above it is a 404 for both, as an unknown
// one. Every answer matches openapi.json.
func TestEditAndDeleteLinkHTTP(t *testing.T) {
	ts := mustServer(t)
	spec := openapicheck.MustLoad(OpenAPIDocument())
	adminActor := db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}
	_, editorKey, err := ts.store.CreateAPIKey(adminActor, "editor-key", db.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	adminLink, err := ts.store.CreateSignupToken(adminActor, db.NewSignupToken{Name: "admins", ExpiresAt: farFuture, Role: db.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	link, err := ts.store.CreateSignupToken(adminActor, db.NewSignupToken{Name: "team", ExpiresAt: farFuture, MaxUses: new(3)})
	if err != nil {
		t.Fatal(err)
	}
	call := func(t *testing.T, caller, method, path, body string) (int, map[string]any) {
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
		return resp.StatusCode, m
	}
	admin, editor := "key:Bearer "+testKey, "key:"+editorKey
	path := "/api/admin/invite-link/tokens/" + link.Secret

	status, got := call(t, editor, "PUT", path, `{"name":"Spring team","role":"Editor","maxUses":null,"allowedDomains":["Example.com"]}`)
	if status != 200 {
		t.Fatalf("PUT: %d %v", status, got)
	}
	role, _ := got["role"].(map[string]any)
	if got["name"] != "Spring team" || role["name"] != "Editor" || got["maxUses"] != nil {
		t.Errorf("PUT answer %v", got)
	}
	stored, err := ts.store.FindSignupToken(adminActor, link.Secret)
	if err != nil || stored.Name != "Spring team" || stored.Role != db.RoleEditor || stored.MaxUses != 0 ||
		len(stored.AllowedDomains) != 1 || stored.AllowedDomains[0] != "example.com" {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	if status, got = call(t, admin, "PUT", path, `{"maxUses":2}`); status != 200 || got["maxUses"] != float64(2) {
		t.Errorf("PUT maxUses 2: %d %v", status, got)
	}
	for _, bad := range []struct{ body, path string }{
		{`{"maxUses":0}`, "maxUses"},
		{`{"role":"Admin"}`, "role"},
		{`{"name":"  "}`, "name"},
	} {
		status, got := call(t, editor, "PUT", path, bad.body)
		details, _ := got["details"].([]any)
		first, _ := func() (map[string]any, bool) {
			if len(details) == 0 {
				return nil, false
			}
			m, ok := details[0].(map[string]any)
			return m, ok
		}()
		if status != 400 || got["name"] != "ValidationError" || first["path"] != bad.path {
			t.Errorf("PUT %s: %d %v, want a 400 naming %s", bad.body, status, got, bad.path)
		}
	}

	// The Admin link is hidden from the Editor: 404 on PUT and DELETE.
	for _, method := range []string{"PUT", "DELETE"} {
		body := ""
		if method == "PUT" {
			body = `{"name":"mine now"}`
		}
		if status, got := call(t, editor, method, "/api/admin/invite-link/tokens/"+adminLink.Secret, body); status != 404 || got["name"] != "NotFoundError" {
			t.Errorf("%s of the Admin link by an Editor: %d %v, want 404", method, status, got)
		}
	}
	if l, err := ts.store.FindSignupToken(adminActor, adminLink.Secret); err != nil || l.Name != "admins" {
		t.Fatalf("the Admin link after the Editor's tries: %+v, %v", l, err)
	}

	if status, got := call(t, editor, "DELETE", path, ""); status != 200 || got != nil {
		t.Fatalf("DELETE: %d %v", status, got)
	}
	if _, err := ts.store.FindSignupToken(adminActor, link.Secret); db.ErrorCode(err) != db.ENOTFOUND {
		t.Errorf("after DELETE the link is still there: %v", err)
	}
	if status, got := call(t, admin, "DELETE", path, ""); status != 404 || got["name"] != "NotFoundError" {
		t.Errorf("second DELETE: %d %v, want 404", status, got)
	}
}
