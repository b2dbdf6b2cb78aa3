package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"invited/db"
)

// oidc apps over HTTP (DESIGN §9, §10): the client secret is in the 201
// answer and in a rotation's answer, nowhere else; lower roles get the
// same refusal as on every app route.
func TestOIDCAppsOverHTTP(t *testing.T) {
	ts := mustServer(t)
	adminKey := "Bearer " + testKey
	resp, created := ts.call(t, "POST", "/api/admin/apps", adminKey,
		`{"id":"wiki","name":"Wiki","url":"https://wiki.example.com","kind":"oidc","groups":[],"redirectUris":[" https://wiki.example.com/cb ","http://localhost:8080/cb"]}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the answer with the secret has Cache-Control %q, want no-store", cc)
	}
	secret, _ := created["clientSecret"].(string)
	clientID, _ := created["clientId"].(string)
	if secret == "" || clientID == "" || created["public"] != false || created["kind"] != "oidc" {
		t.Fatalf("create answer %v", created)
	}
	if uris, _ := json.Marshal(created["redirectUris"]); string(uris) != `["https://wiki.example.com/cb","http://localhost:8080/cb"]` {
		t.Errorf("redirectUris %s", uris)
	}
	if _, ok, err := ts.store.CheckAppSecret(clientID, secret); err != nil || !ok {
		t.Fatalf("the shown secret does not check: %v %v", ok, err)
	}
	// Reads never carry the secret.
	for _, path := range []string{"/api/admin/apps", "/api/admin/apps/wiki"} {
		resp, raw := ts.callAs(t, "key:"+adminKey, "GET", path, "")
		if resp.StatusCode != 200 || strings.Contains(raw, secret) || strings.Contains(raw, "clientSecret") || !strings.Contains(raw, clientID) {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, raw)
		}
	}
	resp, raw := ts.callAs(t, "key:"+adminKey, "PUT", "/api/admin/apps/wiki", `{"name":"Wiki 2"}`)
	if resp.StatusCode != 200 || strings.Contains(raw, "clientSecret") {
		t.Errorf("PUT: %d %s", resp.StatusCode, raw)
	}

	// A public app gets no secret.
	resp, pub := ts.call(t, "POST", "/api/admin/apps", adminKey,
		`{"id":"cli","name":"CLI","url":"https://cli.example.com","kind":"oidc","public":true,"redirectUris":["http://127.0.0.1:9000/cb"]}`)
	if resp.StatusCode != 201 || pub["clientSecret"] != nil || pub["public"] != true {
		t.Fatalf("public create: %d %v", resp.StatusCode, pub)
	}

	// Lower roles are refused the rotation, and it changes nothing.
	editor := ts.mustUser(t, db.RoleEditor)
	viewer := ts.mustUser(t, db.RoleViewer)
	_, editorKey, err := ts.store.CreateAPIKey(db.Actor{Kind: "cli", Name: "t", Role: db.RoleAdmin}, "editor-key", db.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	for name, cred := range map[string]string{
		"editor key": "key:" + editorKey, "editor session": ts.login(t, editor.Email, testPassword),
		"viewer session": ts.login(t, viewer.Email, testPassword), "nobody": "",
	} {
		resp, raw := ts.callAs(t, cred, "POST", "/api/admin/apps/wiki/secret", "")
		want := http.StatusForbidden
		if cred == "" {
			want = http.StatusUnauthorized
		}
		if resp.StatusCode != want || strings.Contains(raw, "clientSecret") {
			t.Errorf("%s: %d %s, want %d", name, resp.StatusCode, raw, want)
		}
	}
	if _, ok, _ := ts.store.CheckAppSecret(clientID, secret); !ok {
		t.Fatal("a refused rotation changed the secret")
	}

	// Rotation: a new secret, shown once; the old one stops working.
	resp, rotated := ts.call(t, "POST", "/api/admin/apps/wiki/secret", adminKey, "")
	fresh, _ := rotated["clientSecret"].(string)
	if resp.StatusCode != 200 || fresh == "" || fresh == secret || rotated["clientId"] != clientID || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d %v", resp.StatusCode, rotated)
	}
	if _, ok, _ := ts.store.CheckAppSecret(clientID, secret); ok {
		t.Error("the old secret works after rotation")
	}
	if _, ok, _ := ts.store.CheckAppSecret(clientID, fresh); !ok {
		t.Error("the new secret does not work")
	}

	// Refusals name what to fix.
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"rotate a public app", "POST", "/api/admin/apps/cli/secret", "", 400, "public"},
		{"rotate an unknown app", "POST", "/api/admin/apps/nope/secret", "", 404, ""},
		{"domains on oidc", "POST", "/api/admin/apps", `{"name":"X","url":"https://x.example.com","kind":"oidc","redirectUris":["https://x.example.com/cb"],"domains":["x.example.com"]}`, 400, "domains"},
		{"redirectUris on proxy", "POST", "/api/admin/apps", `{"name":"X","url":"https://x.example.com","domains":["x.example.com"],"redirectUris":["https://x.example.com/cb"]}`, 400, "redirectUris"},
		{"javascript redirect", "POST", "/api/admin/apps", `{"name":"X","url":"https://x.example.com","kind":"oidc","redirectUris":["javascript:alert(1)"]}`, 400, "redirectUris[0]"},
		{"plain http redirect", "POST", "/api/admin/apps", `{"name":"X","url":"https://x.example.com","kind":"oidc","redirectUris":["http://evil.example/cb"]}`, 400, "redirectUris[0]"},
		{"a secret given by the caller", "POST", "/api/admin/apps", `{"name":"X","url":"https://x.example.com","kind":"oidc","redirectUris":["https://x.example.com/cb"],"clientSecret":"mine"}`, 400, ""},
		{"a client id given by the caller", "POST", "/api/admin/apps", `{"name":"X","url":"https://x.example.com","kind":"oidc","redirectUris":["https://x.example.com/cb"],"clientId":"mine"}`, 400, ""},
		{"public changed", "PUT", "/api/admin/apps/wiki", `{"public":true}`, 400, "public"},
		{"domains on an oidc app", "PUT", "/api/admin/apps/wiki", `{"domains":["wiki.example.com"]}`, 400, "domains"},
		{"fragment in an update", "PUT", "/api/admin/apps/wiki", `{"redirectUris":["https://wiki.example.com/cb#x"]}`, 400, "redirectUris[0]"},
	} {
		resp, out := ts.call(t, c.method, c.path, adminKey, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, resp.StatusCode, out, c.status)
			continue
		}
		if c.field != "" {
			b, _ := json.Marshal(out["details"])
			if !strings.Contains(string(b), `"`+c.field+`"`) {
				t.Errorf("%s: details %s do not name %s", c.name, b, c.field)
			}
		}
	}
	if list, _ := ts.store.ListApps(); len(list) != 2 {
		t.Errorf("refused creates stored apps: %+v", list)
	}
}
